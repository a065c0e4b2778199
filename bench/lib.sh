# Helpers shared by the benchmarks in bench/ (sourced, not run).

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# --- Process-tree helpers ------------------------------------------------------
# nginx does its work in child processes, so CPU and memory are summed over the
# whole tree under the pid we started.
tree_pids() {
  local p=$1 c
  echo "$p"
  for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree_pids "$c"; done
}

ratio() {  # a b -> a/b with 2 decimals, or n/a
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'
}


CLK_TCK=$(getconf CLK_TCK)

# make_test_files DOC: the 1 KiB text and 100 KiB random file every benchmark
# serves (random so nobody wins by compressing), read once into the page
# cache before anyone is timed; sets FILES (name|path|bytes per test).
make_test_files() {
  head -c 1024 /dev/zero | tr '\0' 'x' > "$1/index.html"
  head -c $((100 * 1024)) /dev/urandom > "$1/100k.bin"
  chmod 644 "$1"/*
  cat "$1"/* > /dev/null
  FILES=("1k|/index.html|1024" "100k|/100k.bin|102400")
}

# ---- shared by bench/proxy and bench/cache (they set TMP and CUR_PIDS) ----

# cpu_ticks PID...: utime+stime+cutime+cstime summed, in clock ticks.
# (Fields 14-17 of /proc/PID/stat; everything after the ')' that closes comm.)
cpu_ticks() {
  local total=0 p line f
  for p in "$@"; do
    line=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    read -r -a f <<< "${line##*) }"
    total=$(( total + f[11] + f[12] + f[13] + f[14] ))
  done
  echo "$total"
}

# Refreshes CUR_PIDS with whatever the cache's main process has forked since
# (Varnish's manager starts its child after the socket already accepts);
# pids already known are kept.
refresh_pids() {
  (( ${#CUR_PIDS[@]} )) || return 0
  mapfile -t CUR_PIDS < <({ tree_pids "${CUR_PIDS[0]}"; printf '%s\n' "${CUR_PIDS[@]:1}"; } | awk '!seen[$0]++')
}

# --- Starting and stopping -------------------------------------------------------
# start_server NAME PORT PINVAR CMD... : starts CMD under the pinning in the
# array named PINVAR, waits until the port accepts (at most 10 s), and records
# its process tree in CUR_PIDS. Returns 1 if it never came up.
start_server() {
  local name=$1 port=$2; local -n pin=$3; shift 3
  "${pin[@]}" "$@" > "$TMP/$name.out" 2>&1 &
  local pid=$!
  CUR_PIDS=("$pid")
  local i
  for ((i = 0; i < 100; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      note "$name exited during start-up:"; sed 's/^/    /' "$TMP/$name.out" >&2
      CUR_PIDS=(); return 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      sleep 0.3   # let masters finish forking their workers before we list the tree
      mapfile -t CUR_PIDS < <(tree_pids "$pid")
      return 0
    fi
    sleep 0.1
  done
  note "$name did not accept connections on port $port within 10 s"
  return 1
}

# stop_tree ARRAYNAME: TERM to the main process (the array's first pid), then
# KILL whatever of its tree is left after 5 s; empties the array.
stop_tree() {
  local -n pids=$1
  (( ${#pids[@]} )) || return 0
  local main=${pids[0]} i p
  mapfile -t pids < <(tree_pids "$main"; printf '%s\n' "${pids[@]}")
  kill -TERM "$main" 2>/dev/null
  for ((i = 0; i < 50; i++)); do kill -0 "$main" 2>/dev/null || break; sleep 0.1; done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  wait "$main" 2>/dev/null
  pids=()
}

# check_answers NAME PORT: every test file comes back 200 and byte-exact.
check_answers() {
  local srv=$1 port=$2 f name path bytes got ok=0
  for f in "${FILES[@]}"; do
    IFS='|' read -r name path bytes <<< "$f"
    rm -f "$TMP/got"
    got=$(curl -s -o "$TMP/got" --max-time 10 -w '%{http_code} %{size_download}' "http://127.0.0.1:$port$path")
    if [[ $got != "200 $bytes" ]]; then
      note "$srv: GET $path answered '${got:-nothing}', expected '200 $bytes'"
      ok=1
    elif ! cmp -s "$TMP/got" "$DOC$path"; then
      note "$srv: GET $path: 200 with $bytes bytes, but not the origin's file"
      ok=1
    fi
  done
  return $ok
}

# wrk_measure SRV TEST URL COUNTER: a warm-up run, then the measured run with
# the server's CPU time (CUR_PIDS) sampled around it. Records TEST.rps, .p99,
# .cpu and .busy in R (an associative array the caller declares), notes wrk
# errors in NOTES, and leaves in WRK_REQS the requests made and in
# WRK_DELTA how much the command COUNTER's number grew over the run.
# Returns 1 when wrk gave no result.
wrk_measure() {
  local srv=$1 test=$2 url=$3 counter=$4
  "${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"${WARMUP}s" --timeout 10s "$url" > /dev/null 2>&1
  refresh_pids
  local t0 t1 c0 c1 out
  c0=$($counter)
  t0=$(cpu_ticks "${CUR_PIDS[@]}")
  out=$("${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency "$url" 2>&1)
  refresh_pids
  t1=$(cpu_ticks "${CUR_PIDS[@]}")
  c1=$($counter)
  local reqs rps
  reqs=$(awk '/requests in/ {print $1; exit}' <<< "$out")
  rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2; exit}' <<< "$out")
  if [[ -z $reqs || -z $rps ]]; then
    NOTES+=("$srv $test: wrk produced no result: $(tr '\n' ' ' <<< "$out" | cut -c1-200)")
    return 1
  fi
  WRK_REQS=$reqs
  WRK_DELTA=$(( c1 - c0 ))
  R[$srv|$test.rps]=$rps
  R[$srv|$test.p99]=$(awk '$1 == "99%" {v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
    f = (u == "us") ? 0.001 : (u == "s") ? 1000 : (u == "m") ? 60000 : 1; printf "%.2f", v * f; exit}' <<< "$out")
  (( reqs > 0 )) && R[$srv|$test.cpu]=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$reqs" \
    'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  # Share of its CPU the server used: well under 100 % means it was not the
  # bottleneck (origin + wrk on their CPU were), so req/s says little about it.
  R[$srv|$test.busy]=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v d="$DURATION" \
    'BEGIN {printf "%.0f", t / hz / d * 100}')
  local errs
  errs=$(grep -E 'Socket errors|Non-2xx' <<< "$out" | tr -s ' \n' ' ')
  [[ -n $errs ]] && NOTES+=("$srv $test: $errs")
  return 0
}

# nginx_conf_head NAME [WORKERS] [CONNECTIONS]: the lines every benchmark's
# nginx.conf starts with (foreground, its error log and pid as $TMP/NAME-*,
# its temporary files under $TMP/NAME/), up to and including "http {".
nginx_conf_head() {
  local name=$1 workers=${2:-1} conns=${3:-4096}
  cat <<EOF
daemon off;
master_process on;
worker_processes $workers;
worker_rlimit_nofile $NOFILE;
error_log $TMP/$name-error.log warn;
pid $TMP/$name.pid;
events { worker_connections $conns; }
http {
    client_body_temp_path $TMP/$name/body;
    proxy_temp_path $TMP/$name/proxy;
    fastcgi_temp_path $TMP/$name/fastcgi;
    uwsgi_temp_path $TMP/$name/uwsgi;
    scgi_temp_path $TMP/$name/scgi;
EOF
}

# write_origin_conf PORT [HTTP_LINES] [SERVER_LINES]: the nginx origin of the
# proxy and cache benchmarks in $TMP/origin.conf: 1 worker, keep-alive without
# a request cap, sendfile, no access log unless HTTP_LINES sets one; DOC as root.
write_origin_conf() {
  cat > "$TMP/origin.conf" <<EOF
$(nginx_conf_head origin)
    types { text/html html; application/octet-stream bin; }
    default_type application/octet-stream;
    ${2:-access_log off;}
    sendfile on;
    keepalive_timeout 60s;
    keepalive_requests 1000000000;
    server {
        listen 127.0.0.1:$1 backlog=4096;
        root $DOC;
        index index.html;
        ${3:-}
    }
}
EOF
}

# pin_two_cpus SERVER_ROLE LOAD_ROLE: SRV_PIN and LOAD_PIN (taskset prefixes)
# put the server under test on one allowed CPU and the load (wrk, origins)
# on another, so the server's CPU time is its own; PLACEMENT says which.
# With fewer than two CPUs (or no taskset) both are empty and PLACEMENT says
# the numbers are rough.
pin_two_cpus() {
  local server=$1 load=$2
  mapfile -t ALLOWED < <(python3 -c 'import os; print(*sorted(os.sched_getaffinity(0)), sep="\n")')
  SRV_PIN=() LOAD_PIN=()
  if command -v taskset >/dev/null && (( ${#ALLOWED[@]} >= 2 )); then
    SRV_PIN=(taskset -c "${ALLOWED[0]}")
    LOAD_PIN=(taskset -c "${ALLOWED[1]}")
    PLACEMENT="$server on CPU ${ALLOWED[0]}, $load on CPU ${ALLOWED[1]}"
  else
    PLACEMENT="no pinning (${#ALLOWED[@]} CPU) - $server and $load share the CPU, numbers are rough"
  fi
}
