#!/usr/bin/env bash
# TLS and HTTP/2 benchmark: Pillar against nginx, HAProxy and h2o with the
# same ECDSA P-256 certificate.
#
#   bench/tls/run.sh build/pillar
#   DURATION=10 bench/tls/run.sh build/pillar
#
# Environment (defaults in brackets):
#   DURATION   seconds of each measured run [5]
#   WARMUP     seconds of the unmeasured run before each one [1]
#   CONNS      wrk connections for the HTTP/1.1 test [50]
#   ONLY       a space-separated subset of "pillar nginx haproxy h2o" [all]
#   CASES      a space-separated subset of "a b c d" (the tests below) [all]
#
#   ONLY="pillar h2o" CASES=d bench/tls/run.sh build/pillar   (HTTP/2 only)
#
# Each server runs on its own, one worker process with one event loop /
# thread, TLS 1.2 + 1.3, session tickets on (each server's defaults for its
# ticket keys), h2 and http/1.1 by ALPN, no access log. Per server:
#
#   (a) 1 KiB keep-alive over TLS 1.3: wrk -t1 -cCONNS https://.../index.html;
#       server CPU us per request.
#   (b) full handshakes: openssl s_time -new -www /index.html (one connection
#       at a time, a new session each: TLS 1.3, X25519 key share, ECDSA P-256
#       signature, then one HTTP/1.0 GET of the 1 KiB page and the server's
#       close); connections per server CPU-second.
#   (c) resumed handshakes: the same with -reuse (the session of the first
#       connection resumed each time with its ticket: TLS 1.3 PSK with an
#       (EC)DHE key share); connections per server CPU-second.
#       The GET is there because s_time reads only with -www, and a TLS 1.3
#       client that never reads may close before the server's ticket arrives
#       (then nothing resumes); it costs each server what (a) measures.
#   (d) HTTP/2: h2load -c 64 -m 10 https://.../index.html; server CPU us
#       per request.
#
# HAProxy answers the 1 KiB page itself (http-request return ... file); it
# has no file server.
#
# CPU placement: with two or more CPUs the server is pinned to one CPU and
# the client (wrk, s_time, h2load) to another. Server CPU is utime+stime over
# its whole process tree from /proc (bench/lib.sh cpu_ticks).
#
# Exit status: non-zero only if Pillar fails to start or to answer. A peer
# that is missing or broken shows as n/a.
set -uo pipefail   # deliberately no -e: one failing measurement must not stop the rest

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

PILLAR=${1:-build/pillar}
[[ -x $PILLAR ]] || die "pillar binary '$PILLAR' not found or not executable (run make build)"
PILLAR=$(realpath "$PILLAR")

DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-50}
ONLY=${ONLY:-pillar nginx haproxy h2o}
CASES=${CASES:-a b c d}
H2_CLIENTS=64
H2_STREAMS=10

for tool in wrk curl python3 openssl h2load; do
  command -v "$tool" >/dev/null || die "$tool is missing; run scripts/install-deps bench"
done

ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)

pin_two_cpus server "the client"

TMP=$(mktemp -d /tmp/pillar-tls-bench.XXXXXX)
chmod 755 "$TMP"   # nginx workers drop to 'nobody' when started as root and must read the docroot
DOC=$TMP/docroot
mkdir -p "$DOC" "$TMP/nginx"

CUR_PIDS=()
cleanup() {
  stop_tree CUR_PIDS
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make_test_files "$DOC"

# --- The certificate: ECDSA P-256, self-signed, for 127.0.0.1 and localhost ----
CERT=$TMP/cert.pem KEY=$TMP/key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 2 \
  -keyout "$KEY" -out "$CERT" -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" > "$TMP/openssl-req.out" 2>&1 ||
  { cat "$TMP/openssl-req.out" >&2; die "openssl could not make the certificate"; }
cat "$CERT" "$KEY" > "$TMP/haproxy.pem"   # HAProxy wants both in one file
chmod 644 "$CERT" "$KEY" "$TMP/haproxy.pem"

# --- Configurations ---------------------------------------------------------------
write_pillar_conf() {  # port
  cat > "$TMP/pillar.conf" <<EOF
Listen 127.0.0.1:$1 https
StartServers 1
ServerLimit 1
EventThreadsPerChild 1
PidFile $TMP/pillar.pid
ErrorLog $TMP/pillar-error.log
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 60
Protocols h2 http/1.1
DocumentRoot $DOC
SSLEngine on
SSLCertificateFile $CERT
SSLCertificateKeyFile $KEY
EOF
}

write_nginx_conf() {  # port
  cat > "$TMP/nginx.conf" <<EOF
$(nginx_conf_head nginx)
    types { text/html html; application/octet-stream bin; }
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    keepalive_timeout 60s;
    keepalive_requests 1000000000;
    http2_max_requests 1000000000;
    server {
        listen 127.0.0.1:$1 ssl http2 backlog=4096;
        ssl_certificate $CERT;
        ssl_certificate_key $KEY;
        ssl_protocols TLSv1.2 TLSv1.3;
        root $DOC;
        index index.html;
    }
}
EOF
}

write_haproxy_conf() {  # port
  cat > "$TMP/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 4096
    pidfile $TMP/haproxy.pid
    ssl-default-bind-options ssl-min-ver TLSv1.2

defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
    timeout http-request 10s

frontend fe
    bind 127.0.0.1:$1 ssl crt $TMP/haproxy.pem alpn h2,http/1.1
    http-request return status 200 content-type text/html file $DOC/index.html
EOF
}

write_h2o_conf() {  # port
  cat > "$TMP/h2o.conf" <<EOF
num-threads: 1
max-connections: 4096
http1-request-timeout: 60
http2-idle-timeout: 60
error-log: $TMP/h2o-error.log
pid-file: $TMP/h2o.pid
user: $(id -un)
listen:
  host: 127.0.0.1
  port: $1
  ssl:
    certificate-file: $CERT
    key-file: $KEY
    minimum-version: TLSv1.2
hosts:
  default:
    paths:
      /:
        file.dir: $DOC
EOF
}

# --- Measurements ---------------------------------------------------------------------
declare -A R
NOTES=()
COMMANDS=(
  "(a) wrk -t1 -c$CONNS -d${DURATION}s --latency https://127.0.0.1:PORT/index.html   (after a ${WARMUP} s run)"
  "(b) openssl s_time -connect 127.0.0.1:PORT -new -www /index.html -time $DURATION   (after a ${WARMUP} s run)"
  "(c) openssl s_time -connect 127.0.0.1:PORT -reuse -www /index.html -time $DURATION   (after a ${WARMUP} s run)"
  "(d) h2load -c $H2_CLIENTS -m $H2_STREAMS -D $DURATION https://127.0.0.1:PORT/index.html   (after a ${WARMUP} s run)"
)

cpu_us() {  # ticks requests -> CPU us per request
  awk -v t="$1" -v hz="$CLK_TCK" -v n="$2" 'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n }'
}
per_cpu_s() {  # count ticks -> count per CPU-second
  awk -v t="$1" -v hz="$CLK_TCK" -v n="$2" 'BEGIN { if (t > 0) printf "%.0f", n / (t / hz) }'
}

# check_https SRV PORT: the 1 KiB file over HTTP/1.1 and over h2, byte-exact.
check_https() {
  local srv=$1 port=$2 got ok=0 v
  for v in --http1.1 --http2; do
    rm -f "$TMP/got"
    got=$(curl -sk "$v" -o "$TMP/got" --max-time 10 -w '%{http_code} %{size_download} %{http_version}' \
      "https://127.0.0.1:$port/index.html")
    local want="200 1024 1.1"; [[ $v == --http2 ]] && want="200 1024 2"
    if [[ $got != "$want" ]] || ! cmp -s "$TMP/got" "$DOC/index.html"; then
      note "$srv: curl -k $v https://127.0.0.1:$port/index.html answered '${got:-nothing}', expected '$want' and the file"
      ok=1
    fi
  done
  return $ok
}

bench_wrk() {  # SRV PORT
  local srv=$1 port=$2 url="https://127.0.0.1:$2/index.html" out t0 t1 reqs
  "${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"${WARMUP}s" --timeout 10s "$url" > /dev/null 2>&1
  refresh_pids
  t0=$(cpu_ticks "${CUR_PIDS[@]}")
  out=$("${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency "$url" 2>&1)
  t1=$(cpu_ticks "${CUR_PIDS[@]}")
  reqs=$(awk '/requests in/ {print $1; exit}' <<< "$out")
  if [[ -z $reqs ]] || (( reqs == 0 )); then
    NOTES+=("$srv (a): wrk produced no result: $(tr '\n' ' ' <<< "$out" | cut -c1-200)")
    return
  fi
  R[$srv|h1.rps]=$(awk '/^Requests\/sec:/ {printf "%.0f", $2; exit}' <<< "$out")
  R[$srv|h1.cpu]=$(cpu_us $((t1 - t0)) "$reqs")
  local errs
  errs=$(grep -E 'Socket errors|Non-2xx' <<< "$out" | tr -s ' \n' ' ')
  [[ -n $errs ]] && NOTES+=("$srv (a): $errs")
}

# bench_stime SRV PORT KEY MODE: openssl s_time -MODE; handshakes per server
# CPU-second. s_time prints '*' for a full handshake and 'r' for a resumed one.
bench_stime() {
  local srv=$1 port=$2 key=$3 mode=$4 out t0 t1 n full resumed
  "${LOAD_PIN[@]}" openssl s_time -connect "127.0.0.1:$port" "-$mode" -www /index.html -time "$WARMUP" > /dev/null 2>&1
  refresh_pids
  t0=$(cpu_ticks "${CUR_PIDS[@]}")
  out=$("${LOAD_PIN[@]}" openssl s_time -connect "127.0.0.1:$port" "-$mode" -www /index.html -time "$DURATION" 2>&1)
  t1=$(cpu_ticks "${CUR_PIDS[@]}")
  n=$(awk '/connections in .* real seconds/ {print $1; exit}' <<< "$out")
  if [[ -z $n ]] || (( n == 0 )); then
    NOTES+=("$srv ($key): s_time produced no result: $(grep -v '^[*r]*$' <<< "$out" | tr '\n' ' ' | cut -c1-200)")
    return
  fi
  full=$(grep -E '^[*r]+$' <<< "$out" | tr -cd '*' | wc -c)
  resumed=$(grep -E '^[*r]+$' <<< "$out" | tr -cd 'r' | wc -c)
  R[$srv|$key.rate]=$(awk -v n="$n" -v d="$DURATION" 'BEGIN {printf "%.0f", n / d}')
  R[$srv|$key.hs]=$(per_cpu_s $((t1 - t0)) "$n")
  R[$srv|$key.us]=$(cpu_us $((t1 - t0)) "$n")
  if [[ $mode == reuse ]] && (( resumed * 100 < n * 99 )); then
    NOTES+=("$srv (c): only $resumed of $n connections resumed (not a resumption figure)")
  elif [[ $mode == new ]] && (( full * 100 < n * 99 )); then
    NOTES+=("$srv (b): only $full of $n connections were full handshakes")
  fi
}

bench_h2load() {  # SRV PORT
  local srv=$1 port=$2 url="https://127.0.0.1:$2/index.html" out t0 t1 ok
  "${LOAD_PIN[@]}" h2load -c "$H2_CLIENTS" -m "$H2_STREAMS" -D "$WARMUP" "$url" > /dev/null 2>&1
  refresh_pids
  t0=$(cpu_ticks "${CUR_PIDS[@]}")
  out=$("${LOAD_PIN[@]}" h2load -c "$H2_CLIENTS" -m "$H2_STREAMS" -D "$DURATION" "$url" 2>&1)
  t1=$(cpu_ticks "${CUR_PIDS[@]}")
  if ! grep -q 'Application protocol: h2' <<< "$out"; then
    NOTES+=("$srv (d): h2load did not negotiate h2: $(grep -iE 'protocol|error' <<< "$out" | head -2 | tr '\n' ' ')")
    return
  fi
  ok=$(awk '/^requests:/ {for (i = 1; i <= NF; i++) if ($i ~ /^succeeded/) print $(i - 1); exit}' <<< "$out")
  if [[ -z $ok ]] || (( ok == 0 )); then
    NOTES+=("$srv (d): h2load produced no result: $(tr '\n' ' ' <<< "$out" | cut -c1-200)")
    return
  fi
  R[$srv|h2.rps]=$(awk -v n="$ok" -v d="$DURATION" 'BEGIN {printf "%.0f", n / d}')
  R[$srv|h2.cpu]=$(cpu_us $((t1 - t0)) "$ok")
  local bad
  bad=$(awk '/^requests:/ {for (i = 1; i <= NF; i++) if ($i ~ /^(failed|errored|timeout)/ && $(i - 1) > 0) printf "%s %s ", $(i - 1), $i}' <<< "$out")
  [[ -n $bad ]] && NOTES+=("$srv (d): h2load: $bad")
}

# What was negotiated with the default OpenSSL client (for the notes).
negotiated() {  # PORT
  openssl s_client -connect "127.0.0.1:$1" -brief < /dev/null 2>&1 |
    awk -F': ' '/^Protocol version/ {p = $2} /^Ciphersuite/ {c = $2} /^(Server Temp Key|Peer Temp Key)/ {k = $2}
      END {printf "%s %s %s", p, c, k}'
}

bench_server() {  # NAME PORT CMD...
  local srv=$1 port=$2; shift 2
  note "$srv: starting on 127.0.0.1:$port"
  start_server "$srv" "$port" SRV_PIN "$@" || { stop_tree CUR_PIDS; return 1; }
  if ! check_https "$srv" "$port"; then stop_tree CUR_PIDS; return 1; fi
  R[$srv|tls]=$(negotiated "$port")
  if case_wanted a; then note "$srv: (a) 1 KiB keep-alive"; bench_wrk "$srv" "$port"; fi
  if case_wanted b; then note "$srv: (b) full handshakes"; bench_stime "$srv" "$port" full new; fi
  if case_wanted c; then note "$srv: (c) resumed handshakes"; bench_stime "$srv" "$port" resumed reuse; fi
  if case_wanted d; then note "$srv: (d) h2"; bench_h2load "$srv" "$port"; fi
  kill -0 "${CUR_PIDS[0]}" 2>/dev/null || { note "$srv died during the run"; CUR_PIDS=(); return 1; }
  check_https "$srv" "$port" || { stop_tree CUR_PIDS; return 1; }
  stop_tree CUR_PIDS
}

wanted() { [[ " $ONLY " == *" $1 "* ]]; }
case_wanted() { [[ " $CASES " == *" $1 "* ]]; }

# --- Run -----------------------------------------------------------------------------------
note "placement: $PLACEMENT; ${WARMUP}s warm-up + ${DURATION}s per test"
START=$SECONDS

if wanted pillar; then
  port=$(free_port); write_pillar_conf "$port"
  "$PILLAR" -t -f "$TMP/pillar.conf" > /dev/null 2>&1 || {
    "$PILLAR" -t -f "$TMP/pillar.conf"; die "pillar rejected the benchmark configuration"; }
  if ! bench_server pillar "$port" "$PILLAR" -f "$TMP/pillar.conf"; then
    for f in "$TMP/pillar.out" "$TMP/pillar-error.log"; do
      [[ -s $f ]] && { echo "--- ${f##*/} (last 20 lines)"; tail -n 20 "$f"; } >&2
    done
    die "pillar failed to start or to answer over TLS"
  fi
  if [[ -s $TMP/pillar-error.log ]] && grep -qiE '\[[a-z0-9]*:(warn|error|crit|alert|emerg)\]' "$TMP/pillar-error.log"; then
    NOTES+=("pillar error log: $(grep -ciE ':(warn|error|crit|alert|emerg)\]' "$TMP/pillar-error.log") warning/error lines, e.g. $(grep -iE ':(warn|error|crit|alert|emerg)\]' "$TMP/pillar-error.log" | head -2 | tr '\n' ' ')")
  fi
fi

if wanted nginx; then
  if command -v nginx > /dev/null; then
    port=$(free_port); write_nginx_conf "$port"
    bench_server nginx "$port" nginx -p "$TMP/nginx" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" ||
      NOTES+=("nginx could not be benchmarked (see messages above)")
  else
    NOTES+=("nginx is not installed (scripts/install-deps bench)")
  fi
fi

if wanted haproxy; then
  if command -v haproxy > /dev/null; then
    port=$(free_port); write_haproxy_conf "$port"
    bench_server haproxy "$port" haproxy -db -f "$TMP/haproxy.cfg" ||
      NOTES+=("haproxy could not be benchmarked (see messages above)")
  else
    NOTES+=("haproxy is not installed (scripts/install-deps bench)")
  fi
fi

if wanted h2o; then
  if command -v h2o > /dev/null; then
    port=$(free_port); write_h2o_conf "$port"
    bench_server h2o "$port" h2o -c "$TMP/h2o.conf" ||
      NOTES+=("h2o could not be benchmarked (see messages above)")
  else
    NOTES+=("h2o is not installed (scripts/install-deps bench)")
  fi
fi

# --- Report ------------------------------------------------------------------------------------
# label | key | unit | better
ROWS=(
  "(a) 1 KiB keep-alive, h1|h1.cpu|CPU us/req|lower"
  "(a) 1 KiB keep-alive, h1|h1.rps|req/s|info"
  "(b) full handshake|full.hs|hs/CPU-s|higher"
  "(b) full handshake|full.us|CPU us/hs|lower"
  "(b) full handshake|full.rate|hs/s|info"
  "(c) resumed handshake|resumed.hs|hs/CPU-s|higher"
  "(c) resumed handshake|resumed.us|CPU us/hs|lower"
  "(c) resumed handshake|resumed.rate|hs/s|info"
  "(d) h2 -c$H2_CLIENTS -m$H2_STREAMS 1 KiB|h2.cpu|CPU us/req|lower"
  "(d) h2 -c$H2_CLIENTS -m$H2_STREAMS 1 KiB|h2.rps|req/s|info"
)
PEERS=(nginx haproxy h2o)

echo
echo "TLS + HTTP/2: pillar vs nginx $(nginx -v 2>&1 | sed 's|.*/||') vs haproxy $(haproxy -v 2>/dev/null | awk 'NR==1 {print $3}')" \
     "vs h2o $(h2o --version 2>/dev/null | awk 'NR==1 {print $3}'), $(openssl version | awk '{print $1, $2}'), ECDSA P-256 certificate"
echo "$PLACEMENT; one worker / one thread each; no access logs; $(date -u +%Y-%m-%d); took $((SECONDS - START)) s"
echo
fmt="%-26s %-11s %8s %8s %8s %8s %9s %9s %9s %9s  %s\n"
printf "$fmt" test unit pillar nginx haproxy h2o p/nginx p/haproxy p/h2o p/best better
printf "$fmt" -------------------------- ----------- -------- -------- -------- -------- --------- --------- --------- --------- ------
for row in "${ROWS[@]}"; do
  IFS='|' read -r label key unit better <<< "$row"
  c=${label:1:1}; case_wanted "$c" || continue
  p=${R[pillar|$key]:-}
  vals=() ratios=() best=""
  for s in "${PEERS[@]}"; do
    v=${R[$s|$key]:-}
    vals+=("${v:-n/a}")
    if [[ $better == info ]]; then ratios+=(-); continue; fi
    ratios+=("$(ratio "$p" "$v")")
    [[ -z $v ]] && continue
    if [[ -z $best ]] || { [[ $better == lower ]] && awk -v a="$v" -v b="$best" 'BEGIN {exit !(a < b)}'; } ||
       { [[ $better == higher ]] && awk -v a="$v" -v b="$best" 'BEGIN {exit !(a > b)}'; }; then best=$v; fi
  done
  rb=-; [[ $better != info ]] && rb=$(ratio "$p" "$best")
  printf "$fmt" "$label" "$unit" "${p:-n/a}" "${vals[@]}" "${ratios[@]}" "$rb" "$better"
done
echo
echo "(p/X = pillar / X. better: lower = a ratio below 1 favours pillar; higher = a ratio above 1"
echo " favours pillar; info = not a score (req/s and hs/s depend on the client and the shared CPUs)."
echo " The target: p/best <= 1 for lower rows, >= 1 for higher rows.)"
echo
echo "Commands (PORT: each server's port; the client pinned as above):"
printf '  %s\n' "${COMMANDS[@]}"
echo
echo "Negotiated with openssl s_client's defaults:"
for s in pillar "${PEERS[@]}"; do
  [[ -n ${R[$s|tls]:-} ]] && echo "  $s: ${R[$s|tls]}"
done
if (( ${#NOTES[@]} )); then
  echo
  echo "Notes:"
  printf '  - %s\n' "${NOTES[@]}"
fi
exit 0
