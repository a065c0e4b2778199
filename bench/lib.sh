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

