#!/usr/bin/env bash
# respawn CMD…: run CMD, and run it again (after 2 s) whenever it exits — the restart policy a
# supervisor gives in deployments (docker-compose's `restart: unless-stopped`), for the native
# stack's Celery worker and beat. A Celery worker exits when its broker vanishes long enough
# (kombu fails to restore its unacknowledged messages); it must come back by itself.
# TERM/INT stop the command and the loop.
set -u
child=""
stop() {
  [ -n "$child" ] && kill -TERM "$child" 2>/dev/null && wait "$child"
  exit 0
}
trap stop TERM INT
while :; do
  "$@" &
  child=$!
  wait "$child"
  status=$?
  echo "respawn: $1 exited with status $status; starting it again in 2 s" >&2
  sleep 2
done
