#!/usr/bin/env bash
# testssl.sh against Pillar's default TLS setup: nothing rated HIGH or
# CRITICAL.
#
#   bench/tls/testssl.sh build/pillar
#   CHECKS="-p -P" bench/tls/testssl.sh build/pillar   # a subset
#
# Pillar runs with a vhost that sets only SSLEngine and two certificates
# (RSA 2048 and ECDSA P-256, self-signed, made in the scratch directory),
# so every other TLS setting is Pillar's default. testssl (Debian package
# testssl.sh) runs CHECKS (default: protocols, cipher categories, forward
# secrecy, server preferences, server defaults, vulnerabilities, HTTP
# headers) and writes its JSON; the script prints every finding above INFO
# and exits 1 if one is HIGH or CRITICAL, except those about the test
# certificate itself (self-signed, short-lived, no OCSP/CRL URI: ids
# cert_chain_of_trust, cert_expirationStatus, cert_notAfter,
# cert_revocation, cert_trust), which are listed apart.
#
# Not a test: it takes 3-8 minutes on the shared 2-CPU machine (testssl
# opens hundreds of connections with openssl s_client, most of the time
# spent in its own start-up and client processes), more than a test may.
set -uo pipefail

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

PILLAR=${1:-build/pillar}
[[ -x $PILLAR ]] || die "pillar binary '$PILLAR' not found or not executable (run make build)"
PILLAR=$(realpath "$PILLAR")
CHECKS=${CHECKS:--p -s -f -P -S -U -h}
TESTSSL=$(command -v testssl || command -v testssl.sh) || die "testssl is missing; run scripts/install-deps bench"

TMP=$(mktemp -d /tmp/pillar-testssl.XXXXXX)
CUR_PIDS=()
cleanup() {
  stop_tree CUR_PIDS
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$TMP/doc"
echo hello > "$TMP/doc/index.html"
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 365 -keyout "$TMP/rsa.key" -out "$TMP/rsa.crt" \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" > /dev/null 2>&1 || die "openssl req (RSA) failed"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 365 -keyout "$TMP/ec.key" \
  -out "$TMP/ec.crt" -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" > /dev/null 2>&1 ||
  die "openssl req (ECDSA) failed"

PORT=$(free_port)
cat > "$TMP/pillar.conf" <<EOF
Listen 127.0.0.1:$PORT https
StartServers 1
ServerLimit 1
PidFile $TMP/pillar.pid
ErrorLog $TMP/error.log
DocumentRoot $TMP/doc
Protocols h2 http/1.1
<VirtualHost *:$PORT>
    ServerName localhost
    SSLEngine on
    SSLCertificateFile $TMP/rsa.crt
    SSLCertificateKeyFile $TMP/rsa.key
    SSLCertificateFile $TMP/ec.crt
    SSLCertificateKeyFile $TMP/ec.key
</VirtualHost>
EOF
"$PILLAR" -t -f "$TMP/pillar.conf" > "$TMP/check.out" 2>&1 || { cat "$TMP/check.out" >&2; die "pillar rejected the configuration"; }
NOPIN=()
start_server pillar "$PORT" NOPIN "$PILLAR" -f "$TMP/pillar.conf" || die "pillar did not start"

note "testssl $CHECKS against pillar on 127.0.0.1:$PORT (takes minutes)"
START=$SECONDS
# shellcheck disable=SC2086 # CHECKS is a list of options
"$TESTSSL" --quiet --warnings off --color 0 --severity LOW --jsonfile "$TMP/testssl.json" $CHECKS \
  "127.0.0.1:$PORT" > "$TMP/testssl.out" 2>&1
rc=$?
[[ -s $TMP/testssl.json ]] || { tail -n 30 "$TMP/testssl.out" >&2; die "testssl wrote no JSON (exit $rc)"; }
kill -0 "${CUR_PIDS[0]}" 2>/dev/null || die "pillar died during the scan"

echo "testssl $("$TESTSSL" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -1) $CHECKS against pillar's defaults; took $((SECONDS - START)) s"
python3 - "$TMP/testssl.json" <<'PY'
import json, sys
CERT_ONLY = {"cert_chain_of_trust", "cert_expirationStatus", "cert_notAfter", "cert_revocation", "cert_trust"}
findings = json.load(open(sys.argv[1]))
bad, cert, other = [], [], []
for f in findings:
    sev = f.get("severity", "")
    if sev in ("INFO", "OK", "DEBUG"):
        continue
    line = f"{sev:8} {f.get('id', '?')}: {f.get('finding', '')}"
    if sev in ("HIGH", "CRITICAL"):
        (cert if f.get("id", "").split()[0] in CERT_ONLY else bad).append(line)
    else:
        other.append(line)
for title, rows in (("HIGH/CRITICAL", bad), ("about the self-signed test certificate (ignored)", cert),
                    ("LOW/MEDIUM/WARN", other)):
    print(f"\n{title}: {len(rows)}")
    for r in rows:
        print("  " + r)
sys.exit(1 if bad else 0)
PY
