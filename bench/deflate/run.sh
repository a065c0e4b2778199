#!/usr/bin/env bash
# Compression benchmark: Pillar's DEFLATE filter (mod_deflate) against nginx's
# gzip module at the same level, on the same ~100 KiB text page.
#
#   bench/deflate/run.sh build/pillar
#   LEVEL=1 DURATION=10 bench/deflate/run.sh build/pillar
#
# Environment (defaults in brackets):
#   LEVEL      zlib level for both (DeflateCompressionLevel / gzip_comp_level) [6]
#   DURATION   seconds of each measured wrk run [5]
#   WARMUP     seconds of the unmeasured run before it [1]
#   CONNS      wrk connections [20]
#
# Each server runs alone, with one worker process and one event loop (pillar:
# StartServers 1, EventThreadsPerChild 1; nginx: worker_processes 1), no
# access log, keep-alive, pinned to one CPU with wrk on another when there
# are two. zlib's settings match: the level, window 15, and memLevel 8
# (nginx's gzip default; Apache's is 9, so DeflateMemLevel 8 is set). Both are checked first: the page comes back gzip-encoded, with
# Vary, and gunzips to the file. Then `wrk -H 'Accept-Encoding: gzip'`:
# requests/s and the server's CPU microseconds per compressed request (its
# utime+stime over the run divided by the requests: the number to trust on
# a shared machine), and the compressed size each sends. The last column is
# pillar/nginx: for req/s higher is better for pillar, for CPU and size lower.
# Not part of `make test`; nginx comes from scripts/install-deps bench.
set -uo pipefail

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

PILLAR=${1:-build/pillar}
[[ -x $PILLAR ]] || die "pillar binary '$PILLAR' not found or not executable (run make build)"
PILLAR=$(realpath "$PILLAR")
LEVEL=${LEVEL:-6}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-20}
NOFILE=$(ulimit -n)
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || die "$tool is missing; run scripts/install-deps bench"
done

pin_two_cpus server "wrk"

TMP=$(mktemp -d /tmp/pillar-bench-deflate.XXXXXX)
chmod 755 "$TMP"
DOC=$TMP/docroot
mkdir -p "$DOC" "$TMP/nginx"
CUR_PIDS=()
cleanup() { stop_tree CUR_PIDS; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# A page of words and numbers: compresses about 4x, like real HTML.
python3 - "$DOC/page.html" <<'PY'
import random, sys
random.seed(42)
words = "the a server page of and to in is for that with as on by this be are from at or an it html".split()
out, size = [], 0
while size < 100 * 1024:
    line = "<p>" + " ".join(random.choice(words) if random.random() < 0.8 else str(random.randint(0, 99999))
                            for _ in range(random.randint(8, 20))) + "</p>\n"
    out.append(line); size += len(line)
open(sys.argv[1], "w").write("".join(out)[:100 * 1024])
PY
chmod 644 "$DOC/page.html"
BYTES=$(stat -c %s "$DOC/page.html")

write_pillar_conf() {
  cat > "$TMP/pillar.conf" <<EOF
Listen 127.0.0.1:$1
ServerName localhost
DocumentRoot "$DOC"
PidFile $TMP/pillar.pid
ErrorLog $TMP/pillar-error.log
StartServers 1
ServerLimit 1
EventThreadsPerChild 1
KeepAlive On
KeepAliveTimeout 60
MaxKeepAliveRequests 0
AddOutputFilterByType DEFLATE text/html
DeflateCompressionLevel $LEVEL
DeflateMemLevel 8
EOF
}

write_nginx_conf() {
  cat > "$TMP/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
error_log $TMP/nginx-error.log warn;
pid $TMP/nginx.pid;
events { worker_connections 1024; }
http {
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    types { text/html html; }
    access_log off;
    sendfile on;
    keepalive_timeout 60s;
    keepalive_requests 1000000000;
    gzip on;
    gzip_comp_level $LEVEL;
    gzip_min_length 0;
    gzip_vary on;
    server {
        listen 127.0.0.1:$1;
        root $DOC;
    }
}
EOF
}

declare -A R
NOTES=()

# check SRV PORT: gzip-encoded, Vary, and the same bytes once gunzipped.
check() {
  local srv=$1 port=$2 head
  head=$(curl -s -D - -o "$TMP/got.gz" -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/page.html")
  if ! grep -qi '^content-encoding: gzip' <<< "$head" || ! grep -qi '^vary: accept-encoding' <<< "$head"; then
    note "$srv: not gzip-encoded with Vary: $(tr '\r\n' '  ' <<< "$head")"; return 1
  fi
  if ! gzip -dc "$TMP/got.gz" | cmp -s - "$DOC/page.html"; then
    note "$srv: the gzip body does not decompress to the page"; return 1
  fi
  R[$srv|size]=$(stat -c %s "$TMP/got.gz")
}

measure() {
  local srv=$1 port=$2 url="http://127.0.0.1:$2/page.html"
  "${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"${WARMUP}s" -H 'Accept-Encoding: gzip' "$url" > /dev/null 2>&1
  local t0 t1 out reqs rps
  t0=$(cpu_ticks "${CUR_PIDS[@]}")
  out=$("${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"${DURATION}s" -H 'Accept-Encoding: gzip' "$url" 2>&1)
  t1=$(cpu_ticks "${CUR_PIDS[@]}")
  reqs=$(awk '/requests in/ {print $1; exit}' <<< "$out")
  rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2; exit}' <<< "$out")
  if [[ -z $reqs || -z $rps || $reqs == 0 ]]; then
    NOTES+=("$srv: wrk produced no result: $(tr '\n' ' ' <<< "$out" | cut -c1-200)"); return 1
  fi
  R[$srv|rps]=$rps
  R[$srv|cpu]=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$reqs" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  local errs
  errs=$(grep -E 'Socket errors|Non-2xx' <<< "$out" | tr -s ' \n' ' ')
  [[ -n $errs ]] && NOTES+=("$srv: $errs")
}

run() {
  local srv=$1 port=$2; shift 2
  note "$srv: starting on 127.0.0.1:$port"
  start_server "$srv" "$port" SRV_PIN "$@" || return 1
  check "$srv" "$port" && measure "$srv" "$port"
  stop_tree CUR_PIDS
}

port=$(free_port); write_pillar_conf "$port"
"$PILLAR" -t -f "$TMP/pillar.conf" > /dev/null || die "pillar rejected the benchmark configuration"
run pillar "$port" "$PILLAR" -f "$TMP/pillar.conf" || die "pillar failed to start or to answer"
if command -v nginx >/dev/null; then
  port=$(free_port); write_nginx_conf "$port"
  run nginx "$port" nginx -p "$TMP/nginx" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" ||
    NOTES+=("nginx could not be benchmarked")
else
  NOTES+=("nginx is not installed (scripts/install-deps bench)")
fi

echo
echo "gzip level $LEVEL of a $BYTES-byte text page: pillar vs nginx $(nginx -v 2>&1 | sed 's|.*/||')"
echo "$PLACEMENT; one worker each; wrk -t1 -c$CONNS -d${DURATION}s -H 'Accept-Encoding: gzip'"
fmt="%-28s %12s %12s %14s\n"
printf "$fmt" measure pillar nginx pillar/nginx
printf "$fmt" "requests/s (higher better)" "${R[pillar|rps]:-n/a}" "${R[nginx|rps]:-n/a}" "$(ratio "${R[pillar|rps]:-}" "${R[nginx|rps]:-}")"
printf "$fmt" "CPU us/request (lower)" "${R[pillar|cpu]:-n/a}" "${R[nginx|cpu]:-n/a}" "$(ratio "${R[pillar|cpu]:-}" "${R[nginx|cpu]:-}")"
printf "$fmt" "compressed bytes" "${R[pillar|size]:-n/a}" "${R[nginx|size]:-n/a}" "$(ratio "${R[pillar|size]:-}" "${R[nginx|size]:-}")"
if (( ${#NOTES[@]} )); then
  echo; echo "Notes:"; printf '  - %s\n' "${NOTES[@]}"
fi
exit 0
