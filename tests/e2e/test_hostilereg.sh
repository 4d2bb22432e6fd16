# A hostile registry (hostileregistry.py): token realms of other protocols and origins, endless
# bodies, giant headers, redirect loops and redirects elsewhere. Each case: a clear failure (or
# a success that leaks nothing), no hang (every airlock call runs under timeout 60), and the
# side listener's log shows where airlock went and what it sent.
. "$(dirname "$0")/lib.sh"

HPID=
stop_server() { [ -z "$HPID" ] || { kill "$HPID" 2>/dev/null; wait "$HPID" 2>/dev/null; } || true; }
trap 'stop_server; cleanup' EXIT

# a CA and a certificate for 127.0.0.1 in the case's directory
make_ca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
        -out ca.crt -days 2 -subj "/CN=hostile test CA" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
        -out server.csr -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt \
        -days 2 -extfile san.ext 2>/dev/null
}

# start MODE [tls]: the hostile registry at 127.0.0.1:$P, its side listener at 127.0.0.1:$SIDE
start() {
    mkdir -p h
    if [ "${2:-}" = tls ]; then
        make_ca
        "$PY" "$E2E_SRC/hostileregistry.py" "$1" h server.crt server.key &
    else
        "$PY" "$E2E_SRC/hostileregistry.py" "$1" h &
    fi
    HPID=$!
    for _ in $(seq 1 100); do [ -f h/port ] && break; sleep 0.1; done
    [ -f h/port ] || fail "the hostile registry did not start"
    P=$(cat h/port)
    SIDE=$(cat h/side)
}

al() { run timeout 60 "$AIRLOCK" "$@"; }
failed_not_hung() {
    [ "$rc" != 0 ] || fail "succeeded"
    [ "$rc" != 124 ] || fail "hung (killed by timeout)"
}
log_has() { grep -qF -- "$1" h/log || fail "the server saw no '$1': $(cat h/log)"; }
log_lacks() { ! grep -qF -- "$1" h/log || fail "the server saw '$1': $(cat h/log)"; }
logged() { grep -c -- "$1" h/log || true; }

case_realm_gopher_refused() {
    start realm-gopher
    al export --plain-http "127.0.0.1:$P/repo:1" -o e.tar
    expect_rc 4
    err_has "token realm 'gopher://127.0.0.1:$SIDE/"
    err_has "not an http or https URL"
    sleep 0.5
    log_lacks side-connect
}

case_realm_file_refused() {
    start realm-file
    al export --plain-http "127.0.0.1:$P/repo:1" -o e.tar
    expect_rc 4
    err_has "token realm 'file://"
    log_lacks FILE-SECRET
}

# credentials go to a token realm at the registry's origin only: not in clear text to an http://
# realm of an https registry, not to another port, unless --trust-realm names that origin
realm_elsewhere() { # MODE SCHEME
    start "$1" tls
    al export --ca-file ca.crt --username u --password-stdin "127.0.0.1:$P/repo:1" -o e.tar <<< p
    expect_rc 2
    err_has "token realm '$2://127.0.0.1:$SIDE/token'"
    err_has "--trust-realm $2://127.0.0.1:$SIDE"
    log_lacks "auth=Basic"
    [ ! -e e.tar ] || fail "exported"
    # anonymous: nothing to leak, the token is fetched
    al export --ca-file ca.crt "127.0.0.1:$P/repo:1" -o e.tar
    expect_rc 0
    log_lacks "auth=Basic"
    rm -f e.tar
    # asked for: sent there
    al export --ca-file ca.crt --trust-realm "$2://127.0.0.1:$SIDE" --username u --password-stdin \
        "127.0.0.1:$P/repo:1" -o e.tar <<< p
    expect_rc 0
    log_has "side GET /token?service=hostile&scope=repository%3Arepo%3Apull auth=Basic dTpw"
}
case_realm_plain_http_of_https_registry_gets_no_credentials() { realm_elsewhere realm-http http; }
case_realm_other_origin_gets_no_credentials() { realm_elsewhere realm-https https; }

case_trust_realm_must_be_http_or_https() {
    al export --trust-realm file:///etc "127.0.0.1:1/repo:1" -o e.tar
    expect_rc 2
    err_has "trusted token realm 'file:///etc' is not an http:// or https:// URL"
}

case_upload_location_gopher_refused() {
    make_bundle b.tar
    start upload-gopher
    al push --no-verify --plain-http b.tar "127.0.0.1:$P/repo"
    failed_not_hung
    err_has "gopher"
    sleep 0.5
    log_lacks side-connect
}

case_endless_404_ends() {
    start endless-404
    start_s=$(date +%s)
    al export --plain-http --stall-timeout 5 "127.0.0.1:$P/repo:1" -o e.tar
    failed_not_hung
    err_has "'127.0.0.1:$P/repo:1' is not in the registry"
    [ $(($(date +%s) - start_s)) -lt 20 ] || fail "took too long"
}

case_endless_token_ends() {
    start endless-token
    start_s=$(date +%s)
    al export --plain-http --stall-timeout 2 "127.0.0.1:$P/repo:1" -o e.tar
    failed_not_hung
    err_has "'http://127.0.0.1:$P/token"
    err_has "not complete within 4 s"
    [ $(($(date +%s) - start_s)) -lt 20 ] || fail "took too long"
}

case_token_with_crlf_refused() {
    start token-crlf
    al export --plain-http "127.0.0.1:$P/repo:1" -o e.tar
    failed_not_hung
    err_has "token server 'http://127.0.0.1:$P/token': no usable token in the answer"
    log_lacks injected-header-arrived
}

header_cap() { # MODE
    start "$1"
    al export --plain-http "127.0.0.1:$P/repo:1" -o e.tar
    failed_not_hung
    err_has "GET 'http://127.0.0.1:$P/v2/repo/manifests/1': response header"
    ! grep -qi "out of memory" "$T/err" || fail "says out of memory"
    [ "$(logged 'GET /v2/repo/manifests/1 ')" = 1 ] || fail "asked again: $(cat h/log)"
}
case_big_header_named_not_retried() { header_cap big-header; }
case_many_headers_named_not_retried() { header_cap many-headers; }
case_headers_like_status_lines_counted() { header_cap fake-status; }

case_redirect_loop_bounded() {
    start redirect-loop
    al export --plain-http "127.0.0.1:$P/repo:1" -o e.tar
    failed_not_hung
    err_has "redirects"
    [ "$(logged 'GET /v2/repo/blobs/')" -le 20 ] || fail "followed $(logged 'GET /v2/repo/blobs/') times"
}

case_redirect_with_endless_body_ends() {
    start redirect-endless
    start_s=$(date +%s)
    al export --plain-http --stall-timeout 2 --retries 1 "127.0.0.1:$P/repo:1" -o e.tar
    failed_not_hung
    [ $(($(date +%s) - start_s)) -lt 20 ] || fail "took too long"
}

case_redirect_ftp_refused() {
    start redirect-ftp
    al export --plain-http --retries 1 "127.0.0.1:$P/repo:1" -o e.tar
    failed_not_hung
    err_has "ftp"
    sleep 0.5
    log_lacks side-connect
}

# blobs redirect to storage elsewhere: the registry's token or Basic credentials stay behind
redirect_auth() { # MODE
    start "$1" tls
    al export --ca-file ca.crt --username u --password-stdin "127.0.0.1:$P/repo:1" -o e.tar <<< p
    expect_rc 0
    log_has "side GET /blob auth=-"
    log_lacks "side GET /blob auth=B"
}
case_redirect_token_stays_home() {
    redirect_auth redirect-auth
    log_has "auth=Bearer hostile-token"
}
case_redirect_basic_stays_home() {
    redirect_auth redirect-basic
    log_has "auth=Basic dTpw"
}

main "$@"
