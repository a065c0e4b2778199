#!/usr/bin/env bash
# Static-file benchmark: Pillar against nginx and h2o on the same machine.
#
#   bench/static/run.sh build/pillar          (what `make bench` runs)
#   DURATION=10 bench/static/run.sh build/pillar
#
# Environment (defaults in brackets):
#   DURATION   seconds of each measured wrk run [5]
#   WARMUP     seconds of the unmeasured wrk run before each one [1]
#   CONNS      wrk connections [50]
#   IDLE_CONNS idle keep-alive connections for the memory test [10000]
#   ACCESS_LOG 1 = every server writes a common-format access log to a file,
#              0 = none does [1]. All three or none, so nobody gets a free ride.
#
# For each server, one at a time so they never compete for the CPU, it measures
# requests/s and server CPU time per request for a 1 KiB, a 100 KiB and a 10 MiB
# file over keep-alive connections, the same for the 1 KiB file with
# `Connection: close`, and the memory held with IDLE_CONNS idle keep-alive
# connections open (plus whether a fresh request is still answered quickly).
#
# Requests/s on a shared or noisy machine moves a lot from run to run; CPU µs
# per request (the server's own utime+stime divided by the requests it served)
# does not depend on how much CPU the server got, so it is the number to watch.
#
# Exit status: non-zero only if Pillar fails to start or to answer. A peer that
# is missing or broken is reported as n/a and the run goes on.
set -uo pipefail   # deliberately no -e: one failing measurement must not stop the rest

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

PILLAR=${1:-build/pillar}
[[ -x $PILLAR ]] || die "pillar binary '$PILLAR' not found or not executable (run make build)"
PILLAR=$(realpath "$PILLAR")

DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-50}
IDLE_CONNS=${IDLE_CONNS:-10000}
ACCESS_LOG=${ACCESS_LOG:-1}

for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || die "$tool is missing; run scripts/install-deps bench"
done

# The idle-connection test needs one descriptor per connection on both sides;
# children (servers and the python client) inherit this limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)
if (( NOFILE < IDLE_CONNS + 100 )); then
  note "open-file limit is $NOFILE; idle test lowered to $((NOFILE - 100)) connections"
  IDLE_CONNS=$((NOFILE - 100))
fi

# --- CPU placement -----------------------------------------------------------
# With two or more CPUs the server gets one and the load generator another, so
# wrk never steals cycles from the server it measures. Use the CPUs we are
# actually allowed to run on (containers may hand us e.g. 4 and 7, not 0 and 1).
pin_two_cpus server "wrk"

# --- Scratch directory, cleaned up with every server stopped on any exit -------
TMP=$(mktemp -d /tmp/pillar-bench.XXXXXX)
chmod 755 "$TMP"   # nginx workers drop to 'nobody' when started as root and must read the docroot
DOC=$TMP/docroot
mkdir -p "$DOC" "$TMP/nginx"

CUR_PIDS=()     # every pid of the server currently running (main + children)
HOLDER_PID=""   # the python process holding the idle connections

cleanup() {
  [[ -n $HOLDER_PID ]] && kill -KILL "$HOLDER_PID" 2>/dev/null
  stop_server
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM   # turn Ctrl-C into a normal exit so the EXIT trap runs

# --- Test files ----------------------------------------------------------------
make_test_files "$DOC"
head -c $((10 * 1024 * 1024)) /dev/urandom > "$DOC/10m.bin"   # static only: a large file
chmod 644 "$DOC/10m.bin"
cat "$DOC/10m.bin" > /dev/null
FILES+=("10m|/10m.bin|10485760")



# utime+stime+cutime+cstime of the current server's processes, in clock ticks.
# (Fields 14-17 of /proc/PID/stat; everything after the ')' that closes comm,
# because comm may itself contain spaces.)
cpu_ticks() {
  local total=0 p line f
  for p in "${CUR_PIDS[@]}"; do
    line=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    read -r -a f <<< "${line##*) }"
    total=$(( total + f[11] + f[12] + f[13] + f[14] ))
  done
  echo "$total"
}

# Resident memory of the current server's processes, in KiB.
rss_kib() {
  local total=0 p v
  for p in "${CUR_PIDS[@]}"; do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)
    total=$(( total + ${v:-0} ))
  done
  echo "$total"
}

# --- Starting and stopping servers --------------------------------------------
# start_server NAME PORT CMD... : starts it pinned, waits until the port accepts
# (at most 10 s), and records its process tree. Returns 1 if it never came up.
start_server() {
  local name=$1 port=$2; shift 2
  "${SRV_PIN[@]}" "$@" > "$TMP/$name.out" 2>&1 &
  local pid=$!
  CUR_PIDS=("$pid")
  local i
  for ((i = 0; i < 100; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      note "$name exited during start-up:"; sed 's/^/    /' "$TMP/$name.out" >&2
      CUR_PIDS=(); return 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      sleep 0.3   # let nginx finish forking its workers before we list the tree
      mapfile -t CUR_PIDS < <(tree_pids "$pid")
      return 0
    fi
    sleep 0.1
  done
  note "$name did not accept connections on port $port within 10 s"
  return 1
}

# Stops the current server: TERM to the main process, then KILL whatever of
# its tree is left after 5 s (so no worker outlives a crashed master).
stop_server() {
  (( ${#CUR_PIDS[@]} )) || return 0
  local main=${CUR_PIDS[0]} i p
  mapfile -t CUR_PIDS < <(tree_pids "$main"; printf '%s\n' "${CUR_PIDS[@]}")
  kill -TERM "$main" 2>/dev/null
  for ((i = 0; i < 50; i++)); do kill -0 "$main" 2>/dev/null || break; sleep 0.1; done
  for p in "${CUR_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  wait "$main" 2>/dev/null
  CUR_PIDS=()
}

# --- Server configurations -------------------------------------------------------
# Common ground for all three: 2 worker processes with one event loop each
# (pillar: StartServers 2, EventThreadsPerChild 1; nginx: worker_processes 2), keep-alive on with a 60 s idle timeout
# (the idle test must not be cut short) and no per-connection request cap,
# sendfile where the server has it, default everything else.

write_pillar_conf() {  # port
  {
    echo "Listen 127.0.0.1:$1"
    echo "DocumentRoot $DOC"
    echo "StartServers 2"
    echo "EventThreadsPerChild 1"
    echo "PidFile $TMP/pillar.pid"
    echo "KeepAlive On"
    echo "KeepAliveTimeout 60"
    echo "MaxKeepAliveRequests 0"
    echo "EnableSendfile On"
    echo "ErrorLog $TMP/pillar-error.log"
    (( ACCESS_LOG )) && echo "CustomLog $TMP/pillar-access.log common"
  } > "$TMP/pillar.conf"
}

write_nginx_conf() {  # port
  local log="access_log off;"
  # Buffered like pillar's (which writes from a separate thread every 100 ms);
  # unbuffered nginx would pay a write() per request that pillar does not.
  (( ACCESS_LOG )) && log="access_log $TMP/nginx-access.log common buffer=64k flush=1s;"
  cat > "$TMP/nginx.conf" <<EOF
$(nginx_conf_head nginx 2 $((NOFILE - 100)))
    types { text/html html; application/octet-stream bin; }
    default_type application/octet-stream;
    log_format common '\$remote_addr - \$remote_user [\$time_local] "\$request" \$status \$body_bytes_sent';
    $log
    sendfile on;
    keepalive_timeout 60s;
    keepalive_requests 1000000000;
    server {
        listen 127.0.0.1:$1;
        root $DOC;
        index index.html;
    }
}
EOF
}

write_h2o_conf() {  # port
  # h2o 2.2 has no sendfile for plain HTTP/1; it reads files into its buffers.
  # http1-request-timeout is also its keep-alive idle timeout.
  {
    echo "num-threads: 2"
    echo "max-connections: $((NOFILE - 100))"
    echo "http1-request-timeout: 60"
    echo "error-log: $TMP/h2o-error.log"
    echo "pid-file: $TMP/h2o.pid"
    echo "user: $(id -un)"
    if (( ACCESS_LOG )); then
      echo "access-log:"
      echo "  path: $TMP/h2o-access.log"
      echo "  format: '%h %l %u %t \"%r\" %s %b'"
    fi
    echo "listen:"
    echo "  host: 127.0.0.1"
    echo "  port: $1"
    echo "hosts:"
    echo "  default:"
    echo "    paths:"
    echo "      /:"
    echo "        file.dir: $DOC"
  } > "$TMP/h2o.conf"
}

# --- Measurements ----------------------------------------------------------------
declare -A R        # R[server|test] = value
NOTES=()            # anything odd seen along the way, printed after the table

# bench_wrk SERVER TEST URL [wrk args...]: a warm-up run, then the measured run
# with the server's CPU time sampled around it. Records TEST.rps and TEST.cpu.
bench_wrk() {
  local srv=$1 test=$2 url=$3; shift 3
  # --timeout: 50 parallel 10 MiB responses can take more than wrk's default 2 s each.
  "${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"${WARMUP}s" --timeout 30s "$@" "$url" > /dev/null 2>&1
  local t0 t1 out
  t0=$(cpu_ticks)
  out=$("${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 30s --latency "$@" "$url" 2>&1)
  t1=$(cpu_ticks)
  local reqs rps
  reqs=$(awk '/requests in/ {print $1; exit}' <<< "$out")
  rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2; exit}' <<< "$out")
  if [[ -z $reqs || -z $rps ]]; then
    NOTES+=("$srv $test: wrk produced no result: $(tr '\n' ' ' <<< "$out" | cut -c1-200)")
    return
  fi
  R[$srv|$test.rps]=$rps
  # p99 from wrk's latency distribution, normalised to milliseconds.
  R[$srv|$test.p99]=$(awk '$1 == "99%" {v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
    f = (u == "us") ? 0.001 : (u == "s") ? 1000 : (u == "m") ? 60000 : 1; printf "%.2f", v * f; exit}' <<< "$out")
  (( reqs > 0 )) && R[$srv|$test.cpu]=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$reqs" \
    'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  # wrk only counts completed responses; errors and non-2xx mean the numbers lie.
  local errs
  errs=$(grep -E 'Socket errors|Non-2xx' <<< "$out" | tr -s ' \n' ' ')
  [[ -n $errs ]] && NOTES+=("$srv $test: $errs")
}

# The idle-connection holder: opens N keep-alive connections in batches with
# non-blocking sockets, sends one GET on each and reads the whole response
# (so every connection has really been through a request and is now idle),
# reports "opened OK failed F", then holds them. SIGUSR1 makes it report how
# many the server still keeps open; it exits on SIGTERM or after 120 s.
cat > "$TMP/idle_conns.py" <<'PY'
import collections, os, resource, selectors, signal, socket, sys, time

host, port, n, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
req = f"GET /index.html HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: keep-alive\r\n\r\n".encode()

def complete(buf):
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1").lower().split("\r\n")
    if not head[0].startswith("http/1.1 200"):
        raise ConnectionError("got " + head[0][:40])
    cl = [h.split(":", 1)[1] for h in head[1:] if h.startswith("content-length:")]
    if not cl:
        return False
    return len(buf) >= end + 4 + int(cl[0]) or None

held, failed = [], 0
why = collections.Counter()   # failure reasons, reported with the count
sel = selectors.DefaultSelector()
BATCH = 500   # stay well under the listen backlog so no SYN is dropped and retried after 1 s
while len(held) + failed < n:
    pending = {}
    for _ in range(min(BATCH, n - len(held) - failed)):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect((host, port))
        except BlockingIOError:
            pass
        except OSError as e:
            failed += 1
            why["connect: " + (e.strerror or str(e))] += 1
            s.close()
            continue
        pending[s] = bytearray()
        sel.register(s, selectors.EVENT_WRITE)
    deadline = time.monotonic() + 10
    while pending and time.monotonic() < deadline:
        for key, ev in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                if ev & selectors.EVENT_WRITE:
                    s.send(req)   # a few dozen bytes: always fits the socket buffer
                    sel.modify(s, selectors.EVENT_READ)
                    continue
                data = s.recv(65536)
                if not data:
                    raise ConnectionError("closed")
                pending[s] += data
                done = complete(pending[s])
                if done is None:
                    continue
                if done is False:
                    raise ConnectionError("bad response")
                sel.unregister(s)
                del pending[s]
                held.append(s)
            except BlockingIOError:
                pass
            except OSError as e:
                sel.unregister(s)
                del pending[s]
                s.close()
                failed += 1
                why[e.strerror or str(e)] += 1
    for s in pending:   # no answer within 10 s
        sel.unregister(s)
        s.close()
        failed += 1
        why["no response in 10 s"] += 1

def alive(s):
    try:
        return s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False

def on_usr1(*_):
    with open(out, "a") as f:
        f.write(f"alive {sum(alive(s) for s in held)}\n")

signal.signal(signal.SIGUSR1, on_usr1)
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))   # the kernel closes the sockets
with open(out + ".tmp", "w") as f:
    f.write(f"opened {len(held)} failed {failed} {dict(why) if why else ''}\n")
os.replace(out + ".tmp", out)   # appears whole, never half-written
end = time.monotonic() + 120
while time.monotonic() < end:
    time.sleep(0.2)
PY

# idle_test SERVER PORT: RSS before and with IDLE_CONNS idle connections, and
# the latency of a fresh request while they are held.
idle_test() {
  local srv=$1 port=$2 out=$TMP/idle.$1 i
  sleep 1   # let the load-test connections close and the server settle
  local before
  before=$(rss_kib)
  "${LOAD_PIN[@]}" python3 "$TMP/idle_conns.py" 127.0.0.1 "$port" "$IDLE_CONNS" "$out" \
    > "$TMP/idle.$srv.log" 2>&1 &
  HOLDER_PID=$!
  for ((i = 0; i < 600; i++)); do   # at most 60 s
    [[ -s $out ]] && break
    kill -0 "$HOLDER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [[ ! -s $out ]]; then
    NOTES+=("$srv idle: the connection holder did not finish: $(head -c 300 "$TMP/idle.$srv.log")")
    kill -KILL "$HOLDER_PID" 2>/dev/null; wait "$HOLDER_PID" 2>/dev/null; HOLDER_PID=""
    return
  fi
  local opened failed reasons
  read -r _ opened _ failed reasons < "$out"
  sleep 1   # idle means idle: give the server time to park the connections
  local with
  with=$(rss_kib)
  # A fresh client must still get a prompt answer with all those connections open.
  local probe
  probe=$(curl -s -o /dev/null --max-time 5 -w '%{http_code} %{time_total}' \
    "http://127.0.0.1:$port/index.html")
  kill -USR1 "$HOLDER_PID" 2>/dev/null
  for ((i = 0; i < 50; i++)); do grep -q '^alive' "$out" && break; sleep 0.1; done
  local still
  still=$(awk '/^alive/ {print $2}' "$out")
  kill -TERM "$HOLDER_PID" 2>/dev/null; wait "$HOLDER_PID" 2>/dev/null; HOLDER_PID=""

  R[$srv|rss.before]=$(awk -v k="$before" 'BEGIN {printf "%.1f", k / 1024}')
  R[$srv|rss.idle]=$(awk -v k="$with" 'BEGIN {printf "%.1f", k / 1024}')
  (( opened > 0 )) && R[$srv|rss.perconn]=$(awk -v a="$before" -v b="$with" -v n="$opened" \
    'BEGIN {printf "%.2f", (b - a) / n}')
  if [[ ${probe%% *} == 200 ]]; then
    R[$srv|probe]=$(awk -v t="${probe#* }" 'BEGIN {printf "%.1f", t * 1000}')
  else
    NOTES+=("$srv idle: a fresh request with $opened connections held got '${probe:-nothing}'")
  fi
  (( opened < IDLE_CONNS )) && NOTES+=("$srv idle: only $opened of $IDLE_CONNS connections opened ($failed failed: $reasons)")
  [[ -n $still && $still -lt $opened ]] && NOTES+=("$srv idle: server closed $((opened - still)) of $opened idle connections during the test")
}

# check_answers SERVER PORT: every test file comes back 200 with the right size.
check_answers() {
  local srv=$1 port=$2 f name path bytes got ok=0
  for f in "${FILES[@]}"; do
    IFS='|' read -r name path bytes <<< "$f"
    got=$(curl -s -o /dev/null --max-time 10 -w '%{http_code} %{size_download}' "http://127.0.0.1:$port$path")
    if [[ $got != "200 $bytes" ]]; then
      note "$srv: GET $path answered '${got:-nothing}', expected '200 $bytes'"
      ok=1
    fi
  done
  return $ok
}

# bench_server NAME CMD...: the whole series against one server.
bench_server() {
  local srv=$1 port=$2; shift 2
  note "$srv: starting on 127.0.0.1:$port"
  start_server "$srv" "$port" "$@" || { stop_server; return 1; }
  if ! check_answers "$srv" "$port"; then stop_server; return 1; fi
  local f name path bytes
  for f in "${FILES[@]}"; do
    IFS='|' read -r name path bytes <<< "$f"
    note "$srv: $name keep-alive"
    bench_wrk "$srv" "$name" "http://127.0.0.1:$port$path"
  done
  note "$srv: 1k Connection: close"
  bench_wrk "$srv" close "http://127.0.0.1:$port/index.html" -H 'Connection: close'
  note "$srv: $IDLE_CONNS idle keep-alive connections"
  idle_test "$srv" "$port"
  # A server that died under load must not look like a fast one.
  kill -0 "${CUR_PIDS[0]}" 2>/dev/null || { note "$srv died during the run"; CUR_PIDS=(); return 1; }
  check_answers "$srv" "$port" || { stop_server; return 1; }
  stop_server
}

# --- Run ---------------------------------------------------------------------------
note "placement: $PLACEMENT; wrk -t1 -c$CONNS, ${WARMUP}s warm-up + ${DURATION}s per test; access log $( ((ACCESS_LOG)) && echo on || echo off)"
START=$SECONDS

port=$(free_port); write_pillar_conf "$port"
"$PILLAR" -t -f "$TMP/pillar.conf" > /dev/null 2>&1 || {
  "$PILLAR" -t -f "$TMP/pillar.conf"; die "pillar rejected the benchmark configuration"; }
if ! bench_server pillar "$port" "$PILLAR" -f "$TMP/pillar.conf"; then
  # TMP goes away on exit, so show what pillar said before dying.
  for f in "$TMP/pillar.out" "$TMP/pillar-error.log"; do
    [[ -s $f ]] && { echo "--- ${f##*/} (last 20 lines)"; tail -n 20 "$f"; } >&2
  done
  die "pillar failed to start or to answer"
fi
[[ -s $TMP/pillar-error.log ]] && grep -qiE 'error|crit|alert|emerg' "$TMP/pillar-error.log" &&
  NOTES+=("pillar error log: $(grep -iE 'error|crit|alert|emerg' "$TMP/pillar-error.log" | head -3 | tr '\n' ' ')")

if command -v nginx >/dev/null; then
  port=$(free_port); write_nginx_conf "$port"
  # -e: nginx opens its default error log before reading the config; keep it in TMP too.
  bench_server nginx "$port" nginx -p "$TMP/nginx" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" ||
    NOTES+=("nginx could not be benchmarked (see messages above)")
else
  NOTES+=("nginx is not installed (scripts/install-deps bench)")
fi

if command -v h2o >/dev/null; then
  port=$(free_port); write_h2o_conf "$port"
  bench_server h2o "$port" h2o -c "$TMP/h2o.conf" ||
    NOTES+=("h2o could not be benchmarked (see messages above)")
else
  NOTES+=("h2o is not installed (scripts/install-deps bench)")
fi

# --- Report --------------------------------------------------------------------------
# test label | key | unit | direction (hi = higher is better, lo = lower is better)
ROWS=(
  "1 KiB keep-alive|1k.rps|req/s|hi"
  "100 KiB keep-alive|100k.rps|req/s|hi"
  "10 MiB keep-alive|10m.rps|req/s|hi"
  "1 KiB Connection: close|close.rps|req/s|hi"
  "1 KiB keep-alive|1k.p99|p99 ms|lo"
  "100 KiB keep-alive|100k.p99|p99 ms|lo"
  "1 KiB Connection: close|close.p99|p99 ms|lo"
  "1 KiB keep-alive|1k.cpu|CPU us/req|lo"
  "100 KiB keep-alive|100k.cpu|CPU us/req|lo"
  "10 MiB keep-alive|10m.cpu|CPU us/req|lo"
  "1 KiB Connection: close|close.cpu|CPU us/req|lo"
  "RSS after load, idle|rss.before|MiB|lo"
  "RSS with $IDLE_CONNS idle conns|rss.idle|MiB|lo"
  "RSS per idle conn|rss.perconn|KiB|lo"
  "fresh GET while held|probe|ms|lo"
)

echo
echo "Static files: pillar vs nginx $(nginx -v 2>&1 | sed 's|.*/||') vs h2o $(h2o -v 2>/dev/null | awk 'NR==1 {print $3}')"
echo "$PLACEMENT; wrk -t1 -c$CONNS -d${DURATION}s; access log $( ((ACCESS_LOG)) && echo on || echo off); took $((SECONDS - START)) s"
echo "req/s: higher is better. CPU us/req, MiB, KiB, ms: lower is better."
echo
fmt="%-34s %-11s %10s %10s %10s %13s %11s\n"
printf "$fmt" test unit pillar nginx h2o pillar/nginx pillar/h2o
printf "$fmt" "$(printf '%.0s-' {1..34})" "-----------" ---------- ---------- ---------- ------------- -----------
for row in "${ROWS[@]}"; do
  IFS='|' read -r label key unit _ <<< "$row"
  p=${R[pillar|$key]:-} n=${R[nginx|$key]:-} h=${R[h2o|$key]:-}
  printf "$fmt" "$label" "$unit" "${p:-n/a}" "${n:-n/a}" "${h:-n/a}" "$(ratio "$p" "$n")" "$(ratio "$p" "$h")"
done
echo
echo "(ratios: req/s rows higher is better for pillar; all other rows lower is better)"
if (( ${#NOTES[@]} )); then
  echo
  echo "Notes:"
  printf '  - %s\n' "${NOTES[@]}"
fi
exit 0
