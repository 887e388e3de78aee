#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on loopback, starting them if installed and down, and that
# the test role and database exist. Fails loudly (exit 1, one clear line) when they cannot be had.
# Usage: scripts/services.sh ensure
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
DB_ROLE=${ESSENTIELS_DB_ROLE:-essentiels}

die() { echo "services: $*" >&2; exit 1; }

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }
redis_up() { [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }

ensure_postgres() {
  command -v pg_isready >/dev/null || die "PostgreSQL client tools are not installed (apt-get install postgresql)."
  if ! pg_up; then
    if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
      echo "services: starting PostgreSQL"
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
      for _ in $(seq 1 30); do pg_up && break; sleep 1; done
    fi
  fi
  pg_up || die "PostgreSQL does not answer on $PG_HOST:$PG_PORT and could not be started."
  # The role the tests connect as; CREATEDB because pytest-django creates test_<name>.
  psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qtAc \
    "DO \$\$ BEGIN
       IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_ROLE') THEN
         CREATE ROLE $DB_ROLE LOGIN CREATEDB;
       END IF;
     END \$\$;" >/dev/null || die "could not create the PostgreSQL role $DB_ROLE (need trust auth for postgres on loopback)."
  if [ -z "$(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -qtAc "SELECT 1 FROM pg_database WHERE datname = '$DB_ROLE'")" ]; then
    psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -qc "CREATE DATABASE $DB_ROLE OWNER $DB_ROLE" >/dev/null \
      || die "could not create the PostgreSQL database $DB_ROLE."
  fi
}

ensure_redis() {
  command -v redis-cli >/dev/null || die "Redis is not installed (apt-get install redis-server)."
  if ! redis_up && command -v redis-server >/dev/null; then
    echo "services: starting Redis"
    redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --save "" --appendonly no >/dev/null
    for _ in $(seq 1 20); do redis_up && break; sleep 0.5; done
  fi
  redis_up || die "Redis does not answer on $REDIS_HOST:$REDIS_PORT and could not be started."
}

case "${1:-}" in
  ensure) ensure_postgres; ensure_redis ;;
  *) die "usage: $0 ensure" ;;
esac
