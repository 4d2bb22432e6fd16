# Starts the registries the end-to-end cases push to, on 127.0.0.1 (ctest fixture setup):
# plain HTTP; HTTPS with a test CA and htpasswd (user/pass: tester/tester-pass); HTTPS with
# token auth from tokenserver.py (its realm HTTPS too, on its own port: airlock sends it the
# credentials with --trust-realm $TOKENREALM only); HTTPS that wants a client certificate
# (mutual TLS). Writes $REGROOT/env for the cases; registry_down.sh stops them by the PIDs
# recorded here.
set -euo pipefail
: "${REGROOT:?}" "${E2E_SRC:?}"
[ -f "$REGROOT/pids" ] && bash "$E2E_SRC/registry_down.sh" || true
rm -rf "$REGROOT"
mkdir -p "$REGROOT"
cd "$REGROOT"
PY=/usr/bin/python3
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P1=$(free_port); P2=$(free_port); P3=$(free_port); P4=$(free_port); TP=$(free_port)

# a CA, a server certificate for 127.0.0.1/localhost, a token signing certificate
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
    -days 2 -subj "/CN=airlock test CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr \
    -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 \
    -extfile san.ext 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout token.key \
    -out token.crt -days 2 -subj "/CN=airlock test token issuer" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client.key -out client.csr \
    -subj "/CN=airlock test client" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2 \
    -extfile client.ext 2>/dev/null
htpasswd -Bbc htpasswd tester tester-pass 2>/dev/null

conf() { # NAME PORT EXTRA
    cat > "$1.yml" <<EOC
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $REGROOT/$1-data}
  delete: {enabled: true}
http:
  addr: 127.0.0.1:$2
  secret: airlock-test
$3
EOC
}
conf plain "$P1" ""
conf tls "$P2" "  tls: {certificate: $REGROOT/server.crt, key: $REGROOT/server.key}
auth:
  htpasswd: {realm: test, path: $REGROOT/htpasswd}"
conf token "$P3" "  tls: {certificate: $REGROOT/server.crt, key: $REGROOT/server.key}
auth:
  token: {realm: https://127.0.0.1:$TP/token, service: test-registry, issuer: test-issuer, rootcertbundle: $REGROOT/token.crt}"
conf mtls "$P4" "  tls: {certificate: $REGROOT/server.crt, key: $REGROOT/server.key, clientcas: [$REGROOT/ca.crt]}"

for n in plain tls token mtls; do
    setsid docker-registry serve "$n.yml" > "$n.log" 2>&1 < /dev/null &
    echo $! >> pids
done
# the token server speaks HTTPS with the registries' certificate, as a real realm does
setsid "$PY" "$E2E_SRC/tokenserver.py" "$TP" token.key token.crt server.crt server.key \
    > tokenserver.log 2>&1 < /dev/null &
echo $! >> pids

wait_up() { # URL [curl args]
    for _ in $(seq 1 100); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "$@" 2>/dev/null || true)
        case $code in 200 | 401) return 0 ;; esac
        sleep 0.1
    done
    echo "registry at $1 did not start" >&2
    cat ./*.log >&2
    exit 1
}
wait_up "http://127.0.0.1:$P1/v2/"
wait_up "https://127.0.0.1:$P2/v2/" --cacert ca.crt
wait_up "https://127.0.0.1:$P3/v2/" --cacert ca.crt
wait_up "https://127.0.0.1:$P4/v2/" --cacert ca.crt --cert client.crt --key client.key
wait_up "https://127.0.0.1:$TP/token" --cacert ca.crt
cat > env <<EOF2
PLAIN=127.0.0.1:$P1
TLSREG=127.0.0.1:$P2
TOKENREG=127.0.0.1:$P3
TOKENREALM=https://127.0.0.1:$TP
MTLSREG=127.0.0.1:$P4
CA=$REGROOT/ca.crt
CLIENT_CERT=$REGROOT/client.crt
CLIENT_KEY=$REGROOT/client.key
EOF2
echo "registries up: plain $P1, tls+htpasswd $P2, token $P3, mtls $P4"
