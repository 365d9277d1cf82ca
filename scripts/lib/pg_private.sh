#!/usr/bin/env bash
# A private PostgreSQL for a test that must restart its server (the shared one of scripts/test
# serves other tests meanwhile). Bound to 127.0.0.1, trust authentication, stopped by PID.
#   pg_private.sh start DIR PORT   initdb into DIR if needed, then start
#   pg_private.sh restart DIR PORT stop (by the postmaster's PID) and start again
#   pg_private.sh stop DIR         stop by the postmaster's PID
set -euo pipefail
cmd=$1 dir=$2 port=${3:-}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start() {
  if [ ! -d "$dir/data" ]; then
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust >"$dir/initdb.log" 2>&1
  fi
  if ! as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c shared_preload_libraries=pg_stat_statements" >/dev/null; then
    # The server's own words, for the test's output: a port taken meanwhile, say.
    echo "pg_private.sh: the server on port $port did not start; the end of $dir/postgres.log:" >&2
    tail -n 20 "$dir/postgres.log" >&2 || true
    exit 1
  fi
}

stop() {
  [ -f "$dir/data/postmaster.pid" ] || return 0
  local pid; pid=$(head -n 1 "$dir/data/postmaster.pid")
  kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

case "$cmd" in
  start) start ;;
  restart) stop; start ;;
  stop) stop ;;
  *) echo "usage: pg_private.sh start|restart|stop DIR [PORT]" >&2; exit 2 ;;
esac
