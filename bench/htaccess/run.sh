#!/usr/bin/env bash
# .htaccess cost: CPU per request for a 1 KiB file six directories deep,
#   none   AllowOverride None
#   empty  AllowOverride All, no .htaccess anywhere
#   files  AllowOverride All, an .htaccess at every level (a harmless
#          ErrorDocument each, so every file is parsed, merged and kept)
# each with PillarHtaccessCheck watch (the default: a walk remembered until
# inotify reports a change), 0 (every level stat'ed on every request, as
# Apache) and 1 (a walk remembered for 1 s), and Apache's own cost
# for the same three trees beside it when apache2 is installed.
#
#   bench/htaccess/run.sh build/pillar
#   DURATION=10 bench/htaccess/run.sh build/pillar
#
# CPU µs/request (the server's utime+stime over the run divided by the
# requests wrk counted) is the number to read; req/s moves with the machine.
set -uo pipefail

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

PILLAR=${1:-build/pillar}
[[ -x $PILLAR ]] || die "pillar binary '$PILLAR' not found or not executable (run make build)"
PILLAR=$(realpath "$PILLAR")
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-20}
for tool in wrk curl python3; do command -v "$tool" >/dev/null || die "$tool is missing"; done

pin_two_cpus server "wrk"

TMP=$(mktemp -d /tmp/pillar-bench-htaccess.XXXXXX)
chmod 755 "$TMP"
CUR_PIDS=()
cleanup() { stop_tree CUR_PIDS; rm -rf "$TMP"; }
trap cleanup EXIT

# Three trees: the same six levels, with or without a file at each.
DEEP=a/b/c/d/e/f
for tree in none empty files; do
  mkdir -p "$TMP/$tree/$DEEP"
  head -c 1024 /dev/zero | tr '\0' 'x' > "$TMP/$tree/$DEEP/index.html"
done
level=$TMP/files
for part in "" a b c d e f; do
  [[ -n $part ]] && level=$level/$part
  printf 'ErrorDocument 404 "not here (%s)"\n' "${part:-root}" > "$level/.htaccess"
done
chmod -R a+rX "$TMP"

declare -A R
NOTES=()
counter() { echo 0; }

measure() {  # NAME PORT
  local name=$1 port=$2 url="http://127.0.0.1:$2/$DEEP/index.html"
  local got
  got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url")
  if [[ $got != 200 ]]; then
    NOTES+=("$name: $url answered ${got:-nothing}")
    return 1
  fi
  wrk_measure "$name" deep "$url" counter
}

pillar_conf() {  # TREE ALLOW CHECK PORT
  cat <<EOF
Listen 127.0.0.1:$4
ServerName localhost
StartServers 1
ServerLimit 1
EventThreadsPerChild 1
PidFile $TMP/pillar.pid
ErrorLog $TMP/pillar-error.log
DocumentRoot "$TMP/$1"
PillarHtaccessCheck $3
<Directory "$TMP/$1">
  AllowOverride $2
</Directory>
EOF
}

for check in watch 0 1; do
  for tree in none empty files; do
    allow=All; [[ $tree == none ]] && allow=None
    port=$(free_port)
    pillar_conf "$tree" "$allow" "$check" "$port" > "$TMP/pillar.conf"
    name="pillar-$tree-check$check"
    if start_server "$name" "$port" SRV_PIN "$PILLAR" -f "$TMP/pillar.conf"; then
      measure "$name" "$port"
      stop_tree CUR_PIDS
    else
      NOTES+=("$name did not start")
    fi
  done
done

APACHE=$(command -v apache2 || echo /usr/sbin/apache2)
if [[ -x $APACHE ]]; then
  MODS=/usr/lib/apache2/modules
  for tree in none empty files; do
    allow=All; [[ $tree == none ]] && allow=None
    port=$(free_port)
    mkdir -p "$TMP/apache-$tree"
    cat > "$TMP/apache-$tree/httpd.conf" <<EOF
ServerRoot "$TMP/apache-$tree"
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule mime_module $MODS/mod_mime.so
LoadModule dir_module $MODS/mod_dir.so
Listen 127.0.0.1:$port
ServerName localhost
PidFile $TMP/apache-$tree/httpd.pid
ErrorLog $TMP/apache-$tree/error.log
DefaultRuntimeDir $TMP/apache-$tree
TypesConfig /etc/mime.types
$( ((EUID == 0)) && printf 'User www-data\nGroup www-data\n' )
StartServers 1
ServerLimit 1
ThreadsPerChild 25
MaxRequestWorkers 25
DocumentRoot "$TMP/$tree"
<Directory />
  AllowOverride None
  Require all granted
</Directory>
<Directory "$TMP/$tree">
  AllowOverride $allow
</Directory>
EOF
    name="apache-$tree"
    if start_server "$name" "$port" SRV_PIN "$APACHE" -X -f "$TMP/apache-$tree/httpd.conf"; then
      measure "$name" "$port"
      stop_tree CUR_PIDS
    else
      NOTES+=("$name did not start (see its output above)")
    fi
  done
else
  NOTES+=("apache2 is not installed: no Apache column")
fi

printf '\n%-26s %10s %14s %12s\n' "server / tree" "req/s" "CPU µs/req" "vs none"
for srv in pillar-{none,empty,files}-check{watch,0,1} apache-none apache-empty apache-files; do
  [[ -n ${R[$srv|deep.cpu]:-} ]] || continue
  case $srv in
    pillar-*) ref=pillar-none-check${srv##*-check} ;;  # the same check mode, AllowOverride None
    *) ref=apache-none ;;
  esac
  printf '%-26s %10s %14s %12s\n' "$srv" "${R[$srv|deep.rps]}" "${R[$srv|deep.cpu]}" \
    "$(ratio "${R[$srv|deep.cpu]}" "${R[$ref|deep.cpu]:-}")"
done
if [[ -n ${R[pillar-none-check0|deep.cpu]:-} && -n ${R[apache-none|deep.cpu]:-} ]]; then
  printf '\npillar/apache, files at every level: %s (watch), %s (0)\n' \
    "$(ratio "${R[pillar-files-checkwatch|deep.cpu]:-}" "${R[apache-files|deep.cpu]:-}")" \
    "$(ratio "${R[pillar-files-check0|deep.cpu]:-}" "${R[apache-files|deep.cpu]:-}")"
fi
for n in "${NOTES[@]}"; do echo "note: $n"; done
