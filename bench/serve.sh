#!/usr/bin/env bash
# The benchmark stack on loopback: a throwaway PostgreSQL 15, Redis and gunicorn (2 workers).
#
#   bench/serve.sh up [PORT]   start everything (PORT for gunicorn, default 8000), migrate, seed, collectstatic
#   bench/serve.sh stop        stop gunicorn, Redis and PostgreSQL (the data directory stays for the next run)
#   bench/serve.sh clean       stop, then delete the state directory
#   bench/serve.sh status      say what is running
#
# Ports 55433 (PostgreSQL) and 56380 (Redis) stay clear of the CI stack on 55432/56379. Throttles are
# raised to 1000000/min so the benchmark measures the throttle's cost without being refused by it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${BENCH_STATE_DIR:-/tmp/statux-bench}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PORT=${BENCH_PG_PORT:-55433}
REDIS_PORT=${BENCH_REDIS_PORT:-56380}
PG_OS_USER=${BENCH_PG_OS_USER:-statuxbench}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
GUNICORN=${GUNICORN:-$ROOT/.venv/bin/gunicorn}

log() { printf 'serve.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# PostgreSQL refuses to run as root: as root, run its tools as a dedicated system user.
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$PG_OS_USER" -- "$@"
    else
        "$@"
    fi
}

ensure_pg_user() {
    [ "$(id -u)" = 0 ] || return 0
    if ! id "$PG_OS_USER" >/dev/null 2>&1; then
        log "creating system user $PG_OS_USER for PostgreSQL"
        useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_OS_USER"
    fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

bench_env() {
    export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/statux_bench"
    export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
    # A production-length key: PyJWT warns on every sign and verify with an HMAC key under 32 bytes.
    export SECRET_KEY=bench-only-secret-key-not-for-production-0123456789
    export DEBUG=0 SECURE_SSL_REDIRECT=0 ALLOWED_HOSTS=127.0.0.1,localhost
    export API_RATE_LIMIT=${API_RATE_LIMIT:-1000000/min} API_ANON_RATE_LIMIT=${API_ANON_RATE_LIMIT:-1000000/min}
    export PROMETHEUS_MULTIPROC_DIR="$STATE/prometheus"
    export DJANGO_SETTINGS_MODULE=statux.settings
}

start_postgres() {
    ensure_pg_user
    mkdir -p "$STATE"
    chmod 755 "$STATE"
    if [ ! -s "$STATE/pg/PG_VERSION" ]; then
        log "initdb $STATE/pg"
        install -d -m 700 -o "$(as_pg id -u)" "$STATE/pg"
        as_pg "$PG_BIN/initdb" -D "$STATE/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync \
            >"$STATE/initdb.log"
        # TCP on loopback only, no Unix socket to place somewhere writable.
        cat >>"$STATE/pg/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
EOF
    fi
    if as_pg "$PG_BIN/pg_ctl" -D "$STATE/pg" status >/dev/null 2>&1; then
        log "PostgreSQL already running on 127.0.0.1:$PG_PORT"
    else
        port_open "$PG_PORT" && die "port $PG_PORT is taken by another process"
        touch "$STATE/postgres.log" && chown "$(as_pg id -u)" "$STATE/postgres.log"
        as_pg "$PG_BIN/pg_ctl" -D "$STATE/pg" -l "$STATE/postgres.log" -w -t 30 start >/dev/null
        log "PostgreSQL 15 on 127.0.0.1:$PG_PORT"
    fi
    if [ -z "$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'statux_bench'")" ]; then
        "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres statux_bench
    fi
}

start_redis() {
    if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
        log "Redis already running on 127.0.0.1:$REDIS_PORT"
        return
    fi
    command -v redis-server >/dev/null || {
        log "installing redis-server"
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server
    }
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --pidfile "$STATE/redis.pid" \
        --logfile "$STATE/redis.log" --dir "$STATE" --save '' --appendonly no
    for _ in $(seq 1 50); do
        redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && { log "Redis on 127.0.0.1:$REDIS_PORT"; return; }
        sleep 0.1
    done
    die "Redis did not answer on port $REDIS_PORT; see $STATE/redis.log"
}

start_gunicorn() {
    local port=$1
    if [ -s "$STATE/gunicorn.pid" ] && kill -0 "$(cat "$STATE/gunicorn.pid")" 2>/dev/null; then
        die "gunicorn is already running (pid $(cat "$STATE/gunicorn.pid")); run '$0 stop' first"
    fi
    port_open "$port" && die "port $port is taken by another process; pass another: $0 up PORT"
    rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    (cd "$ROOT" && GUNICORN_BIND="127.0.0.1:$port" WEB_CONCURRENCY=${WEB_CONCURRENCY:-2} \
        "$GUNICORN" -c gunicorn.conf.py --daemon --pid "$STATE/gunicorn.pid" \
        --error-logfile "$STATE/gunicorn.log" statux.wsgi:application)
    echo "$port" >"$STATE/port"
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null && return
        sleep 0.2
    done
    die "gunicorn did not answer GET /health on port $port within 20 s; see $STATE/gunicorn.log"
}

up() {
    local port=${1:-8000}
    [ -x "$PYTHON" ] || die "no virtualenv at $ROOT/.venv; run 'make install' first"
    bench_env
    start_postgres
    start_redis
    (cd "$ROOT" && "$PYTHON" manage.py migrate --noinput -v 0 && "$PYTHON" manage.py seed_demo \
        && "$PYTHON" manage.py collectstatic --noinput -v 0)
    start_gunicorn "$port"
    env | grep -E '^(DATABASE_URL|REDIS_URL|DEBUG|SECRET_KEY|SECURE_SSL_REDIRECT|ALLOWED_HOSTS|API_RATE_LIMIT|API_ANON_RATE_LIMIT|PROMETHEUS_MULTIPROC_DIR|DJANGO_SETTINGS_MODULE)=' \
        | sed 's/^/export /' >"$STATE/env"
    # Process trees whose CPU time bench/api.py --server-pids reports per request.
    echo "$(cat "$STATE/gunicorn.pid"),$(head -n 1 "$STATE/pg/postmaster.pid"),$(redis-cli -p "$REDIS_PORT" info server \
        | tr -d '\r' | awk -F: '$1 == "process_id" {print $2}')" >"$STATE/pids"
    log "gunicorn (${WEB_CONCURRENCY:-2} workers) on http://127.0.0.1:$port; logs and env in $STATE"
    log "next: $PYTHON bench/api.py --base-url http://127.0.0.1:$port --server-pids \$(cat $STATE/pids)"
}

stop() {
    if [ -s "$STATE/gunicorn.pid" ]; then
        local pid
        pid=$(cat "$STATE/gunicorn.pid")
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"
            for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            kill -0 "$pid" 2>/dev/null && { log "gunicorn $pid ignored TERM; sending KILL"; kill -KILL "$pid"; }
            log "gunicorn stopped"
        fi
        rm -f "$STATE/gunicorn.pid"
    fi
    if [ -s "$STATE/redis.pid" ]; then
        local pid
        pid=$(cat "$STATE/redis.pid")
        if kill -0 "$pid" 2>/dev/null; then
            redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill -TERM "$pid"
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            log "Redis stopped"
        fi
        rm -f "$STATE/redis.pid"
    fi
    if [ -s "$STATE/pg/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$STATE/pg" status >/dev/null 2>&1; then
        as_pg "$PG_BIN/pg_ctl" -D "$STATE/pg" -m fast -w -t 30 stop >/dev/null
        log "PostgreSQL stopped"
    fi
}

status() {
    local pid
    if [ -s "$STATE/gunicorn.pid" ] && pid=$(cat "$STATE/gunicorn.pid") && kill -0 "$pid" 2>/dev/null; then
        echo "gunicorn: running (pid $pid, port $(cat "$STATE/port" 2>/dev/null || echo '?'))"
    else
        echo "gunicorn: stopped"
    fi
    if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then echo "redis: running"; else echo "redis: stopped"; fi
    if [ -s "$STATE/pg/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$STATE/pg" status >/dev/null 2>&1; then
        echo "postgresql: running"
    else
        echo "postgresql: stopped"
    fi
}

case "${1:-up}" in
    up) up "${2:-${BENCH_PORT:-8000}}" ;;
    stop) stop ;;
    clean) stop; rm -rf "$STATE"; log "removed $STATE" ;;
    status) status ;;
    *) die "usage: $0 up [PORT] | stop | clean | status" ;;
esac
