#!/usr/bin/env bash
# The deployment topology of docker-compose.yml, natively on loopback (no Docker engine here):
# nginx balancing N gunicorn app servers, one Celery worker, exactly one Celery beat and
# localstripe, against PostgreSQL and Redis.
#
#   scripts/stack.sh start    set up (database, migrations, demo data, static files), start what is
#                             not running, wait until nginx answers /healthz, print the URL
#   scripts/stack.sh stop     stop what start started (and only that)
#   scripts/stack.sh status   one line per process; exit 1 unless all run
#   scripts/stack.sh check    PostgreSQL connection budget; exit 1 if the stack could exhaust it
#   scripts/stack.sh env      the stack's environment, to source: eval "$(scripts/stack.sh env)"
#   scripts/stack.sh manage … manage.py against the stack's database and Redis
#
# Every process runs in its own process group with a pid file under $STACK_DIR/run (web1.pid …):
#   kill -HUP "$(cat var/stack/run/web2.pid)"       reload app server 2 gracefully
#   kill -KILL -- -"$(cat var/stack/run/web2.pid)"  app server 2 dies (start brings it back)
# The environment variables (STACK_*) are listed in README.md, "Full stack".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/.venv/bin
STACK_DIR=$(realpath -m "${STACK_DIR:-var/stack}")
RUN=$STACK_DIR/run
LOG=$STACK_DIR/log
CONFIG=$STACK_DIR/stack.env

die() { echo "stack: $*" >&2; exit 1; }
say() { echo "stack: $*"; }

# --- Configuration: the running stack's (saved by start), else the environment's -------------

configure() {
  STACK_PORT=${STACK_PORT:-8100}
  STACK_APP_PORT=${STACK_APP_PORT:-$((STACK_PORT + 1))}
  STACK_SERVERS=${STACK_SERVERS:-3}
  STACK_LOCALSTRIPE_PORT=${STACK_LOCALSTRIPE_PORT:-$((STACK_PORT + 99))}
  STACK_DATABASE_URL=${STACK_DATABASE_URL:-postgres://essentiels@127.0.0.1:5432/essentiels_stack}
  STACK_REDIS_URL=${STACK_REDIS_URL:-redis://127.0.0.1:6379/2}
  STACK_SETTINGS=${STACK_SETTINGS:-essentiels.settings.stack}
  STACK_CELERY_CONCURRENCY=${STACK_CELERY_CONCURRENCY:-2}
  STACK_LOCALSTRIPE=${STACK_LOCALSTRIPE:-$BIN/localstripe}
  GUNICORN_WORKERS=${GUNICORN_WORKERS:-2}
  [ "$STACK_SERVERS" -ge 1 ] 2>/dev/null || die "STACK_SERVERS must be a number ≥ 1."
  # Saved by start (or given): then it is the list of ports, and the number of servers.
  if [ -z "${STACK_APP_PORTS:-}" ]; then
    STACK_APP_PORTS=$(seq -s' ' "$STACK_APP_PORT" $((STACK_APP_PORT + STACK_SERVERS - 1)))
  fi
  STACK_SERVERS=$(echo "$STACK_APP_PORTS" | wc -w)
}

# What every process of the stack gets. ESSENTIELS_STACK marks them as ours (see ours()).
write_config() {
  mkdir -p "$STACK_DIR" "$RUN" "$LOG" "$STACK_DIR/media"
  # One key for every app server: a session or CSRF token signed by one is valid on the others.
  # Kept across restarts so shoppers stay logged in.
  if [ ! -s "$STACK_DIR/secret_key" ]; then
    (umask 077 && "$BIN/python" -c "import secrets; print(secrets.token_urlsafe(50))" \
      >"$STACK_DIR/secret_key")
  fi
  local ls_url="http://127.0.0.1:$STACK_LOCALSTRIPE_PORT"
  # Celery's broker, spelled out for whoever watches the queue (settings' rule: the next database).
  local broker=${STACK_CELERY_BROKER_URL:-} db=${STACK_REDIS_URL##*/}
  if [ -z "$broker" ]; then
    if [[ $db =~ ^[0-9]+$ ]]; then broker="${STACK_REDIS_URL%/*}/$((db + 1))"; else broker="$STACK_REDIS_URL/1"; fi
  fi
  (umask 077 && cat >"$CONFIG" <<EOF
STACK_DIR='$STACK_DIR'
STACK_PORT='$STACK_PORT'
STACK_APP_PORTS='$STACK_APP_PORTS'
STACK_SERVERS='$STACK_SERVERS'
STACK_LOCALSTRIPE_PORT='$STACK_LOCALSTRIPE_PORT'
STACK_LOCALSTRIPE='$STACK_LOCALSTRIPE'
STACK_CELERY_CONCURRENCY='$STACK_CELERY_CONCURRENCY'
STACK_SETTINGS='$STACK_SETTINGS'
STACK_DATABASE_URL='$STACK_DATABASE_URL'
STACK_REDIS_URL='$STACK_REDIS_URL'
STACK_URL='http://127.0.0.1:$STACK_PORT'
export ESSENTIELS_STACK='$STACK_DIR'
export PYTHONPATH='$ROOT'
export DJANGO_SETTINGS_MODULE='$STACK_SETTINGS'
export SECRET_KEY='$(cat "$STACK_DIR/secret_key")'
export DEBUG='false'
export ALLOWED_HOSTS='127.0.0.1,localhost'
export DATABASE_URL='$STACK_DATABASE_URL'
export REDIS_URL='$STACK_REDIS_URL'
export CELERY_BROKER_URL='$broker'
export STATIC_ROOT='$STACK_DIR/static'
export MEDIA_ROOT='$STACK_DIR/media'
export SHOP_BASE_URL='http://127.0.0.1:$STACK_PORT'
export STRIPE_API_BASE='$ls_url'
export STRIPE_SECRET_KEY='sk_test_localstripe'
export STRIPE_PUBLISHABLE_KEY='pk_test_localstripe'
export STRIPE_WEBHOOK_SECRET='whsec_localstripe'
export EMAIL_BACKEND='${EMAIL_BACKEND:-django.core.mail.backends.console.EmailBackend}'
export GUNICORN_WORKERS='$GUNICORN_WORKERS'
export GUNICORN_FORWARDED_ALLOW_IPS='127.0.0.1'
EOF
  )
}

load_config() {
  # shellcheck disable=SC1090
  . "$CONFIG"
}

# --- Processes ----------------------------------------------------------------------------------

names() {
  echo localstripe
  for i in $(seq 1 "$STACK_SERVERS"); do echo "web$i"; done
  echo worker beat nginx
}

pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }

# Exists and is not a zombie (a killed process stays one until its parent reaps it).
alive() {
  local state
  [ -n "$1" ] || return 1
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ]
}

# A live process that this stack started: its environment carries our marker, or (nginx rewrites
# its environment block for its process title) its command line names our directory. A pid file
# left by a crash, its pid since reused by another program, is not ours.
ours() {
  local pid=$1
  alive "$pid" || return 1
  tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "ESSENTIELS_STACK=$STACK_DIR" && return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$STACK_DIR/"
}

running() { ours "$(pid_of "$1")"; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# launch NAME PORT CMD…: in its own process group (setsid, so the group can be killed at once),
# detached from our terminal, output to $LOG/NAME.log.
launch() {
  local name=$1 port=$2; shift 2
  if running "$name"; then
    say "$name already running (pid $(pid_of "$name"))"
    return
  fi
  # A pid file left by a crash would make gunicorn or Celery refuse to start.
  rm -f "$RUN/$name.pid" "$RUN/$name".*.pid
  if [ -n "$port" ] && port_busy "$port"; then
    die "port $port (for $name) is taken by another program; choose other STACK_* ports."
  fi
  (
    set -a; load_config; set +a
    exec setsid "$@" >>"$LOG/$name.log" 2>&1 </dev/null
  ) &
  echo $! >"$RUN/$name.pid"
  say "$name started (pid $!)"
}

start_localstripe() {
  # shellcheck disable=SC2086 — STACK_LOCALSTRIPE may be "python bench/localstripe_memory.py"
  launch localstripe "$STACK_LOCALSTRIPE_PORT" \
    $STACK_LOCALSTRIPE --port "$STACK_LOCALSTRIPE_PORT" --from-scratch
  local url="http://127.0.0.1:$STACK_LOCALSTRIPE_PORT"
  wait_for localstripe "$url/js.stripe.com/v3/" 30
  # Its webhooks come back through nginx, like Stripe's would (localstripe forgets them when it
  # stops, so they are set again on every start).
  curl -sf -o /dev/null -X POST "$url/_config/webhooks/stack" \
    -d "url=http://127.0.0.1:$STACK_PORT/paiements/webhook/stripe/" -d secret=whsec_localstripe \
    || die "could not register the webhook with localstripe (see $LOG/localstripe.log)."
}

start_web() {
  local i port
  for i in $(seq 1 "$STACK_SERVERS"); do
    port=$(echo "$STACK_APP_PORTS" | cut -d' ' -f"$i")
    launch "web$i" "$port" "$BIN/gunicorn" essentiels.wsgi --config deploy/gunicorn.conf.py \
      --bind "127.0.0.1:$port" --pid "$RUN/web$i.gunicorn.pid" --name "essentiels-web$i"
  done
}

start_celery() {
  # Under scripts/respawn.sh, like a supervisor's restart policy: a worker that exits (its broker
  # gone) comes back by itself.
  launch worker "" scripts/respawn.sh "$BIN/celery" -A essentiels worker --loglevel=INFO \
    --concurrency="$STACK_CELERY_CONCURRENCY" --hostname="stack-worker@%h" \
    --pidfile="$RUN/worker.celery.pid"
  # Exactly one beat: two would send every scheduled task twice. Its pid lock refuses a second.
  launch beat "" scripts/respawn.sh "$BIN/celery" -A essentiels beat --loglevel=INFO \
    --schedule="$STACK_DIR/celerybeat-schedule" --pidfile="$RUN/beat.celery.pid"
}

start_nginx() {
  local conf=$STACK_DIR/nginx
  mkdir -p "$conf/temp"
  local servers="" port
  for port in $STACK_APP_PORTS; do servers="$servers 127.0.0.1:$port"; done
  # The proxy rules: the same template as docker-compose's nginx.
  APP_SERVERS=${servers# } NGINX_LISTEN="127.0.0.1:$STACK_PORT" \
    STATIC_ROOT="$STACK_DIR/static" MEDIA_ROOT="$STACK_DIR/media" \
    deploy/nginx/render.sh >"$conf/essentiels.conf"
  # The process around them: foreground (setsid keeps it apart), files under $STACK_DIR, and
  # workers running as whoever runs the stack (no www-data needed to read var/).
  cat >"$conf/nginx.conf" <<EOF
daemon off;
user $(id -un) $(id -gn);
worker_processes 1;
pid $RUN/nginx.master.pid;
error_log $LOG/nginx.error.log warn;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    access_log $LOG/nginx.access.log;
    client_body_temp_path $conf/temp/body;
    proxy_temp_path $conf/temp/proxy;
    fastcgi_temp_path $conf/temp/fastcgi;
    uwsgi_temp_path $conf/temp/uwsgi;
    scgi_temp_path $conf/temp/scgi;
    include $conf/essentiels.conf;
}
EOF
  local nginx
  nginx=$(command -v nginx || echo /usr/sbin/nginx)
  [ -x "$nginx" ] || die "nginx is not installed (apt-get install nginx; .ci/run installs it)."
  "$nginx" -t -q -p "$conf/" -c "$conf/nginx.conf" -e "$LOG/nginx.error.log" \
    || die "nginx rejected its configuration ($conf/nginx.conf)."
  if running nginx; then
    # Picks up a changed server list without dropping connections.
    kill -HUP "$(pid_of nginx)"
  fi
  launch nginx "$STACK_PORT" "$nginx" -p "$conf/" -c "$conf/nginx.conf" -e "$LOG/nginx.error.log"
}

# wait_for NAME URL SECONDS: until URL answers 200, or fail showing NAME's log.
wait_for() {
  local name=$1 url=$2 seconds=$3 deadline=$((SECONDS + $3))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url")" = 200 ]; do
    running "$name" || { tail -n 30 "$LOG/$name.log" >&2; die "$name stopped while starting."; }
    [ "$SECONDS" -lt "$deadline" ] || {
      tail -n 30 "$LOG/$name.log" >&2
      die "$name did not answer $url within $seconds s."
    }
    sleep 0.3
  done
}

stop_one() {
  local name=$1 pid
  pid=$(pid_of "$name")
  if ! ours "$pid"; then
    rm -f "$RUN/$name.pid"
    return
  fi
  # TERM to the leader: gunicorn lets its workers finish their request, Celery its tasks, nginx
  # stops. Whatever is left of its process group after that (or after the timeout) is killed.
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + ${STACK_STOP_TIMEOUT:-40}))
  while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
  alive "$pid" && say "$name did not stop within ${STACK_STOP_TIMEOUT:-40} s: killed"
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$RUN/$name.pid"
  say "$name stopped"
}

# --- PostgreSQL --------------------------------------------------------------------------------

# The PostgreSQL server of the stack's database, through its maintenance database (the stack's own
# may not exist yet).
psql_server() { psql "${STACK_DATABASE_URL%/*}/postgres" -v ON_ERROR_STOP=1 -qtAX "$@"; }

# Sync workers hold one connection each (CONN_MAX_AGE), Celery's pool one per child: the stack
# must fit in max_connections minus the superuser reserve, with room for a graceful reload (a
# HUP'd server's new workers connect while the old ones finish) and for manage.py.
check_connections() {
  local max reserved in_use need
  max=$(psql_server -c "SHOW max_connections") || die "PostgreSQL does not answer at $STACK_DATABASE_URL."
  reserved=$(psql_server -c "SHOW superuser_reserved_connections")
  in_use=$(psql_server -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
  need=$(( (STACK_SERVERS + 1) * GUNICORN_WORKERS + STACK_CELERY_CONCURRENCY + 2 + 2 ))
  local available=$((max - reserved))
  say "PostgreSQL connections: the stack needs up to $need — ($STACK_SERVERS servers + 1 reloading) × $GUNICORN_WORKERS workers + $STACK_CELERY_CONCURRENCY Celery children + worker and beat + 2 for manage.py — of $available ($max max_connections − $reserved reserved); $in_use open now."
  [ "$need" -le "$available" ] \
    || die "$need connections could exhaust PostgreSQL ($available available): lower STACK_SERVERS, GUNICORN_WORKERS or STACK_CELERY_CONCURRENCY, or raise max_connections."
  if [ $((need + in_use)) -gt "$available" ]; then
    say "warning: with the $in_use connections open now, PostgreSQL could run out."
  fi
}

setup_database() {
  local db=${STACK_DATABASE_URL##*/}
  if [ -z "$(psql_server -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
    say "creating the database $db"
    psql_server -c "CREATE DATABASE \"$db\"" >/dev/null
  fi
  manage migrate --noinput -v0
  manage compilemessages --ignore ".venv/*" -v0
  say "loading the demo shop (idempotent)"
  manage load_demo
  # A staff account for /admin/ and /dashboard/ (loopback only; load_demo --admin needs DEBUG).
  manage shell -v0 -c "
from django.contrib.auth import get_user_model
from django.contrib.sites.models import Site
User = get_user_model()
if not User.objects.filter(email='admin@essentiels.localhost').exists():
    User.objects.create_superuser(username='admin', email='admin@essentiels.localhost', password='essentiels-demo')
Site.objects.filter(pk=1).update(domain='127.0.0.1:$STACK_PORT')
"
}

manage() { (set -a; load_config; set +a; exec "$BIN/python" manage.py "$@"); }

# --- Commands ----------------------------------------------------------------------------------

any_running() {
  local name
  for name in $(names); do running "$name" && return 0; done
  return 1
}

cmd_start() {
  mkdir -p "$RUN" "$LOG"
  if [ -f "$CONFIG" ] && (load_config; configure; any_running); then
    load_config
    configure
    say "already (partly) running in $STACK_DIR: starting what is missing, with its settings"
  else
    configure
    write_config
    load_config
  fi
  command -v psql >/dev/null || die "psql is missing (apt-get install postgresql-client)."
  if [ "${STACK_SETUP:-1}" = 1 ]; then
    scripts/services.sh ensure
  fi
  check_connections
  if [ "${STACK_SETUP:-1}" = 1 ]; then
    setup_database
  fi
  # Static files for nginx, with hashed names (the pages fail without the manifest).
  if [ "${STACK_SETUP:-1}" = 1 ] || [ ! -f "$STACK_DIR/static/staticfiles.json" ]; then
    manage collectstatic --noinput -v0
  fi

  start_localstripe
  start_web
  start_celery
  local i port
  for i in $(seq 1 "$STACK_SERVERS"); do
    port=$(echo "$STACK_APP_PORTS" | cut -d' ' -f"$i")
    wait_for "web$i" "http://127.0.0.1:$port/healthz" "${STACK_WAIT:-120}"
  done
  start_nginx
  wait_for nginx "http://127.0.0.1:$STACK_PORT/healthz" 30
  for name in worker beat; do
    running "$name" || { tail -n 30 "$LOG/$name.log" >&2; die "$name stopped while starting."; }
  done
  say "up: http://127.0.0.1:$STACK_PORT/ (admin@essentiels.localhost / essentiels-demo when set up;"
  say "    app servers on $STACK_APP_PORTS, localstripe on $STACK_LOCALSTRIPE_PORT, logs in $LOG)"
}

cmd_stop() {
  [ -f "$CONFIG" ] || { say "nothing to stop in $STACK_DIR"; return; }
  load_config
  configure
  local name
  # The balancer first (no new requests), localstripe last (workers may still be paying).
  for name in nginx beat worker $(for i in $(seq 1 "$STACK_SERVERS"); do echo "web$i"; done) localstripe; do
    stop_one "$name"
  done
}

cmd_status() {
  [ -f "$CONFIG" ] || { say "not started ($STACK_DIR)"; exit 1; }
  load_config
  configure
  local name all=0
  for name in $(names); do
    if running "$name"; then
      printf '%-12s running  pid %s\n' "$name" "$(pid_of "$name")"
    else
      printf '%-12s stopped\n' "$name"
      all=1
    fi
  done
  echo "url          http://127.0.0.1:$STACK_PORT/"
  return $all
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  check)
    if [ -f "$CONFIG" ] && (load_config; configure; any_running); then load_config; fi
    configure
    check_connections
    ;;
  env)
    [ -f "$CONFIG" ] || die "not started ($STACK_DIR)"
    sed 's/^\(STACK_[A-Z_]*=\)/export \1/' "$CONFIG"
    ;;
  manage)
    [ -f "$CONFIG" ] || die "not started ($STACK_DIR)"
    shift
    manage "$@"
    ;;
  *) die "usage: $0 start|stop|status|check|env|manage <args>" ;;
esac
