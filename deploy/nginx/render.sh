#!/bin/sh
# Print deploy/nginx/essentiels.conf.template with its placeholders filled in from the environment.
# POSIX sh and awk only: it runs both natively (scripts/stack.sh) and in the nginx:alpine image.
#   APP_SERVERS      the app servers, host:port separated by spaces (the server line is repeated)
#   NGINX_LISTEN     what nginx listens on: 80, or 127.0.0.1:8100
#   STATIC_ROOT      collectstatic's folder, served at /static/
#   MEDIA_ROOT       the shared uploads folder, served at /media/
#   NGINX_FORWARDED_PROTO  X-Forwarded-Proto sent to the app (default: $scheme, nginx's own
#                    scheme; "https" when TLS ends in front of nginx)
set -eu
template="$(dirname "$0")/essentiels.conf.template"
: "${APP_SERVERS:?APP_SERVERS is required (host:port host:port ...)}"
: "${NGINX_LISTEN:?NGINX_LISTEN is required (80, 127.0.0.1:8100 ...)}"
: "${STATIC_ROOT:?STATIC_ROOT is required}"
: "${MEDIA_ROOT:?MEDIA_ROOT is required}"
NGINX_FORWARDED_PROTO="${NGINX_FORWARDED_PROTO:-\$scheme}"

awk -v servers="$APP_SERVERS" -v listen="$NGINX_LISTEN" -v static_root="${STATIC_ROOT%/}" \
    -v media_root="${MEDIA_ROOT%/}" -v proto="$NGINX_FORWARDED_PROTO" '
  # Literal replacement (no regex, no "&" surprises in paths).
  function put(line, name, value,    at, out) {
    out = ""
    while ((at = index(line, name)) > 0) {
      out = out substr(line, 1, at - 1) value
      line = substr(line, at + length(name))
    }
    return out line
  }
  index($0, "${APP_SERVER}") {
    n = split(servers, list, " ")
    for (i = 1; i <= n; i++) print put($0, "${APP_SERVER}", list[i])
    next
  }
  {
    line = put($0, "${LISTEN}", listen)
    line = put(line, "${STATIC_ROOT}", static_root)
    line = put(line, "${MEDIA_ROOT}", media_root)
    line = put(line, "${FORWARDED_PROTO}", proto)
    # Only the comments may still name a placeholder.
    if (line !~ /^[ \t]*#/ && index(line, "${") > 0) {
      print "render.sh: unknown placeholder in: " line > "/dev/stderr"
      failed = 1
    }
    print line
  }
  END { exit failed }
' "$template"
