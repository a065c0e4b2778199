#!/usr/bin/env bash
# Reverse-proxy benchmark: Pillar against HAProxy and nginx in front of the
# same nginx origin.
#
#   bench/proxy/run.sh build/pillar
#   DURATION=10 bench/proxy/run.sh build/pillar
#
# Environment (defaults in brackets):
#   DURATION   seconds of each measured wrk run [5]
#   WARMUP     seconds of the unmeasured wrk run before each one [1]
#   CONNS      wrk connections [50]
#
# One nginx origin (1 worker, keep-alive, sendfile, no access log) serves a
# 1 KiB and a 100 KiB file. The three proxies run one at a time in front of it,
# each with one worker / one thread, keep-alive on both sides and no access
# log. For each proxy and each size it measures requests/s, p99 latency and the
# proxy's CPU time per request (utime+stime of its whole process tree).
#
# CPU placement: with two or more CPUs the proxy gets one CPU to itself and the
# origin and wrk share another, so the proxy's own cost is measured and the
# proxy never competes with the load it is given.
#
# Exit status: non-zero only if Pillar fails to start or to answer through the
# proxy correctly (or if the origin itself cannot be started, since then there
# is nothing to measure). A peer proxy that is missing or broken is reported
# as n/a and the run goes on.
set -uo pipefail   # deliberately no -e: one failing measurement must not stop the rest

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

PILLAR=${1:-build/pillar}
[[ -x $PILLAR ]] || die "pillar binary '$PILLAR' not found or not executable (run make build)"
PILLAR=$(realpath "$PILLAR")

DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-50}

for tool in wrk curl python3 nginx; do
  command -v "$tool" >/dev/null || die "$tool is missing; run scripts/install-deps bench"
done

ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)

# --- CPU placement -----------------------------------------------------------
# The proxy on the first CPU we may use, origin + wrk on the second (containers
# may hand us e.g. 4 and 7, not 0 and 1).
pin_two_cpus proxy "origin + wrk"
PROXY_PIN=("${SRV_PIN[@]}")

# --- Scratch directory, cleaned up with every process stopped on any exit ------
TMP=$(mktemp -d /tmp/pillar-proxy-bench.XXXXXX)
chmod 755 "$TMP"   # nginx workers drop to 'nobody' when started as root and must read the docroot
DOC=$TMP/docroot
mkdir -p "$DOC" "$TMP/origin" "$TMP/nginx"

CUR_PIDS=()      # every pid of the proxy currently running (main + children)
ORIGIN_PIDS=()   # the origin nginx (master + worker)

cleanup() {
  stop_tree CUR_PIDS
  stop_tree ORIGIN_PIDS
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM   # turn Ctrl-C into a normal exit so the EXIT trap runs

# --- Test files ----------------------------------------------------------------
make_test_files "$DOC"



# TCP connections accepted on this network namespace so far (Tcp PassiveOpens).
passive_opens() {
  awk '$1 == "Tcp:" { if (!h) { for (i = 1; i <= NF; i++) if ($i == "PassiveOpens") c = i; h = 1 } else print $c }' /proc/net/snmp
}



# --- Configurations -----------------------------------------------------------------
# Origin: write_origin_conf (bench/lib.sh), no access log.

# Common ground for the three proxies: one worker process with one event loop
# / thread, keep-alive to the client (60 s, no request cap) and to the origin,
# no access log, default everything else.

# Pillar: ServerLimit 1 keeps it at one worker. Without it the master starts a
# second worker as soon as one connection is open, because the default
# MinSpareThreads (= ThreadsPerChild) leaves a lone worker "short of spares".
write_pillar_conf() {  # port origin_port
  cat > "$TMP/pillar.conf" <<EOF
Listen 127.0.0.1:$1
StartServers 1
ServerLimit 1
EventThreadsPerChild 1
PidFile $TMP/pillar.pid
ErrorLog $TMP/pillar-error.log
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 60
<Proxy balancer://origin>
    BalancerMember http://127.0.0.1:$2
</Proxy>
ProxyPass / balancer://origin/
EOF
}

write_haproxy_conf() {  # port origin_port
  cat > "$TMP/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 4096
    pidfile $TMP/haproxy.pid

defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
    timeout http-request 10s

frontend fe
    bind 127.0.0.1:$1
    default_backend origin

backend origin
    server origin 127.0.0.1:$2
EOF
}

write_nginx_conf() {  # port origin_port
  cat > "$TMP/nginx.conf" <<EOF
$(nginx_conf_head nginx)
    access_log off;
    keepalive_timeout 60s;
    keepalive_requests 1000000000;
    upstream origin {
        server 127.0.0.1:$2;
        keepalive 32;
    }
    server {
        listen 127.0.0.1:$1 backlog=4096;
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
}

# --- Measurements ----------------------------------------------------------------
declare -A R        # R[proxy|test.metric] = value
NOTES=()            # anything odd seen along the way, printed after the table

# bench_wrk PROXY TEST URL: wrk_measure, and TEST.conns: connections accepted
# during the run beyond wrk's own (new proxy->origin connections when
# keep-alive reuse fails, or wrk reconnecting after a close).
bench_wrk() {
  local srv=$1 test=$2
  wrk_measure "$@" passive_opens || return 0
  local extra=$(( WRK_DELTA - CONNS ))
  (( extra < 0 )) && extra=0
  R[$srv|$test.conns]=$extra
}


# bench_proxy NAME PORT CMD...: the whole series through one proxy.
bench_proxy() {
  local srv=$1 port=$2; shift 2
  note "$srv: starting on 127.0.0.1:$port"
  start_server "$srv" "$port" PROXY_PIN "$@" || { stop_tree CUR_PIDS; return 1; }
  if ! check_answers "$srv" "$port"; then stop_tree CUR_PIDS; return 1; fi
  local f name path bytes
  for f in "${FILES[@]}"; do
    IFS='|' read -r name path bytes <<< "$f"
    note "$srv: $name keep-alive"
    bench_wrk "$srv" "$name" "http://127.0.0.1:$port$path"
  done
  # A proxy that died under load must not look like a fast one.
  kill -0 "${CUR_PIDS[0]}" 2>/dev/null || { note "$srv died during the run"; CUR_PIDS=(); return 1; }
  check_answers "$srv" "$port" || { stop_tree CUR_PIDS; return 1; }
  refresh_pids
  (( ${#CUR_PIDS[@]} > 2 )) && NOTES+=("$srv: ${#CUR_PIDS[@]} processes in its tree at the end")
  stop_tree CUR_PIDS
}

# --- Run ---------------------------------------------------------------------------
note "placement: $PLACEMENT; wrk -t1 -c$CONNS, ${WARMUP}s warm-up + ${DURATION}s per test"
START=$SECONDS

ORIGIN_PORT=$(free_port); write_origin_conf "$ORIGIN_PORT"
note "origin (nginx): starting on 127.0.0.1:$ORIGIN_PORT"
start_server origin "$ORIGIN_PORT" LOAD_PIN nginx -p "$TMP/origin" -e "$TMP/origin-error.log" -c "$TMP/origin.conf" ||
  die "the origin nginx did not start"
ORIGIN_PIDS=("${CUR_PIDS[@]}"); CUR_PIDS=()
check_answers origin "$ORIGIN_PORT" || die "the origin nginx does not serve the test files"

port=$(free_port); write_pillar_conf "$port" "$ORIGIN_PORT"
"$PILLAR" -t -f "$TMP/pillar.conf" > /dev/null 2>&1 || {
  "$PILLAR" -t -f "$TMP/pillar.conf"; die "pillar rejected the benchmark configuration"; }
if ! bench_proxy pillar "$port" "$PILLAR" -f "$TMP/pillar.conf"; then
  for f in "$TMP/pillar.out" "$TMP/pillar-error.log"; do
    [[ -s $f ]] && { echo "--- ${f##*/} (last 20 lines)"; tail -n 20 "$f"; } >&2
  done
  die "pillar failed to start or to answer through the proxy"
fi
if [[ -s $TMP/pillar-error.log ]] && grep -qiE 'error|crit|alert|emerg|warn' "$TMP/pillar-error.log"; then
  n=$(grep -ciE 'error|crit|alert|emerg|warn' "$TMP/pillar-error.log")
  NOTES+=("pillar error log: $n warning/error lines, e.g. $(grep -iE 'error|crit|alert|emerg|warn' "$TMP/pillar-error.log" | head -3 | tr '\n' ' ')")
fi

if command -v haproxy >/dev/null; then
  port=$(free_port); write_haproxy_conf "$port" "$ORIGIN_PORT"
  # -db: stay in the foreground, one process.
  bench_proxy haproxy "$port" haproxy -db -f "$TMP/haproxy.cfg" ||
    NOTES+=("haproxy could not be benchmarked (see messages above)")
else
  NOTES+=("haproxy is not installed (scripts/install-deps bench)")
fi

port=$(free_port); write_nginx_conf "$port" "$ORIGIN_PORT"
bench_proxy nginx "$port" nginx -p "$TMP/nginx" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" ||
  NOTES+=("nginx could not be benchmarked as a proxy (see messages above)")
if grep -q 'buffered to a temporary file' "$TMP/nginx-error.log" 2>/dev/null; then
  NOTES+=("nginx proxy: $(grep -c 'buffered to a temporary file' "$TMP/nginx-error.log") responses spilled to a temporary file (default proxy_buffers)")
fi

kill -0 "${ORIGIN_PIDS[0]}" 2>/dev/null || NOTES+=("the origin nginx died during the run")
grep -qE '\[(error|crit|alert|emerg)\]' "$TMP/origin-error.log" 2>/dev/null &&
  NOTES+=("origin error log: $(grep -E '\[(error|crit|alert|emerg)\]' "$TMP/origin-error.log" | head -2 | tr '\n' ' ')")

# --- Report --------------------------------------------------------------------------
# test label | key | unit | better
ROWS=(
  "1 KiB keep-alive|1k.rps|req/s|higher"
  "100 KiB keep-alive|100k.rps|req/s|higher"
  "1 KiB keep-alive|1k.p99|p99 ms|lower"
  "100 KiB keep-alive|100k.p99|p99 ms|lower"
  "1 KiB keep-alive|1k.cpu|CPU us/req|lower"
  "100 KiB keep-alive|100k.cpu|CPU us/req|lower"
  "1 KiB keep-alive|1k.busy|proxy CPU %|info"
  "100 KiB keep-alive|100k.busy|proxy CPU %|info"
  "1 KiB keep-alive|1k.conns|new conns|lower"
  "100 KiB keep-alive|100k.conns|new conns|lower"
)

echo
echo "Reverse proxy: pillar vs haproxy $(haproxy -v 2>/dev/null | awk 'NR==1 {print $3}') vs nginx $(nginx -v 2>&1 | sed 's|.*/||'), origin nginx"
echo "$PLACEMENT; wrk -t1 -c$CONNS -d${DURATION}s; no access logs; took $((SECONDS - START)) s"
echo
fmt="%-20s %-12s %9s %9s %9s %15s %13s  %s\n"
printf "$fmt" test unit pillar haproxy nginx pillar/haproxy pillar/nginx better
printf "$fmt" "--------------------" "------------" --------- --------- --------- --------------- ------------- ------
for row in "${ROWS[@]}"; do
  IFS='|' read -r label key unit better <<< "$row"
  p=${R[pillar|$key]:-} h=${R[haproxy|$key]:-} n=${R[nginx|$key]:-}
  if [[ $better == info ]]; then
    rh=- rn=- better="(not a score: <100 % = proxy not the bottleneck)"
  else
    rh=$(ratio "$p" "$h") rn=$(ratio "$p" "$n")
  fi
  printf "$fmt" "$label" "$unit" "${p:-n/a}" "${h:-n/a}" "${n:-n/a}" "$rh" "$rn" "$better"
done
echo
echo "(better: higher = a ratio above 1 favours pillar; lower = a ratio below 1 favours pillar."
echo " new conns: TCP connections accepted during the measured run beyond wrk's $CONNS, i.e."
echo " proxy->origin connections not reused, or clients reconnecting.)"
if (( ${#NOTES[@]} )); then
  echo
  echo "Notes:"
  printf '  - %s\n' "${NOTES[@]}"
fi
exit 0
