#!/usr/bin/env bash
# Virtual-host routing at hosting scale: Pillar and nginx each carry VHOSTS
# name-based virtual hosts (one server block / <VirtualHost> per name, as a
# bulk-hosting node has) and serve the same 1 KiB file for the FIRST and the
# LAST name. Routing by hash makes both cost the same; a linear scan makes the
# last one slower by the number of vhosts.
#
#   bench/vhosts/run.sh build/pillar
#   VHOSTS=20000 DURATION=10 bench/vhosts/run.sh build/pillar
#
# Environment: VHOSTS [10000], DURATION [5], WARMUP [1], CONNS [50].
# Prints requests/s and server CPU µs per request for each (server, host), the
# last/first ratio for each server (the target: within 10 % of 1.00) and
# Pillar's CPU per request against nginx's for the last host.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

PILLAR=$(realpath "${1:-build/pillar}")
[[ -x $PILLAR ]] || die "pillar binary not found (run make build)"
VHOSTS=${VHOSTS:-10000} DURATION=${DURATION:-5} WARMUP=${WARMUP:-1} CONNS=${CONNS:-50}
command -v wrk >/dev/null || die "wrk is missing; run scripts/install-deps bench"
ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)

pin_two_cpus server "wrk"

TMP=$(mktemp -d /tmp/pillar-bench.XXXXXX)
chmod 755 "$TMP"
DOC=$TMP/docroot
mkdir -p "$DOC"
make_test_files "$DOC"
CUR_PIDS=()
trap 'stop_tree CUR_PIDS; rm -rf "$TMP"' EXIT
FIRST=site0.example LAST=site$((VHOSTS - 1)).example
declare -A R
NOTES=()

# --- configurations --------------------------------------------------------
PORT=$(free_port)
{
  echo "Listen 127.0.0.1:$PORT"
  echo "ServerName localhost"
  echo "DocumentRoot \"$DOC\""
  echo "StartServers 1"
  echo "ServerLimit 1"
  echo "ErrorLog $TMP/pillar-error.log"
  for ((i = 0; i < VHOSTS; i++)); do
    printf '<VirtualHost *>\nServerName site%d.example\nServerAlias www.site%d.example\nDocumentRoot "%s"\n</VirtualHost>\n' "$i" "$i" "$DOC"
  done
} > "$TMP/pillar.conf"

NPORT=$(free_port)
{
  cat <<CONF
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile $NOFILE;
error_log $TMP/nginx-error.log warn;
pid $TMP/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  server_names_hash_max_size $((VHOSTS * 4));
  server_names_hash_bucket_size 128;
  keepalive_requests 1000000;
CONF
  for ((i = 0; i < VHOSTS; i++)); do
    printf '  server { listen 127.0.0.1:%d; server_name site%d.example www.site%d.example; root %s; }\n' "$NPORT" "$i" "$i" "$DOC"
  done
  echo "}"
} > "$TMP/nginx.conf"

# --- runs ------------------------------------------------------------------
no_counter() { echo 0; }
measure() {  # SRV PORT HOST
  local url="http://127.0.0.1:$2/index.html"
  # wrk sends Host from the URL: a tiny Lua script sets the vhost's name instead.
  printf 'wrk.headers["Host"] = "%s"\n' "$3" > "$TMP/host-$3.lua"
  local got
  got=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $3" "$url")
  [[ $got == 200 ]] || NOTES+=("$1 $3: answered $got")
  WRK_SCRIPT=(-s "$TMP/host-$3.lua")
  "${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "${WRK_SCRIPT[@]}" "$url" > /dev/null 2>&1
  local t0 t1 out reqs
  t0=$(cpu_ticks "${CUR_PIDS[@]}")
  out=$("${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"${DURATION}s" "${WRK_SCRIPT[@]}" "$url" 2>&1)
  t1=$(cpu_ticks "${CUR_PIDS[@]}")
  reqs=$(awk '/requests in/ {print $1; exit}' <<< "$out")
  R[$1|$3.rps]=$(awk '/^Requests\/sec:/ {printf "%.0f", $2; exit}' <<< "$out")
  [[ -n $reqs && $reqs -gt 0 ]] && R[$1|$3.cpu]=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$reqs" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
}

if start_server pillar "$PORT" SRV_PIN "$PILLAR" -f "$TMP/pillar.conf"; then
  measure pillar "$PORT" "$FIRST"; measure pillar "$PORT" "$LAST"
  stop_tree CUR_PIDS
else
  die "pillar did not start: $(cat "$TMP/pillar.out")"
fi
if command -v nginx >/dev/null && start_server nginx "$NPORT" SRV_PIN nginx -c "$TMP/nginx.conf"; then
  measure nginx "$NPORT" "$FIRST"; measure nginx "$NPORT" "$LAST"
  stop_tree CUR_PIDS
else
  NOTES+=("nginx: not run")
fi

printf '\n%d vhosts, 1 KiB file, %d connections, %ds\n' "$VHOSTS" "$CONNS" "$DURATION"
printf '%-8s %-20s %10s %10s\n' server host req/s cpu_us/req
for s in pillar nginx; do
  for h in "$FIRST" "$LAST"; do
    printf '%-8s %-20s %10s %10s\n' "$s" "$h" "${R[$s|$h.rps]:-n/a}" "${R[$s|$h.cpu]:-n/a}"
  done
done
printf 'last/first cpu_us/req: pillar %s, nginx %s (target: pillar within 1.10)\n' \
  "$(ratio "${R[pillar|$LAST.cpu]:-}" "${R[pillar|$FIRST.cpu]:-}")" "$(ratio "${R[nginx|$LAST.cpu]:-}" "${R[nginx|$FIRST.cpu]:-}")"
printf 'pillar/nginx cpu_us/req, last host: %s\n' "$(ratio "${R[pillar|$LAST.cpu]:-}" "${R[nginx|$LAST.cpu]:-}")"
for n in "${NOTES[@]}"; do note "$n"; done
