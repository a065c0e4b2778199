#!/usr/bin/env bash
# FastCGI benchmark: Pillar and nginx, one at a time, in front of the SAME
# php-fpm pool serving a small PHP page.
#
#   bench/fastcgi/run.sh build/pillar
#   ROUNDS=5 DURATION=10 bench/fastcgi/run.sh build/pillar
#
# Environment (defaults in brackets):
#   DURATION   seconds of each measured wrk run [5]
#   WARMUP     seconds of the unmeasured wrk run before each one [1]
#   ROUNDS     measured runs per front server, alternating pillar / nginx;
#              the table shows the median of each row [3]
#   CHILDREN   php-fpm children (pm = static) [4]
#   CONNS      wrk connections [CHILDREN]
#   NGINX_KEEPALIVE  nginx's upstream keepalive (idle connections kept) [CHILDREN];
#              Pillar keeps at most 2 idle FastCGI connections per application
#              and event loop (kMaxIdleFastcgi in src/server/worker_loop.h)
#
# php-fpm (its own php-fpm.conf in the scratch directory, no php.ini, one
# pool on a unix socket, pm = static) serves
#   <?php echo "hello ", $_SERVER['REQUEST_URI'];
# Pillar (Debian's line: <FilesMatch \.php$> SetHandler
# "proxy:unix:SOCK|fcgi://localhost") and nginx (fastcgi_pass to an upstream
# with keepalive, fastcgi_keep_conn on, the CGI variables Pillar sends) each
# run with one worker / one event loop, keep-alive to the client and no
# access log. Both keep their FastCGI connections open between requests
# (FCGI_KEEP_CONN).
#
# A php-fpm child serves one kept connection until the front closes it, so
# the front may hold at most CHILDREN connections to the pool or requests
# queue in php-fpm's backlog behind idle connections: wrk uses CONNS =
# CHILDREN connections, and only one front runs at a time (each is started
# and stopped for every round, which closes its connections).
#
# The number to trust is the FRONT server's CPU per request: utime+stime of
# its process tree (/proc/PID/stat) over the measured run divided by the
# requests wrk counted. php-fpm's CPU per request is shown beside it (not a
# score: PHP does the same work behind both). req/s is mostly php-fpm's and
# wrk's, which share the other CPU.
#
# CPU placement: with two or more CPUs the front server gets one CPU, php-fpm
# and wrk share another.
#
# Exit status: non-zero only if php-fpm or Pillar fails to start or to answer;
# a missing or broken nginx shows as n/a.
set -uo pipefail   # no -e: one failing measurement must not stop the rest

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

PILLAR=${1:-build/pillar}
[[ -x $PILLAR ]] || die "pillar binary '$PILLAR' not found or not executable (run make build)"
PILLAR=$(realpath "$PILLAR")

DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
ROUNDS=${ROUNDS:-3}
CHILDREN=${CHILDREN:-4}
CONNS=${CONNS:-$CHILDREN}
NGINX_KEEPALIVE=${NGINX_KEEPALIVE:-$CHILDREN}

for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || die "$tool is missing; run scripts/install-deps bench"
done
FPM=
for p in /usr/sbin/php-fpm8.2 /usr/sbin/php-fpm "$(command -v php-fpm 2>/dev/null)"; do
  [[ -n $p && -x $p ]] && { FPM=$p; break; }
done
[[ -n $FPM ]] || die "php-fpm is missing; run scripts/install-deps"

ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)

pin_two_cpus "front server" "php-fpm + wrk"

# --- Scratch directory, cleaned up with every process stopped on any exit ------
TMP=$(mktemp -d /tmp/pillar-fastcgi-bench.XXXXXX)
chmod 755 "$TMP"   # nginx workers drop to 'nobody' when started as root
DOC=$TMP/docroot
SOCK=$TMP/fpm.sock
mkdir -p "$DOC" "$TMP/nginx"

CUR_PIDS=()   # the front server running now (main + children)
FPM_PIDS=()   # php-fpm (master + children)
cleanup() {
  stop_tree CUR_PIDS
  stop_tree FPM_PIDS
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PAGE=/hello.php
# shellcheck disable=SC2016
printf '%s\n' '<?php echo "hello ", $_SERVER['"'"'REQUEST_URI'"'"'];' > "$DOC/hello.php"
chmod 644 "$DOC/hello.php"
EXPECT="hello $PAGE"

# --- php-fpm ---------------------------------------------------------------------
cat > "$TMP/php-fpm.conf" <<EOF
[global]
error_log = $TMP/fpm.log
daemonize = no
pid = $TMP/fpm.pid

[bench]
listen = $SOCK
listen.mode = 0666
listen.backlog = 511
pm = static
pm.max_children = $CHILDREN
pm.max_requests = 0
catch_workers_output = no
clear_env = yes
EOF

start_fpm() {
  local args=(-F -n -y "$TMP/php-fpm.conf" -d output_buffering=0)
  (( $(id -u) == 0 )) && args+=(-R)
  "${LOAD_PIN[@]}" "$FPM" "${args[@]}" > "$TMP/fpm.out" 2>&1 &
  local pid=$! i
  FPM_PIDS=("$pid")
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || { sed 's/^/    /' "$TMP/fpm.out" "$TMP/fpm.log" >&2 2>/dev/null; return 1; }
    if [[ -S $SOCK ]] && python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$SOCK" 2>/dev/null; then
      sleep 0.3
      mapfile -t FPM_PIDS < <(tree_pids "$pid")
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# php-fpm's CPU ticks: the COUNTER wrk_measure samples around each run.
fpm_ticks() { cpu_ticks "${FPM_PIDS[@]}"; }

# --- Front servers ------------------------------------------------------------------
write_pillar_conf() {  # port
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
MaxKeepAliveRequests 0
KeepAliveTimeout 60
<FilesMatch \.php$>
    SetHandler "proxy:unix:$SOCK|fcgi://localhost"
</FilesMatch>
EOF
}

# The CGI/1.1 variables Pillar sends for a GET (src/fastcgi/cgi_env.cpp),
# each with nginx's variable for it; HTTP_* for the request fields nginx adds
# itself (fastcgi_pass_request_headers on). try_files checks the script
# exists, as Pillar does before it runs one.
write_nginx_conf() {  # port
  cat > "$TMP/nginx.conf" <<EOF
$(nginx_conf_head nginx)
    access_log off;
    keepalive_timeout 60s;
    keepalive_requests 1000000000;
    upstream php {
        server unix:$SOCK;
        keepalive $NGINX_KEEPALIVE;
    }
    server {
        listen 127.0.0.1:$1 backlog=4096;
        server_name localhost;
        root $DOC;
        location ~ \.php\$ {
            try_files \$fastcgi_script_name =404;
            fastcgi_pass php;
            fastcgi_keep_conn on;
            fastcgi_param CONTENT_TYPE          \$content_type if_not_empty;
            fastcgi_param CONTENT_LENGTH        \$content_length if_not_empty;
            fastcgi_param SERVER_SIGNATURE      "";
            fastcgi_param SERVER_SOFTWARE       nginx/\$nginx_version;
            fastcgi_param SERVER_NAME           \$host;
            fastcgi_param SERVER_ADDR           \$server_addr;
            fastcgi_param SERVER_PORT           \$server_port;
            fastcgi_param REMOTE_ADDR           \$remote_addr;
            fastcgi_param DOCUMENT_ROOT         \$document_root;
            fastcgi_param REQUEST_SCHEME        \$scheme;
            fastcgi_param CONTEXT_PREFIX        "";
            fastcgi_param CONTEXT_DOCUMENT_ROOT \$document_root;
            fastcgi_param HTTPS                 \$https if_not_empty;
            fastcgi_param SCRIPT_FILENAME       \$document_root\$fastcgi_script_name;
            fastcgi_param REMOTE_PORT           \$remote_port;
            fastcgi_param GATEWAY_INTERFACE     CGI/1.1;
            fastcgi_param SERVER_PROTOCOL       \$server_protocol;
            fastcgi_param REQUEST_METHOD        \$request_method;
            fastcgi_param QUERY_STRING          \$query_string;
            fastcgi_param REQUEST_URI           \$request_uri;
            fastcgi_param SCRIPT_NAME           \$fastcgi_script_name;
        }
    }
}
EOF
}

check_page() {  # SRV PORT
  local got
  got=$(curl -s --max-time 10 -w ' %{http_code}' "http://127.0.0.1:$2$PAGE")
  [[ $got == "$EXPECT 200" ]] && return 0
  note "$1: GET $PAGE answered '${got:-nothing}', expected '$EXPECT' with 200"
  return 1
}

declare -A R     # R[srv|rN.metric] = value
NOTES=()

# one_round SRV ROUND CMD...: start the front, check it, warm-up + measured
# run, check again, stop it. Records rN.rps/.p99/.cpu/.busy and rN.fpm.
one_round() {
  local srv=$1 round=$2 port; shift 2
  port=$(free_port)
  "write_${srv}_conf" "$port"
  start_server "$srv" "$port" SRV_PIN "$@" || { stop_tree CUR_PIDS; return 1; }
  if ! check_page "$srv" "$port"; then stop_tree CUR_PIDS; return 1; fi
  note "$srv: round $round"
  if wrk_measure "$srv" "r$round" "http://127.0.0.1:$port$PAGE" fpm_ticks; then
    (( WRK_REQS > 0 )) && R[$srv|r$round.fpm]=$(awk -v t="$WRK_DELTA" -v hz="$CLK_TCK" -v n="$WRK_REQS" \
      'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  fi
  local ok=0
  kill -0 "${CUR_PIDS[0]}" 2>/dev/null || { note "$srv died during the run"; CUR_PIDS=(); return 1; }
  check_page "$srv" "$port" || ok=1
  stop_tree CUR_PIDS
  return $ok
}

median() {  # values... -> the median (the mean of the middle two for an even count), or empty
  (( $# )) || return 0
  printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
    if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2;
    if (m == int(m)) printf "%d", m; else printf "%.1f", m }'
}

# collect SRV METRIC: the rounds' values, space-separated.
collect() {
  local srv=$1 m=$2 i out=()
  for ((i = 1; i <= ROUNDS; i++)); do
    [[ -n ${R[$srv|r$i.$m]:-} ]] && out+=("${R[$srv|r$i.$m]}")
  done
  echo "${out[*]}"
}

# --- Run ---------------------------------------------------------------------------
note "placement: $PLACEMENT; wrk -t1 -c$CONNS, ${WARMUP}s warm-up + ${DURATION}s, $ROUNDS rounds"
START=$SECONDS
start_fpm || die "php-fpm did not start"
note "php-fpm: $CHILDREN children on $SOCK"

port=$(free_port); write_pillar_conf "$port"
"$PILLAR" -t -f "$TMP/pillar.conf" > /dev/null 2>&1 || {
  "$PILLAR" -t -f "$TMP/pillar.conf"; die "pillar rejected the benchmark configuration"; }
HAVE_NGINX=1
command -v nginx >/dev/null || { HAVE_NGINX=0; NOTES+=("nginx is not installed (scripts/install-deps bench)"); }

for ((r = 1; r <= ROUNDS; r++)); do
  if ! one_round pillar "$r" "$PILLAR" -f "$TMP/pillar.conf"; then
    for f in "$TMP/pillar.out" "$TMP/pillar-error.log" "$TMP/fpm.log"; do
      [[ -s $f ]] && { echo "--- ${f##*/} (last 20 lines)"; tail -n 20 "$f"; } >&2
    done
    die "pillar failed to start or to answer through FastCGI"
  fi
  if (( HAVE_NGINX )); then
    one_round nginx "$r" nginx -p "$TMP/nginx" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" || {
      NOTES+=("nginx could not be benchmarked (see messages above)"); HAVE_NGINX=0; }
  fi
done

kill -0 "${FPM_PIDS[0]}" 2>/dev/null || NOTES+=("php-fpm died during the run")
# (Running as root without User is what the benchmark does on purpose: not a note.)
pillar_warnings() { grep -iE 'error|crit|alert|emerg|warn' "$TMP/pillar-error.log" 2>/dev/null | grep -v 'running as root with no User'; }
if [[ -n $(pillar_warnings) ]]; then
  NOTES+=("pillar error log: $(pillar_warnings | wc -l) warning/error lines, e.g. $(pillar_warnings | head -3 | tr '\n' ' ')")
fi
grep -qE '\[(error|crit|alert|emerg)\]' "$TMP/nginx-error.log" 2>/dev/null &&
  NOTES+=("nginx error log: $(grep -E '\[(error|crit|alert|emerg)\]' "$TMP/nginx-error.log" | head -2 | tr '\n' ' ')")
grep -qiE 'WARNING|ERROR' "$TMP/fpm.log" 2>/dev/null &&
  NOTES+=("php-fpm log: $(grep -iE 'WARNING|ERROR' "$TMP/fpm.log" | head -2 | tr '\n' ' ')")

# --- Report --------------------------------------------------------------------------
ROWS=(
  "requests/s|rps|higher"
  "p99 ms|p99|lower"
  "front CPU us/request|cpu|lower"
  "front CPU %|busy|info"
  "php-fpm CPU us/request|fpm|info"
)
echo
echo "FastCGI: pillar vs nginx $(nginx -v 2>&1 | sed 's|.*/||') in front of one php-fpm $("$FPM" -v 2>/dev/null | awk 'NR==1 {print $2}') pool ($CHILDREN children, pm static, unix socket)"
echo "$PLACEMENT; wrk -t1 -c$CONNS -d${DURATION}s GET $PAGE; keep-alive both sides (FCGI_KEEP_CONN; nginx keepalive $NGINX_KEEPALIVE); no access logs"
echo "median of $ROUNDS rounds (pillar and nginx alternating); took $((SECONDS - START)) s"
echo
fmt="%-24s %10s %10s %13s  %s\n"
printf "$fmt" measure pillar nginx pillar/nginx better
printf "$fmt" "------------------------" ---------- ---------- ------------- ------
for row in "${ROWS[@]}"; do
  IFS='|' read -r label key better <<< "$row"
  # shellcheck disable=SC2046
  p=$(median $(collect pillar "$key")) n=$(median $(collect nginx "$key"))
  if [[ $better == info ]]; then rn=-; better="(not a score)"; else rn=$(ratio "$p" "$n"); fi
  printf "$fmt" "$label" "${p:-n/a}" "${n:-n/a}" "$rn" "$better"
done
echo
echo "rounds, front CPU us/request: pillar $(collect pillar cpu); nginx $(collect nginx cpu)"
echo "(front CPU: the front server's process tree only; php-fpm's is its own row. better: higher ="
echo " a ratio above 1 favours pillar; lower = a ratio below 1 favours pillar. The target: front CPU"
echo " us/request ratio at most 1.)"
if (( ${#NOTES[@]} )); then
  echo
  echo "Notes:"
  printf '  - %s\n' "${NOTES[@]}"
fi
exit 0
