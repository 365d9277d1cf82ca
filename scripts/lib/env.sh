#!/usr/bin/env bash
# Shared by scripts/test and scripts/demo: installs what the project needs, starts throwaway
# PostgreSQL 15 and moto_server on 127.0.0.1, and stops them by PID. Source it; do not run it.

OBS_APT_PACKAGES=(pkg-config libcurl4-openssl-dev libssl-dev libpq-dev libsystemd-dev postgresql postgresql-contrib
  systemd-journal-remote zlib1g-dev openssl systemd gcc chromium)
OBS_PIP_PACKAGES=("moto[server]" boto3 aws-xray-sdk dnslib cfn-lint)
OBS_PIDS=()
OBS_TMP=""

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_dependencies() {
  local missing=()
  for p in "${OBS_APT_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt: installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if ! python3 -c 'import moto, boto3, flask, aws_xray_sdk, dnslib, cfnlint' >/dev/null 2>&1 || ! command -v moto_server >/dev/null 2>&1 || ! command -v cfn-lint >/dev/null 2>&1; then
    log "pip: installing ${OBS_PIP_PACKAGES[*]}"
    python3 -m pip install -q "${OBS_PIP_PACKAGES[@]}"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# Runs a command as the postgres user when we are root (initdb and postgres refuse root).
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# start_postgres: initdb into a temporary directory, start on 127.0.0.1, create the agent's role
# and the deployment's two databases, and load pgbench's tables. Exports OBS_TEST_PG_*.
start_postgres() {
  local bin; bin=$(pg_bin)
  [ -n "$bin" ] || { log "no PostgreSQL binaries under /usr/lib/postgresql"; return 1; }
  local dir="$OBS_TMP/pg"
  mkdir -p "$dir"
  local port; port=$(free_port)
  local superpw="super-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  local agentpw="agent-pw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s\n' "$superpw" > "$dir.pw"
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$OBS_TMP"; chown postgres "$dir.pw"; fi
  as_postgres "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir.pw" --auth-local=trust --auth-host=scram-sha-256 \
    >"$OBS_TMP/initdb.log" 2>&1 || { cat "$OBS_TMP/initdb.log" >&2; return 1; }
  # TLS with a self-signed certificate for 127.0.0.1, which tests use as the root for verify-full.
  openssl req -x509 -newkey rsa:2048 -nodes -days 3 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$dir/data/server.key" -out "$dir/data/server.crt" >/dev/null 2>&1
  cp "$dir/data/server.crt" "$OBS_TMP/pg-ca.crt"
  chmod 600 "$dir/data/server.key"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir/data/server.key" "$dir/data/server.crt"; chmod 644 "$OBS_TMP/pg-ca.crt"; fi
  as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$OBS_TMP/postgres.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c shared_preload_libraries=pg_stat_statements -c max_connections=200 -c ssl=on" \
    >/dev/null || { cat "$OBS_TMP/postgres.log" >&2; return 1; }
  OBS_PG_PID=$(head -n 1 "$dir/data/postmaster.pid")
  OBS_PIDS+=("$OBS_PG_PID")
  local psql=("$bin/psql" -h "$dir" -p "$port" -U postgres -v ON_ERROR_STOP=1 -q)
  as_postgres "${psql[@]}" -d postgres <<SQL >/dev/null
CREATE ROLE obs_agent LOGIN PASSWORD '$agentpw' IN ROLE pg_monitor;
CREATE DATABASE microservices_ecom;
CREATE DATABASE keycloak;
SQL
  as_postgres "${psql[@]}" -d microservices_ecom -c 'CREATE EXTENSION pg_stat_statements' >/dev/null
  as_postgres "$bin/pgbench" -h "$dir" -p "$port" -U postgres -i -s 1 -q microservices_ecom >/dev/null 2>&1
  export OBS_TEST_PG_HOST=127.0.0.1 OBS_TEST_PG_PORT="$port" OBS_TEST_PG_USER=obs_agent OBS_TEST_PG_PASSWORD="$agentpw"
  export OBS_TEST_PG_SUPERUSER=postgres OBS_TEST_PG_SUPERPASSWORD="$superpw" OBS_TEST_PG_BIN="$bin" OBS_TEST_PG_CA="$OBS_TMP/pg-ca.crt"
  log "postgres $($bin/postgres --version | awk '{print $3}') on 127.0.0.1:$port (pid $OBS_PG_PID)"
}

# pgbench_load SECONDS: TPC-B-like load on microservices_ecom.
pgbench_load() {
  PGPASSWORD="$OBS_TEST_PG_SUPERPASSWORD" "$OBS_TEST_PG_BIN/pgbench" -h 127.0.0.1 -p "$OBS_TEST_PG_PORT" \
    -U postgres -n -c 4 -j 2 -T "$1" microservices_ecom >/dev/null 2>&1
}

# start_moto: moto_server on 127.0.0.1, the local AWS endpoint. Exports OBS_TEST_AWS_ENDPOINT.
start_moto() {
  local port; port=$(free_port)
  moto_server -H 127.0.0.1 -p "$port" >"$OBS_TMP/moto.log" 2>&1 &
  OBS_MOTO_PID=$!
  OBS_PIDS+=("$OBS_MOTO_PID")
  for _ in $(seq 1 100); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" >/dev/null 2>&1; then
      export OBS_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
      log "moto_server on $OBS_TEST_AWS_ENDPOINT (pid $OBS_MOTO_PID)"
      return 0
    fi
    kill -0 "$OBS_MOTO_PID" 2>/dev/null || break
    sleep 0.2
  done
  cat "$OBS_TMP/moto.log" >&2
  return 1
}

stop_all() {
  local pid
  for pid in "${OBS_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${OBS_PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  OBS_PIDS=()
  [ -n "$OBS_TMP" ] && rm -rf "$OBS_TMP"
}

setup_tmp() {
  OBS_TMP=$(mktemp -d /tmp/obs.XXXXXX)
  chmod 755 "$OBS_TMP"
  trap stop_all EXIT
  trap 'stop_all; exit 130' INT
  trap 'stop_all; exit 143' TERM
}
