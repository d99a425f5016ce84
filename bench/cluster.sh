#!/usr/bin/env bash
# A small ModelPulse cluster on one machine, each host in its own network namespace on a
# bridge (10.77.0.0/24), then bench/cluster.py drives it (issue 17, item 4):
#
#   mpc-db    10.77.0.1   PostgreSQL primary (a fresh initdb), Redis, celery beat
#   mpc-rep   10.77.0.2   streaming replica of it (pg_basebackup -R -X stream)
#   mpc-web1  10.77.0.11  gunicorn        mpc-web2  10.77.0.12  gunicorn
#   mpc-wk1   10.77.0.21  celery -Q rollups,maintenance
#   mpc-wk2   10.77.0.22  celery, every queue
#   mpc-wk3   10.77.0.23  celery, every queue
#
# Web and worker hosts get DATABASE_REPLICA_URLS pointing at the replica. Everything is
# removed again on exit (namespaces, bridge, servers, the temporary directory).
#
# Usage (root; iproute2, PostgreSQL 15 server binaries, redis-server):
#   bench/cluster.sh [--seconds 20] [--clients 4] [--readers 2]
# Other arguments go to bench/cluster.py. PY= picks the Python (default .venv/bin/python,
# else the one on PATH).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
BIN="$(dirname "$PY")"
PGBIN="${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}"
NET=10.77.0
BRIDGE=mpc0
T="$(mktemp -d /tmp/modelpulse-cluster.XXXXXX)"
HOSTS=(db:1 rep:2 web1:11 web2:12 wk1:21 wk2:22 wk3:23)

[ "$(id -u)" = 0 ] || { echo "cluster.sh needs root (network namespaces)" >&2; exit 1; }

cleanup() {
  set +e
  # CLUSTER_LOGS=<dir> keeps every host's log (they go with the temporary directory otherwise).
  [ -n "${CLUSTER_LOGS:-}" ] && mkdir -p "$CLUSTER_LOGS" && cp "$T"/*.log "$T"/pg/log "$CLUSTER_LOGS"/ 2>/dev/null
  for entry in "${HOSTS[@]}"; do
    ns="mpc-${entry%%:*}"
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9
  done
  sleep 0.5
  for entry in "${HOSTS[@]}"; do ip netns del "mpc-${entry%%:*}" 2>/dev/null; done
  ip link del "$BRIDGE" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

in_ns() { local ns="mpc-$1"; shift; ip netns exec "$ns" "$@"; }

echo "== network: bridge $BRIDGE, ${#HOSTS[@]} hosts on $NET.0/24 (state in $T)"
ip link add "$BRIDGE" type bridge
ip addr add "$NET.254/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
for entry in "${HOSTS[@]}"; do
  name="${entry%%:*}"; octet="${entry##*:}"
  ip netns add "mpc-$name"
  ip link add "mpc-$name-h" type veth peer name "mpc-$name-n"
  ip link set "mpc-$name-h" master "$BRIDGE" up
  ip link set "mpc-$name-n" netns "mpc-$name"
  in_ns "$name" ip link set lo up
  in_ns "$name" ip link set "mpc-$name-n" name eth0
  in_ns "$name" ip addr add "$NET.$octet/24" dev eth0
  in_ns "$name" ip link set eth0 up
done

echo "== PostgreSQL primary on $NET.1 and its streaming replica on $NET.2"
mkdir -p "$T/pg" "$T/rep" "$T/media" "$T/data"
chown postgres: "$T/pg" "$T/rep"
chmod 755 "$T"
runuser -u postgres -- "$PGBIN/initdb" -D "$T/pg/data" -A trust -U postgres >/dev/null
cat >>"$T/pg/data/postgresql.conf" <<EOF
listen_addresses = '$NET.1'
unix_socket_directories = '$T/pg'
max_connections = 300
shared_buffers = 256MB
wal_level = replica
max_wal_senders = 5
jit = off
EOF
echo "host all all $NET.0/24 trust
host replication all $NET.0/24 trust" >>"$T/pg/data/pg_hba.conf"
in_ns db runuser -u postgres -- "$PGBIN/pg_ctl" -D "$T/pg/data" -l "$T/pg/log" -w start >/dev/null
in_ns db runuser -u postgres -- "$PGBIN/createdb" -h "$NET.1" -U postgres modelpulse
in_ns rep runuser -u postgres -- "$PGBIN/pg_basebackup" -h "$NET.1" -U postgres -D "$T/rep/data" -R -X stream -c fast
# The copy carries the primary's postgresql.conf; the replica listens on its own address.
cat >>"$T/rep/data/postgresql.conf" <<EOF
listen_addresses = '$NET.2'
unix_socket_directories = '$T/rep'
hot_standby = on
hot_standby_feedback = on
EOF
in_ns rep runuser -u postgres -- "$PGBIN/pg_ctl" -D "$T/rep/data" -l "$T/rep/log" -w start >/dev/null

echo "== Redis on $NET.1"
in_ns db redis-server --bind "$NET.1" --port 6379 --protected-mode no --save '' --appendonly no \
  --daemonize yes --pidfile "$T/redis.pid" --logfile "$T/redis.log"

export DATABASE_URL="postgres://postgres@$NET.1:5432/modelpulse"
export DATABASE_REPLICA_URLS="postgres://postgres@$NET.2:5432/modelpulse"
export REDIS_URL="redis://$NET.1:6379/0"
export SECRET_KEY="cluster-bench-secret-key-not-for-production"
export DJANGO_SETTINGS_MODULE=config.settings ALLOWED_HOSTS="*" MEDIA_ROOT="$T/media" MODELPULSE_DATA_DIR="$T/data"
export MODELPULSE_DEMO_LIVE=false INGEST_RATE_LIMIT_PER_MINUTE=0 API_READ_RATE_LIMIT_PER_MINUTE=0
# Short intervals so a run shows recovery within its minutes: rollups every 5 s, a silent export
# is lost after 10 s and looked for every 5 s.
export ROLLUP_INTERVAL_SECONDS=5 JOBS_STALE_SECONDS=10 JOBS_RECOVER_INTERVAL_SECONDS=5 EXPORT_HEARTBEAT_SECONDS=2
export EXPORT_CHUNK_ROWS=20000 LOG_LEVEL=WARNING
cd "$ROOT"

echo "== schema, account and key"
"$PY" manage.py migrate -v0
"$PY" manage.py create_account bench --name Bench --owner ops@bench.example --timezone UTC >/dev/null
KEY="$("$PY" manage.py create_api_key bench --scopes ingest,read --name cluster | tail -1)"

echo "== web hosts, worker hosts, beat"
for web in web1:11 web2:12; do
  name="${web%%:*}"; octet="${web##*:}"
  mkdir -p "$T/prom-$name"
  in_ns "$name" env PROMETHEUS_MULTIPROC_DIR="$T/prom-$name" "$BIN/gunicorn" config.wsgi:application \
    --bind "$NET.$octet:8000" --workers 2 --log-level warning >"$T/$name.log" 2>&1 &
done
in_ns wk1 "$BIN/celery" -A config worker -n wk1@%h -Q rollups,maintenance --concurrency 2 --loglevel WARNING >"$T/wk1.log" 2>&1 &
in_ns wk2 "$BIN/celery" -A config worker -n wk2@%h --concurrency 2 --loglevel WARNING >"$T/wk2.log" 2>&1 &
in_ns wk3 "$BIN/celery" -A config worker -n wk3@%h --concurrency 2 --loglevel WARNING >"$T/wk3.log" 2>&1 &
in_ns db "$BIN/celery" -A config beat -s "$T/beat-schedule" --loglevel WARNING >"$T/beat.log" 2>&1 &
for octet in 11 12; do
  for _ in $(seq 100); do
    curl -fs "http://$NET.$octet:8000/healthz" >/dev/null && break
    sleep 0.2
  done
done

echo "== load"
"$PY" bench/cluster.py --key "$KEY" --web "http://$NET.11:8000,http://$NET.12:8000" \
  --primary "$DATABASE_URL" --replica "$DATABASE_REPLICA_URLS" "$@"
