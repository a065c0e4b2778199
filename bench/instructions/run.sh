#!/usr/bin/env bash
# Instructions per request, counted by callgrind: stable where wall-clock and
# CPU-time benchmarks are not (shared VMs move those by tens of percent from
# run to run). For one or two Pillar binaries it prints the instructions a
# worker executes per 1 KiB keep-alive request for a static file, a proxied
# request and a cache hit, and the ratio of the second binary to the first.
#
#   bench/instructions/run.sh build/pillar
#   bench/instructions/run.sh OLD/pillar build/pillar     (before -> after)
#
# Method: the server runs under valgrind --tool=callgrind (following the
# worker it forks) with one worker; a client sends N1 and then, on a fresh
# server, N2 requests over one keep-alive connection; the worker's count for
# N2 minus that for N1, divided by N2 - N1, is the cost of one request
# without start-up and shutdown. The origin of the proxied and cached paths
# is a second Pillar, not under valgrind.
#
# Environment: N1 [500], N2 [3500].
set -uo pipefail

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

(( $# >= 1 && $# <= 2 )) || die "usage: $0 PILLAR [PILLAR2]"
for tool in valgrind python3 curl; do
  command -v "$tool" >/dev/null || die "$tool is missing; run scripts/install-deps bench"
done
N1=${N1:-500}
N2=${N2:-3500}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TMP=$(mktemp -d)
ORIGIN_PID=
cleanup() {
  [[ -n $ORIGIN_PID ]] && kill "$ORIGIN_PID" 2>/dev/null && wait "$ORIGIN_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

mkdir -p "$TMP/www"
head -c 1024 /dev/zero | tr '\0' 'x' > "$TMP/www/1k.txt"
ORIGIN_PORT=$(free_port)
cat > "$TMP/origin.conf" <<C
Listen 127.0.0.1:$ORIGIN_PORT
ServerName localhost
DocumentRoot $TMP/www
StartServers 1
MaxKeepAliveRequests 0
PidFile $TMP/origin.pid
C
# The origin: the first binary (any will do; it is not measured).
"$1" -f "$TMP/origin.conf" >/dev/null 2>&1 &
ORIGIN_PID=$!
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$ORIGIN_PORT/1k.txt" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$ORIGIN_PORT/1k.txt" || die "the origin did not start"

# count BINARY N PATH: the worker's instruction count for N requests of PATH.
count() {
  local bin=$1 n=$2 path=$3 port d
  port=$(free_port)
  d=$(mktemp -d -p "$TMP")
  cat > "$d/conf" <<C
Listen 127.0.0.1:$port
ServerName localhost
DocumentRoot $TMP/www
StartServers 1
MaxKeepAliveRequests 0
PidFile $d/pid
<Proxy balancer://o>
BalancerMember http://127.0.0.1:$ORIGIN_PORT
</Proxy>
ProxyPass /p/ balancer://o/
ProxyPass /c/ balancer://o/
CacheSize 16M
CacheEnable mem /c/
CacheDefaultExpire 3600
CacheHeuristic On
C
  valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$d/cg.%p" "$bin" -f "$d/conf" >/dev/null 2>"$d/vg.log" &
  local vg=$!
  for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$port$path" && break; sleep 0.2; done
  python3 "$HERE/client.py" "$port" "$n" "$path" || { kill "$vg"; wait "$vg"; return 1; }
  local master
  master=$(cat "$d/pid")
  kill -TERM "$master"
  wait "$vg"
  local f best=0 ir
  for f in "$d"/cg.*; do
    [[ $f == "$d/cg.$master" ]] && continue
    ir=$(awk '/^summary:/ { print $2; exit }' "$f")
    (( ir > best )) && best=$ir
  done
  echo "$best"
}

per_request() {  # BINARY PATH
  local a b
  a=$(count "$1" "$N1" "$2") || return 1
  b=$(count "$1" "$N2" "$2") || return 1
  echo $(( (b - a) / (N2 - N1) ))
}

declare -A R
for bin in "$@"; do
  for t in "static|/1k.txt" "proxied|/p/1k.txt" "cache hit|/c/1k.txt"; do
    note "$(basename "$(dirname "$(realpath "$bin")")")/$(basename "$bin"): ${t%%|*}"
    R["$bin|${t%%|*}"]=$(per_request "$bin" "${t#*|}") || die "$bin failed on ${t#*|}"
  done
done

echo
echo "Instructions per 1 KiB keep-alive request (callgrind, one worker; N=$N2-$N1)"
printf '%-12s %14s' test "${1##*/wt/}"
(( $# == 2 )) && printf ' %14s %8s' "${2##*/wt/}" ratio
echo
for t in static proxied "cache hit"; do
  printf '%-12s %14s' "$t" "${R["$1|$t"]}"
  (( $# == 2 )) && printf ' %14s %8s' "${R["$2|$t"]}" "$(ratio "${R["$2|$t"]}" "${R["$1|$t"]}")"
  echo
done
