#!/usr/bin/env bash
# Cache-hit benchmark: Pillar's reverse-proxy cache against Varnish, both in
# front of the same nginx origin, every measured request a cache hit.
#
#   bench/cache/run.sh build/pillar
#   DURATION=10 bench/cache/run.sh build/pillar
#   ONLY=varnish bench/cache/run.sh            # Varnish half only (no pillar needed)
#
# Environment (defaults in brackets):
#   DURATION   seconds of each measured wrk run [5]
#   WARMUP     seconds of the unmeasured wrk run before each one [1]
#   CONNS      wrk connections [50]
#   ONLY       pillar | varnish: run that cache only; the other shows as n/a [both]
#
# One nginx origin (1 worker, keep-alive, sendfile) serves a 1 KiB and a
# 100 KiB file with `Cache-Control: max-age=3600`. The two caches run one at a
# time in front of it, each with one worker process / one thread pool, a
# 256 MiB memory cache, keep-alive to the client and no access log. Before a
# cache is timed, each file is fetched twice with curl and the second answer
# must be a hit (Pillar: `X-Cache: HIT...`; Varnish: `X-Varnish` with two ids
# or `Age` > 0) with the origin's exact bytes; otherwise the run stops (a
# cache that does not cache must never be measured as if it did). The origin
# logs every request it gets, so the table also shows how many requests
# reached it during each measured run (0 for a working cache).
#
# For each cache and each size it measures requests/s, p99 latency and the
# cache's CPU time per request (utime+stime of its whole process tree).
#
# CPU placement: with two or more CPUs the cache gets one CPU to itself and the
# origin and wrk share another.
#
# Exit status: non-zero if Pillar fails to start or to answer correctly, if
# either cache fails the hit check, or if the origin cannot be started. A
# missing Varnish (or one that does not start) is reported as n/a.
set -uo pipefail   # deliberately no -e: one failing measurement must not stop the rest

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ONLY=${ONLY:-}
case $ONLY in
  ""|pillar|varnish) ;;
  *) die "ONLY must be 'pillar' or 'varnish' (or unset for both), not '$ONLY'" ;;
esac
run_pillar() { [[ $ONLY != varnish ]]; }
run_varnish() { [[ $ONLY != pillar ]]; }

PILLAR=${1:-build/pillar}
if run_pillar; then
  [[ -x $PILLAR ]] || die "pillar binary '$PILLAR' not found or not executable (run make build)"
  PILLAR=$(realpath "$PILLAR")
fi

DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-50}

for tool in wrk curl python3 nginx; do
  command -v "$tool" >/dev/null || die "$tool is missing; run scripts/install-deps bench"
done
if [[ $ONLY == varnish ]] && ! command -v varnishd >/dev/null; then
  die "varnishd is missing; run scripts/install-deps bench"
fi

ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)

# --- CPU placement -----------------------------------------------------------
# The cache on the first CPU we may use, origin + wrk on the second (containers
# may hand us e.g. 4 and 7, not 0 and 1).
pin_two_cpus cache "origin + wrk"
PROXY_PIN=("${SRV_PIN[@]}")

# --- Scratch directories, cleaned up with every process stopped on any exit ----
TMP=$(mktemp -d /tmp/pillar-cache-bench.XXXXXX)
chmod 755 "$TMP"   # nginx workers drop to 'nobody' (varnish's child to 'vcache') when started as root
DOC=$TMP/docroot
mkdir -p "$DOC" "$TMP/origin"
# Varnish's working directory holds its shared-memory log, which it writes on
# every request; Varnish's documentation wants it on tmpfs, so /dev/shm when
# there is one (as /var/lib/varnish usually is), else the scratch directory.
VWORK=""
if [[ -d /dev/shm && -w /dev/shm ]]; then
  VWORK=$(mktemp -d /dev/shm/pillar-cache-bench-varnish.XXXXXX 2>/dev/null) && chmod 755 "$VWORK"
fi
[[ -n $VWORK ]] || { VWORK=$TMP/varnish-work; mkdir -p "$VWORK"; }

CUR_PIDS=()      # every pid of the cache currently running (main + children)
ORIGIN_PIDS=()   # the origin nginx (master + worker)

cleanup() {
  stop_tree CUR_PIDS
  stop_tree ORIGIN_PIDS
  rm -rf "$TMP" "$VWORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM   # turn Ctrl-C into a normal exit so the EXIT trap runs

# --- Test files ----------------------------------------------------------------
make_test_files "$DOC"



# Requests the origin has served so far (one access-log line each).
origin_requests() {
  if [[ -f $TMP/origin-access.log ]]; then wc -l < "$TMP/origin-access.log"; else echo 0; fi
}



# --- Configurations -----------------------------------------------------------------
# Origin: write_origin_conf (bench/lib.sh) with `expires 1h` (Cache-Control:
# max-age=3600) so both caches may keep the files, and an access log that
# counts the requests that got past the cache.

# Common ground for the two caches: one worker process with one event loop /
# one thread pool, a 256 MiB memory cache, keep-alive to the client (60 s, no
# request cap), no access log, default everything else.

# Pillar: the process settings of bench/proxy (ServerLimit 1 keeps it at one
# worker: with the default MinSpareThreads a lone worker counts as short of
# spares as soon as one connection is open), plus the cache.
pillar_process_conf() {  # name port: what both pillar configurations share
  cat <<EOF
Listen 127.0.0.1:$2
ServerName bench
ErrorLog $TMP/$1-error.log
PidFile $TMP/$1.pid
StartServers 1
ServerLimit 1
EventThreadsPerChild 1
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 60
EOF
}

write_pillar_conf() {  # port origin_port
  { pillar_process_conf pillar "$1"; cat <<EOF
CacheSize 256M
<VirtualHost *:$1>
    ServerName bench
    ProxyPass / http://127.0.0.1:$2/
    CacheEnable mem /
    CacheHeader on
</VirtualHost>
EOF
  } > "$TMP/pillar.conf"
}

# The reference the issue sets: Pillar serving the same 1 KiB file itself,
# same process settings, no proxy and no cache.
write_static_conf() {  # port
  { pillar_process_conf static "$1"; echo "DocumentRoot $DOC"; } > "$TMP/static.conf"
}

# Varnish: -F keeps the manager in the foreground (its cache child is forked
# under it), -b gives the built-in VCL one backend, -s malloc the memory cache,
# one thread pool; timeout_idle 60 s as the others' keep-alive timeout. When
# started as root, varnishd's default "unix" jail runs the child as 'vcache'
# (the Debian package creates the users); otherwise there is no jail.
varnish_cmd() {  # port origin_port -> VARNISH_CMD
  # shellcheck disable=SC2054  # "malloc,256m" is one argument
  VARNISH_CMD=(varnishd -F -n "$VWORK/varnish" -a "127.0.0.1:$1" -b "127.0.0.1:$2"
               -s malloc,256m -p thread_pools=1 -p timeout_idle=60)
}

# --- Measurements ----------------------------------------------------------------
declare -A R        # R[cache|test.metric] = value
NOTES=()            # anything odd seen along the way, printed after the table

# bench_wrk CACHE TEST URL: wrk_measure, and TEST.origin: requests that
# reached the origin during the measured run (0 when every request was a hit;
# more than 1 % means this was not a cache-hit benchmark).
bench_wrk() {
  local srv=$1 test=$2
  wrk_measure "$@" origin_requests || return 0
  local missed=$WRK_DELTA reqs=$WRK_REQS
  R[$srv|$test.origin]=$missed
  if (( missed * 100 > reqs )); then
    NOTES+=("$srv $test: NOT A CACHE-HIT MEASUREMENT: $missed of $reqs requests reached the origin")
  elif (( missed > 0 )); then
    NOTES+=("$srv $test: $missed of $reqs requests reached the origin during the measured run")
  fi
}


# is_hit CACHE HEADERFILE: whether the response whose head is in HEADERFILE
# was served from the cache.
is_hit() {
  local srv=$1 head=$2
  case $srv in
    pillar)  grep -qiE '^x-cache:[[:space:]]*hit' "$head" ;;
    varnish) grep -qiE '^x-varnish:[[:space:]]*[0-9]+[[:space:]]+[0-9]+' "$head" ||
             grep -qiE '^age:[[:space:]]*[1-9]' "$head" ;;
    *) return 1 ;;
  esac
}

# hit_check CACHE PORT: fetches every test file twice; the second answer must
# be a hit, 200 and byte-exact. Dies otherwise: a cache that does not cache
# must never be benchmarked as if it did.
hit_check() {
  local srv=$1 port=$2 f name path bytes i got
  for f in "${FILES[@]}"; do
    IFS='|' read -r name path bytes <<< "$f"
    for i in 1 2; do
      rm -f "$TMP/got" "$TMP/head"
      got=$(curl -s -D "$TMP/head" -o "$TMP/got" --max-time 10 -w '%{http_code} %{size_download}' \
        "http://127.0.0.1:$port$path")
    done
    tr -d '\r' < "$TMP/head" > "$TMP/head.txt"
    if [[ $got != "200 $bytes" ]] || ! cmp -s "$TMP/got" "$DOC$path"; then
      note "$srv: the second GET $path answered '${got:-nothing}' or not the origin's bytes"
    elif is_hit "$srv" "$TMP/head.txt"; then
      note "$srv: $name hit: $(grep -iE '^(x-cache|x-varnish|age):' "$TMP/head.txt" | tr '\n' ' ')"
      continue
    else
      note "$srv: the second GET $path was not a cache hit; its response head:"
    fi
    sed 's/^/    /' "$TMP/head.txt" >&2
    [[ $srv == pillar ]] && for g in "$TMP/pillar.out" "$TMP/pillar-error.log"; do
      [[ -s $g ]] && { echo "--- ${g##*/} (last 20 lines)"; tail -n 20 "$g"; } >&2
    done
    die "$srv failed the cache-hit check on $path; not benchmarking a cache that does not cache"
  done
}

# bench_cache NAME PORT CMD...: the whole series through one cache.
bench_cache() {
  local srv=$1 port=$2; shift 2
  note "$srv: starting on 127.0.0.1:$port"
  start_server "$srv" "$port" PROXY_PIN "$@" || { stop_tree CUR_PIDS; return 1; }
  if ! check_answers "$srv" "$port"; then stop_tree CUR_PIDS; return 1; fi
  hit_check "$srv" "$port"
  local f name path bytes
  for f in "${FILES[@]}"; do
    IFS='|' read -r name path bytes <<< "$f"
    note "$srv: $name keep-alive"
    bench_wrk "$srv" "$name" "http://127.0.0.1:$port$path"
  done
  # A cache that died under load must not look like a fast one.
  kill -0 "${CUR_PIDS[0]}" 2>/dev/null || { note "$srv died during the run"; CUR_PIDS=(); return 1; }
  check_answers "$srv" "$port" || { stop_tree CUR_PIDS; return 1; }
  hit_check "$srv" "$port"   # still hits after the load (nothing evicted or invalidated)
  refresh_pids
  stop_tree CUR_PIDS
}

# --- Run ---------------------------------------------------------------------------
note "placement: $PLACEMENT; wrk -t1 -c$CONNS, ${WARMUP}s warm-up + ${DURATION}s per test${ONLY:+; only $ONLY}"
START=$SECONDS

ORIGIN_PORT=$(free_port)
write_origin_conf "$ORIGIN_PORT" "log_format brief '\$request \$status'; access_log $TMP/origin-access.log brief;" "expires 1h;"
note "origin (nginx): starting on 127.0.0.1:$ORIGIN_PORT"
start_server origin "$ORIGIN_PORT" LOAD_PIN nginx -p "$TMP/origin" -e "$TMP/origin-error.log" -c "$TMP/origin.conf" ||
  die "the origin nginx did not start"
ORIGIN_PIDS=("${CUR_PIDS[@]}"); CUR_PIDS=()
check_answers origin "$ORIGIN_PORT" || die "the origin nginx does not serve the test files"
curl -s -o /dev/null -D - --max-time 10 "http://127.0.0.1:$ORIGIN_PORT/index.html" |
  grep -qi '^cache-control: max-age=3600' || die "the origin nginx does not send Cache-Control: max-age=3600"

if run_pillar; then
  port=$(free_port); write_pillar_conf "$port" "$ORIGIN_PORT"
  "$PILLAR" -t -f "$TMP/pillar.conf" > /dev/null 2>&1 || {
    "$PILLAR" -t -f "$TMP/pillar.conf"; die "pillar rejected the benchmark configuration"; }
  if ! bench_cache pillar "$port" "$PILLAR" -f "$TMP/pillar.conf"; then
    for f in "$TMP/pillar.out" "$TMP/pillar-error.log"; do
      [[ -s $f ]] && { echo "--- ${f##*/} (last 20 lines)"; tail -n 20 "$f"; } >&2
    done
    die "pillar failed to start or to answer through the cache"
  fi
  if [[ -s $TMP/pillar-error.log ]] && grep -qiE 'error|crit|alert|emerg|warn' "$TMP/pillar-error.log"; then
    n=$(grep -ciE 'error|crit|alert|emerg|warn' "$TMP/pillar-error.log")
    NOTES+=("pillar error log: $n warning/error lines, e.g. $(grep -iE 'error|crit|alert|emerg|warn' "$TMP/pillar-error.log" | head -3 | tr '\n' ' ')")
  fi
  port=$(free_port); write_static_conf "$port"
  note "pillar static (reference): starting on 127.0.0.1:$port"
  if start_server static "$port" PROXY_PIN "$PILLAR" -f "$TMP/static.conf" && check_answers static "$port"; then
    note "pillar static: 1k keep-alive"
    bench_wrk static 1k "http://127.0.0.1:$port/index.html"
  else
    NOTES+=("pillar static reference could not run")
  fi
  stop_tree CUR_PIDS
else
  NOTES+=("pillar skipped (ONLY=$ONLY)")
fi

if ! run_varnish; then
  NOTES+=("varnish skipped (ONLY=$ONLY)")
elif command -v varnishd >/dev/null; then
  port=$(free_port); varnish_cmd "$port" "$ORIGIN_PORT"
  bench_cache varnish "$port" "${VARNISH_CMD[@]}" ||
    NOTES+=("varnish could not be benchmarked (see messages above)")
else
  NOTES+=("varnish is not installed (scripts/install-deps bench)")
fi

kill -0 "${ORIGIN_PIDS[0]}" 2>/dev/null || NOTES+=("the origin nginx died during the run")
grep -qE '\[(error|crit|alert|emerg)\]' "$TMP/origin-error.log" 2>/dev/null &&
  NOTES+=("origin error log: $(grep -E '\[(error|crit|alert|emerg)\]' "$TMP/origin-error.log" | head -2 | tr '\n' ' ')")

# --- Report --------------------------------------------------------------------------
# test label | key | unit | better
ROWS=(
  "1 KiB hit|1k.rps|req/s|higher"
  "100 KiB hit|100k.rps|req/s|higher"
  "1 KiB hit|1k.p99|p99 ms|lower"
  "100 KiB hit|100k.p99|p99 ms|lower"
  "1 KiB hit|1k.cpu|CPU us/req|lower"
  "100 KiB hit|100k.cpu|CPU us/req|lower"
  "1 KiB hit|1k.busy|cache CPU %|info"
  "100 KiB hit|100k.busy|cache CPU %|info"
  "1 KiB hit|1k.origin|origin reqs|zero"
  "100 KiB hit|100k.origin|origin reqs|zero"
)

VARNISH_VERSION=$(varnishd -V 2>&1 | sed -n 's/^varnishd (varnish-\([^ ]*\).*/\1/p')
echo
echo "Cache hits: pillar vs varnish ${VARNISH_VERSION:-n/a}, origin nginx $(nginx -v 2>&1 | sed 's|.*/||')"
echo "$PLACEMENT; wrk -t1 -c$CONNS -d${DURATION}s; no access log on the caches; took $((SECONDS - START)) s"
echo
fmt="%-20s %-12s %9s %9s %15s  %s\n"
printf "$fmt" test unit pillar varnish pillar/varnish better
printf "$fmt" "--------------------" "------------" --------- --------- --------------- ------
for row in "${ROWS[@]}"; do
  IFS='|' read -r label key unit better <<< "$row"
  p=${R[pillar|$key]:-} v=${R[varnish|$key]:-}
  case $better in
    info) rv=- better="(not a score: <100 % = cache not the bottleneck)" ;;
    zero) rv=- better="(must be 0: requests that missed the cache)" ;;
    *)    rv=$(ratio "$p" "$v") ;;
  esac
  printf "$fmt" "$label" "$unit" "${p:-n/a}" "${v:-n/a}" "$rv" "$better"
done
if [[ -n ${R[static|1k.cpu]:-} ]]; then
  printf "$fmt" "1 KiB static file" "CPU us/req" "${R[static|1k.cpu]}" - "$(ratio "${R[pillar|1k.cpu]:-}" "${R[static|1k.cpu]}")" \
    "(pillar serving the file itself; ratio = pillar hit / pillar static, at most 1 is the target)"
fi
echo
echo "(better: higher = a ratio above 1 favours pillar; lower = a ratio below 1 favours pillar."
echo " origin reqs: requests that reached the origin during the measured run.)"
if (( ${#NOTES[@]} )); then
  echo
  echo "Notes:"
  printf '  - %s\n' "${NOTES[@]}"
fi
exit 0
