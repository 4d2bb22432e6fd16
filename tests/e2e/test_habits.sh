# The habits of cosign, skopeo and podman users, honoured: their flags accepted with the same
# effect (or refused with the reason), cosign's verify output, login/logout into containers
# auth.json, certs.d, and the mistakes those habits lead to explained.
. "$(dirname "$0")/lib.sh"
F=$FIXTURES
. "$REGROOT/env"
export COSIGN_PASSWORD=test-password
CASE=$(basename "$T" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9')
unset REGISTRY_AUTH_FILE
export XDG_RUNTIME_DIR=$T/run HOME=$T/home DOCKER_CONFIG=$T/home/.docker
mkdir -p "$T/run" "$T/home"

keys() { [ -f cosign.key ] || "$AIRLOCK" keygen 2>/dev/null; }

# cosign's transparency-log and signing-config flags: the offline value accepted and said in
# one line, the value that asks for the log or the services refused with the reason
case_cosign_tlog_flags() {
    keys
    make_bundle b.tar
    airlock sign --key cosign.key --tlog-upload=false --use-signing-config=false -y \
        --identity reg.example/x:1 b.tar
    expect_rc 0
    [ "$(grep -c 'airlock never uses a transparency log' "$T/err")" = 2 ] ||
        fail "not one line per flag"
    for f in --tlog-upload --tlog-upload=true --use-signing-config=True; do
        airlock sign --key cosign.key $f b.tar
        expect_rc 2
        err_has "airlock never uses a transparency log (Rekor) or a signing config"
        err_has "only ${f%%=*}=false is accepted"
    done
    airlock sign --key cosign.key --tlog-upload=maybe b.tar
    expect_rc 2
    err_has "bad value 'maybe' for --tlog-upload (true or false)"
    for f in --insecure-ignore-tlog --insecure-ignore-tlog=true --insecure-ignore-tlog=1; do
        airlock verify --key cosign.pub $f b.tar
        expect_rc 0
        err_has "accepted as cosign's; airlock never uses a transparency log"
    done
    airlock verify --key cosign.pub --insecure-ignore-tlog=false b.tar
    expect_rc 2
    err_has "only --insecure-ignore-tlog=true is accepted"
    airlock verify --key cosign.pub --new-bundle-format=false b.tar
    expect_rc 0
    err_has "airlock checks both formats"
}

# --new-bundle-format=false writes the .sig only, =true the bundle only, as cosign 3 does
case_cosign_new_bundle_format() {
    keys
    for v in false true; do
        make_bundle b$v.tar
        airlock sign --key cosign.key --identity reg.example/x:1 --new-bundle-format=$v b$v.tar
        expect_rc 0
        err_has "--new-bundle-format=$v: writing only the"
        airlock verify --key cosign.pub --json b$v.tar
        expect_rc 0
        local fmt
        fmt=$(jq -r '[.images[] | select(.role == "image") | .signatures[].format] | unique | join(",")' "$T/out")
        case $v in
        false) [ "$fmt" = simplesigning ] || fail "--new-bundle-format=false wrote '$fmt'" ;;
        true) [ "$fmt" = sigstore-bundle ] || fail "--new-bundle-format=true wrote '$fmt'" ;;
        esac
    done
}

# --sign-container-identity is --identity; cosign.key / cosign.pub when --key is not given
case_cosign_identity_alias_and_default_keys() {
    keys
    make_bundle b.tar
    airlock sign --sign-container-identity reg.example/team/bb:1.0 b.tar
    expect_rc 0
    err_has "no --key given: using 'cosign.key'"
    # (a cosign.pub beside the bundle is not taken: see default_pubkey_not_from_the_bundles_place)
    mkdir keys && cp cosign.pub keys/ && cd keys
    airlock verify --identity reg.example/team/bb:1.0 ../b.tar
    expect_rc 0
    err_has "no --key given: using 'cosign.pub'"
    err_has "signatures verified"
    airlock verify --identity reg.example/team/other:1.0 ../b.tar
    expect_rc 3
    cd ..
    mkdir none && cd none
    airlock sign ../b.tar
    expect_rc 2
    err_has "missing --key (and no cosign.key here)"
}

# The default cosign.pub is a trust anchor: never taken from where the bundle it would vouch
# for came from (beside it, inside a bundle directory) nor from a directory others can write;
# a hostile stick with its own cosign.pub is not verified with that key
case_default_pubkey_not_from_the_bundles_place() {
    mkdir stick && cd stick
    keys # the attacker's key pair, left on the stick beside the bundle it signed
    make_bundle b.tar
    "$AIRLOCK" sign --key cosign.key --to "$PLAIN/$CASE" b.tar >/dev/null 2>&1 || fail "sign"
    "$AIRLOCK" import -q b.tar -o bdir/ && cp cosign.pub bdir/
    rm cosign.key
    airlock verify --identity "$PLAIN/$CASE/test/busybox:1.0" b.tar
    expect_rc 2
    err_has "not using 'cosign.pub' of the current directory"
    err_has "beside the bundle 'b.tar'"
    airlock push --plain-http b.tar "$PLAIN/$CASE"
    expect_rc 2
    err_has "beside the bundle 'b.tar'"
    airlock tags --plain-http "$PLAIN/$CASE/test/busybox"
    [ "$rc" != 0 ] || ! grep -q 1.0 "$T/out" || fail "pushed with the stick's own key"
    cd bdir
    airlock verify --identity "$PLAIN/$CASE/test/busybox:1.0" .
    expect_rc 2
    err_has "inside the bundle '.'"
    cd ..
    # a directory others can write (like /tmp): no default key from there either
    mkdir ../shared && cp cosign.pub ../shared/ && chmod 1777 ../shared && cd ../shared
    airlock verify --identity "$PLAIN/$CASE/test/busybox:1.0" ../stick/b.tar
    expect_rc 2
    err_has "others can write"
    # the user's own key, kept away from the bundle: the default as cosign names it
    mkdir ../keys && cp ../stick/cosign.pub ../keys/ && cd ../keys
    airlock verify --identity "$PLAIN/$CASE/test/busybox:1.0" ../stick/b.tar
    expect_rc 0
    err_has "no --key given: using 'cosign.pub'"
    airlock push --plain-http ../stick/b.tar "$PLAIN/$CASE"
    expect_rc 0
}

# A bool flag takes its value after '=' only (Go's pflag): "--tls-verify false" would be
# --tls-verify=true and an operand "false"; refused with the right spelling instead
case_bool_value_is_not_a_separate_word() {
    keys
    make_bundle b.tar
    airlock push --key cosign.pub --tls-verify false b.tar "$PLAIN/$CASE"
    expect_rc 2
    err_has "write --tls-verify=false"
    airlock verify --key cosign.pub --insecure-ignore-tlog true b.tar
    expect_rc 2
    err_has "write --insecure-ignore-tlog=true"
    airlock sign --key cosign.key --new-bundle-format False b.tar
    expect_rc 2
    err_has "write --new-bundle-format=False"
    # a bare flag before any other word is fine
    "$AIRLOCK" sign --key cosign.key b.tar >/dev/null 2>&1 || fail "sign"
    airlock verify --key cosign.pub --insecure-ignore-tlog b.tar
    expect_rc 0
}

# verify -o json prints what cosign prints: a blank line, then the payloads as Go's
# json.Marshal of payload.SimpleContainerImage writes them (HTML characters escaped, optional
# keys sorted); cosign's header on stderr. -o text: the payloads as signed.
case_verify_output_like_cosign() {
    keys
    make_bundle b.tar
    airlock sign --key cosign.key --identity 'reg.example/x:1' -a 'z=<a&b>' -a 'a=1' b.tar
    expect_rc 0
    local d
    d=$(cat "$F/L.digest")
    airlock verify --key cosign.pub -o json -a a=1 b.tar
    expect_rc 0
    printf '\n[{"critical":{"identity":{"docker-reference":"reg.example/x:1"},"image":{"docker-manifest-digest":"sha256:%s"},"type":"cosign container image signature"},"optional":{"a":"1","z":"\\u003ca\\u0026b\\u003e"}}]\n' "$d" >want
    cmp -s want "$T/out" || fail "-o json differs from cosign's: $(diff <(cat -A want) <(cat -A "$T/out"))"
    jq -e '.[0].critical.image."docker-manifest-digest" == "sha256:'"$d"'"' "$T/out" >/dev/null ||
        fail "jq cannot read it"
    printf '\nVerification for example.com/test/busybox:1.0 --\nThe following checks were performed on each of these signatures:\n  - The specified annotations were verified.\n  - The cosign claims were validated\n  - The signatures were verified against the specified public key\n' >want.err
    head -c "$(wc -c <want.err)" "$T/err" | cmp -s want.err - || fail "stderr header differs from cosign's"
    airlock verify --key cosign.pub -o text b.tar
    expect_rc 0
    [ "$(head -c 15 "$T/out")" = '{"critical":{"i' ] || fail "-o text is not the payload"
    jq -e '.optional.z == "<a&b>"' "$T/out" >/dev/null || fail "-o text: payload not as signed"
    airlock verify -o json --json --key cosign.pub b.tar
    expect_rc 2
    # the same through a registry, with a docker:// prefix as skopeo writes it
    airlock push --key cosign.pub --identity-check any --plain-http b.tar "docker://$PLAIN/$CASE"
    expect_rc 0
    airlock verify --key cosign.pub -o json --allow-http-registry "docker://$PLAIN/$CASE/test/busybox:1.0"
    expect_rc 0
    cmp -s want "$T/out" || fail "registry -o json differs: $(diff want "$T/out")"
    err_has "Verification for $PLAIN/$CASE/test/busybox:1.0 --"
}

# -o json|text: stdout carries cosign's output of what verified, and nothing when nothing
# did (cosign prints nothing there then), so '| jq' never reads a report line as payloads
case_verify_output_nothing_on_failure() {
    keys
    make_bundle b.tar
    airlock push --no-verify --plain-http b.tar "$PLAIN/$CASE"
    expect_rc 0
    for o in json text; do
        airlock verify --key cosign.pub -o $o --plain-http "$PLAIN/$CASE/test/busybox:1.0"
        expect_rc 3
        out_empty
        err_has "no signature verified"
        airlock verify --key cosign.pub -o $o b.tar
        expect_rc 3
        out_empty
    done
}

# sign given a registry reference says how airlock signs: export, sign, push
case_sign_registry_ref_explains() {
    keys
    for r in "reg.example/repo@sha256:$(cat "$F/L.digest")" docker://reg.example/repo:1 \
        127.0.0.1:5000/a/b:1; do
        airlock sign --key cosign.key "$r"
        expect_rc 2
        err_has "is a registry reference, not a bundle here: airlock signs bundles"
        err_has "airlock export ${r#docker://} -o b.tar"
        err_has "airlock push --key cosign.pub b.tar DEST"
        out_empty
    done
    airlock sign --key cosign.key nosuch.tar
    expect_rc 1
}

# keygen with no terminal and no COSIGN_PASSWORD: an empty stdin is no password on purpose
case_keygen_empty_password_rule() {
    unset COSIGN_PASSWORD
    run "$AIRLOCK" keygen --output-key-prefix a </dev/null
    expect_rc 2
    err_has "refusing to encrypt 'a.key' with an empty password read from stdin"
    [ ! -e a.key ] && [ ! -e a.pub ] || fail "a key was written"
    COSIGN_PASSWORD= run "$AIRLOCK" keygen --output-key-prefix b </dev/null
    expect_rc 0
    [ -f b.key ] || fail "COSIGN_PASSWORD= (empty, set) made no key"
    run "$AIRLOCK" keygen --output-key-prefix c <<<"pw-from-stdin"
    expect_rc 0
    # at a prompt: two empty entries ask; no is no key, yes is one
    cat >ptyrun.py <<'PY'
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.environ.pop("COSIGN_PASSWORD", None)
    os.execv(sys.argv[1], [sys.argv[1], "keygen", "--output-key-prefix", sys.argv[2]])
out = b""
for answer in (b"\n", b"\n", sys.argv[3].encode() + b"\n"):
    deadline = time.time() + 10
    while b"?" not in out[-40:] and b": " not in out[-3:] and time.time() < deadline:
        try:
            out += os.read(fd, 1024)
        except OSError:
            break
    os.write(fd, answer)
    out = b""
try:
    while True:
        c = os.read(fd, 1024)
        if not c:
            break
        out += c
except OSError:
    pass
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.WEXITSTATUS(st))
PY
    run "$PY" ptyrun.py "$AIRLOCK" d n
    expect_rc 2
    out_has "no key written: an empty password was not confirmed"
    [ ! -e d.key ] || fail "an unconfirmed empty password made a key"
    run "$PY" ptyrun.py "$AIRLOCK" e y
    expect_rc 0
    [ -f e.key ] || fail "a confirmed empty password made no key"
    COSIGN_PASSWORD= run "$AIRLOCK" public-key --key e.key
    expect_rc 0
}

# skopeo's and podman's flags: --creds, --tls-verify=false, --authfile, --retry-times,
# docker:// prefixes
case_skopeo_flags() {
    keys
    make_bundle b.tar
    airlock sign --key cosign.key --to "$TLSREG/$CASE" b.tar
    expect_rc 0
    airlock push --key cosign.pub --tls-verify=false --creds tester:tester-pass --retry-times 0 \
        b.tar "docker://$TLSREG/$CASE"
    expect_rc 0
    airlock push --key cosign.pub --tls-verify=true --creds tester:tester-pass b.tar "$TLSREG/$CASE"
    expect_rc 1
    err_has "see --ca-file"
    airlock push --key cosign.pub --ca-file "$CA" --creds tester:wrong b.tar "$TLSREG/$CASE"
    expect_rc 5
    ! grep -qF wrong "$T/err" || fail "the password was printed"
    airlock push --key cosign.pub --ca-file "$CA" --creds tester b.tar "$TLSREG/$CASE" </dev/null
    expect_rc 2
    err_has "--creds USER without :PASS: give the password with --password-stdin"
    run "$AIRLOCK" push --key cosign.pub --ca-file "$CA" --creds tester --password-stdin b.tar \
        "$TLSREG/$CASE" <<<tester-pass
    expect_rc 0
    airlock push --key cosign.pub --ca-file "$CA" --creds tester:x --username y b.tar "$TLSREG/$CASE"
    expect_rc 2
    printf '{"auths":{"%s":{"auth":"%s"}}}' "$TLSREG" "$(printf tester:tester-pass | base64)" >a.json
    airlock digest --ca-file "$CA" --authfile a.json "docker://$TLSREG/$CASE/test/busybox:1.0"
    expect_rc 0
    out_has "sha256:$(cat "$F/L.digest")"
    airlock tags --ca-file "$CA" --authfile a.json "docker://$TLSREG/$CASE/test/busybox"
    expect_rc 0
    out_has "1.0"
    airlock push --key cosign.pub --retry-times 100 b.tar "$TLSREG/$CASE"
    expect_rc 2
}

# credentials where containers/image looks: $XDG_RUNTIME_DIR/containers/auth.json,
# $XDG_CONFIG_HOME/containers/auth.json
case_containers_auth_json_found() {
    keys
    make_bundle b.tar
    airlock sign --key cosign.key --to "$TLSREG/$CASE" b.tar
    airlock push --key cosign.pub --ca-file "$CA" b.tar "$TLSREG/$CASE"
    expect_rc 5
    mkdir -p "$XDG_RUNTIME_DIR/containers"
    printf '{"auths":{"%s":{"auth":"%s"}}}' "$TLSREG" "$(printf tester:tester-pass | base64)" \
        >"$XDG_RUNTIME_DIR/containers/auth.json"
    airlock push --key cosign.pub --ca-file "$CA" b.tar "$TLSREG/$CASE"
    expect_rc 0
    mkdir -p cfg/containers
    mv "$XDG_RUNTIME_DIR/containers/auth.json" cfg/containers/
    XDG_CONFIG_HOME=$T/cfg airlock push --key cosign.pub --ca-file "$CA" b.tar "$TLSREG/$CASE"
    expect_rc 0
}

# login never replaces what it cannot read: an auth file whose "auths" is not an object (a
# newer or hand-edited format) is left as it was, and said
case_login_keeps_an_auth_file_it_cannot_read() {
    local f=$XDG_RUNTIME_DIR/containers/auth.json
    mkdir -p "$(dirname "$f")"
    printf '{"auths":"kept elsewhere","credHelpers":{"x.example":"none"}}' >"$f"
    cp "$f" before.json
    run "$AIRLOCK" login --ca-file "$CA" --username tester --password-stdin "$TLSREG" <<<tester-pass
    expect_rc 2
    err_has "\"auths\" is not a JSON object: not touched"
    cmp -s before.json "$f" || fail "the auth file was replaced: $(cat "$f")"
}

# login / logout round trips against the htpasswd and the token registry; skopeo reads the
# auth.json airlock wrote; other entries are kept; the secret is never printed
case_login_logout_round_trip() {
    keys
    local f=$XDG_RUNTIME_DIR/containers/auth.json
    mkdir -p "$(dirname "$f")"
    printf '{"auths":{"other.example":{"auth":"b3RoZXI6eA=="}},"credHelpers":{"x.example":"none"}}' >"$f"
    run "$AIRLOCK" login --ca-file "$CA" --username tester --password-stdin "$TLSREG" <<<wrong-pass
    expect_rc 5
    err_has "the credentials were refused"
    ! grep -qF wrong-pass "$T/err" "$T/out" || fail "the password was printed"
    jq -e ".auths | has(\"$TLSREG\") | not" "$f" >/dev/null || fail "refused credentials were written"
    run "$AIRLOCK" login --ca-file "$CA" --username tester --password-stdin "docker://$TLSREG" <<<tester-pass
    expect_rc 0
    out_has "Login Succeeded!"
    err_has "written to '$f'"
    ! grep -qF tester-pass "$T/err" "$T/out" || fail "the password was printed"
    [ "$(stat -c %a "$f")" = 600 ] || fail "auth.json mode $(stat -c %a "$f")"
    jq -e '.auths."other.example".auth == "b3RoZXI6eA==" and .credHelpers."x.example" == "none"' "$f" \
        >/dev/null || fail "other entries lost"
    [ "$(jq -r ".auths.\"$TLSREG\".auth" "$f" | base64 -d)" = tester:tester-pass ] || fail "wrong entry"
    no_leftovers "$(dirname "$f")"
    make_bundle b.tar
    airlock sign --key cosign.key --to "$TLSREG/$CASE" b.tar
    airlock push --key cosign.pub --ca-file "$CA" b.tar "$TLSREG/$CASE"
    expect_rc 0
    # skopeo finds it where it looks by default ($XDG_RUNTIME_DIR/containers/auth.json)
    skopeo inspect --tls-verify=false --raw "docker://$TLSREG/$CASE/test/busybox:1.0" >raw \
        2>skopeo.err || fail "skopeo could not read with airlock's auth.json: $(cat skopeo.err)"
    (unset XDG_RUNTIME_DIR; ! skopeo inspect --tls-verify=false --raw \
        "docker://$TLSREG/$CASE/test/busybox:1.0" >/dev/null 2>&1) ||
        fail "skopeo reads the registry without the credentials: the check above proves nothing"
    # the token registry (credentials to its realm with --trust-realm, as for every command)
    run "$AIRLOCK" login --ca-file "$CA" --trust-realm "$TOKENREALM" --username reader \
        --password-stdin "$TOKENREG" <<<bad
    expect_rc 5
    run "$AIRLOCK" login --ca-file "$CA" --trust-realm "$TOKENREALM" --username writer \
        --password-stdin "$TOKENREG" <<<writer-pass
    expect_rc 0
    airlock push --key cosign.pub --identity-check any --ca-file "$CA" --trust-realm "$TOKENREALM" \
        b.tar "$TOKENREG/$CASE"
    expect_rc 0
    airlock logout "$TOKENREG"
    expect_rc 0
    out_has "Removed login credentials for $TOKENREG"
    airlock logout "$TOKENREG"
    expect_rc 1
    err_has "not logged in to '$TOKENREG'"
    airlock logout --authfile "$f" "$TLSREG"
    expect_rc 0
    jq -e '(.auths | keys) == ["other.example"]' "$f" >/dev/null || fail "logout left $(cat "$f")"
    airlock push --key cosign.pub --identity-check any --ca-file "$CA" b.tar "$TLSREG/$CASE-again"
    expect_rc 5
    # --authfile and REGISTRY_AUTH_FILE choose the file
    run "$AIRLOCK" login --ca-file "$CA" --creds tester:tester-pass --authfile mine.json "$TLSREG"
    expect_rc 0
    [ -f mine.json ] && [ "$(stat -c %a mine.json)" = 600 ] || fail "--authfile not written 0600"
    REGISTRY_AUTH_FILE=$T/env.json run "$AIRLOCK" login --ca-file "$CA" --creds tester:tester-pass "$TLSREG"
    expect_rc 0
    [ -f env.json ] || fail "REGISTRY_AUTH_FILE not written"
    echo 'not json' >bad.json
    run "$AIRLOCK" login --ca-file "$CA" --creds tester:tester-pass --authfile bad.json "$TLSREG"
    expect_rc 2
    [ "$(cat bad.json)" = "not json" ] || fail "a broken auth file was replaced"
    run "$AIRLOCK" login --ca-file "$CA" --username tester "$TLSREG" </dev/null
    expect_rc 2
    err_has "give it with --password-stdin"
}

# containers-auth.json(5): a key may name a namespace or a repository, and the most specific
# key for the repository wins (registry/ns/repo, registry/ns, registry); podman login HOST/NS
# writes such a key, airlock login HOST/NS too, and logout HOST/NS / --all remove them
case_auth_json_namespace_keys() {
    keys
    local f=$XDG_RUNTIME_DIR/containers/auth.json good bad
    mkdir -p "$(dirname "$f")"
    good=$(printf tester:tester-pass | base64 -w0)
    bad=$(printf tester:wrong-pass | base64 -w0)
    printf '{"auths":{"%s":{"auth":"%s"},"%s/%s":{"auth":"%s"}}}' "$TLSREG" "$bad" "$TLSREG" \
        "$CASE" "$good" >"$f"
    make_bundle b.tar
    airlock sign --key cosign.key --to "$TLSREG/$CASE" b.tar
    airlock push --key cosign.pub --ca-file "$CA" b.tar "$TLSREG/$CASE"
    expect_rc 0
    # another repository of the registry gets the host's entry, whose password is wrong
    airlock push --key cosign.pub --identity-check any --ca-file "$CA" b.tar "$TLSREG/x$CASE"
    expect_rc 5
    # what podman login HOST/NS writes, airlock reads
    printf '{}' >"$f"
    podman login --authfile "$f" --tls-verify=false -u tester -p tester-pass "$TLSREG/$CASE" \
        >/dev/null 2>podman.err || fail "podman login: $(cat podman.err)"
    jq -e "(.auths | keys) == [\"$TLSREG/$CASE\"]" "$f" >/dev/null || fail "podman wrote $(cat "$f")"
    airlock push --key cosign.pub --ca-file "$CA" b.tar "$TLSREG/$CASE"
    expect_rc 0
    # airlock login HOST/NS (-u as podman's) writes that key; logout HOST/NS removes it only
    printf '{"auths":{"other.example":{"auth":"b3RoZXI6eA=="}}}' >"$f"
    run "$AIRLOCK" login --ca-file "$CA" -u tester --password-stdin "$TLSREG/$CASE" <<<tester-pass
    expect_rc 0
    jq -e "(.auths | keys) == [\"$TLSREG/$CASE\", \"other.example\"]" "$f" >/dev/null ||
        fail "login HOST/NS wrote $(cat "$f")"
    airlock push --key cosign.pub --ca-file "$CA" b.tar "$TLSREG/$CASE"
    expect_rc 0
    airlock logout "$TLSREG/$CASE"
    expect_rc 0
    jq -e '(.auths | keys) == ["other.example"]' "$f" >/dev/null || fail "logout left $(cat "$f")"
    # -p on the command line, as podman and docker take it, with their warning
    run "$AIRLOCK" login --ca-file "$CA" -u tester -p tester-pass "$TLSREG" </dev/null
    expect_rc 0
    err_has "visible to other users"
    ! grep -qF tester-pass "$T/err" "$T/out" || fail "the password was printed"
    airlock logout --all
    expect_rc 0
    jq -e '.auths == {}' "$f" >/dev/null || fail "logout --all left $(cat "$f")"
    # a URL names a registry, whatever its path (docker's https://index.docker.io/v1/)
    run "$AIRLOCK" login --ca-file "$CA" -u tester --password-stdin "https://$TLSREG/v1/" <<<tester-pass
    expect_rc 0
    jq -e "(.auths | keys) == [\"$TLSREG\"]" "$f" >/dev/null || fail "login URL wrote $(cat "$f")"
    # logout of a registry removes every spelling the lookup reads for it, not its namespaces
    printf '{"auths":{"docker.io":{"auth":"eDp5"},"index.docker.io":{"auth":"eDp5"},
      "https://index.docker.io/v1/":{"auth":"eDp5"},"registry-1.docker.io":{"auth":"eDp5"},
      "docker.io/library":{"auth":"eDp5"},"quay.io":{"auth":"eDp5"}}}' >"$f"
    airlock logout docker.io
    expect_rc 0
    jq -e '(.auths | keys) == ["docker.io/library", "quay.io"]' "$f" >/dev/null ||
        fail "logout docker.io left $(cat "$f")"
    # --all on a file that is not there: nothing to remove, and no file made
    airlock logout --all --authfile "$T/none/auth.json"
    expect_rc 1
    [ ! -e "$T/none" ] || fail "logout --all created $(ls -R "$T/none")"
}

# CA and client certificates from certs.d (AIRLOCK_CERTS_DIRS replaces the system roots
# /etc/containers/certs.d:/etc/docker/certs.d for the test)
case_certs_d_ca_and_client_cert() {
    keys
    make_bundle b.tar
    airlock sign --key cosign.key --to "$MTLSREG/$CASE" b.tar
    mkdir -p c1 c2/"$MTLSREG"
    export AIRLOCK_CERTS_DIRS=$T/c1:$T/c2
    airlock push --key cosign.pub b.tar "$MTLSREG/$CASE"
    expect_rc 1
    err_has "see --ca-file"
    cp "$CA" c2/"$MTLSREG"/ca.crt
    airlock push --key cosign.pub b.tar "$MTLSREG/$CASE"
    expect_rc 1
    err_has "client certificate"
    cp "$CLIENT_CERT" c2/"$MTLSREG"/client.cert
    airlock push --key cosign.pub b.tar "$MTLSREG/$CASE"
    expect_rc 2
    err_has "client certificate 'client.cert' has no key 'client.key' (CA certificates end in .crt)"
    cp "$CLIENT_KEY" c2/"$MTLSREG"/client.key
    airlock push --key cosign.pub b.tar "$MTLSREG/$CASE"
    expect_rc 0
    # the first root that has the host's directory is the one used, as containers/image does
    mkdir -p c1/"$MTLSREG"
    airlock push --key cosign.pub b.tar "$MTLSREG/$CASE"
    expect_rc 1
    rmdir c1/"$MTLSREG"
    # the TLS+htpasswd registry: the CA from /etc/docker/certs.d-style dir, no --ca-file
    mkdir -p c2/"$TLSREG" && cp "$CA" c2/"$TLSREG"/ca.crt
    airlock tags --creds tester:tester-pass "$TLSREG/nosuch"
    expect_rc 1
    err_has "does not exist"
}

# sign --to DEST takes the DEST push takes: one push refuses (a tag, a digest, a path that
# already ends with the image's repository) is refused by sign with the same explanation,
# instead of signing identities no push can ever match
case_sign_to_agrees_with_push() {
    keys
    make_bundle b.tar
    for d in "reg.example/team:1" "docker://reg.example/team/bb:1.0"; do
        airlock sign --key cosign.key --to "$d" b.tar
        expect_rc 2
        err_has "names an image (a tag or digest)"
        err_has "use --map SRC=DST"
    done
    airlock sign --key cosign.key --to reg.example/team/busybox b.tar
    expect_rc 2
    err_has "airlock sign: DEST 'reg.example/team/busybox' already ends with the repository of 'example.com/test/busybox:1.0'"
    err_has "--map example.com/test/busybox=team/busybox"
    out_empty
    airlock sign --key cosign.key --to reg.example --map example.com/test/busybox=team/busybox b.tar
    expect_rc 0
    airlock sign --key cosign.key --to docker://reg.example/team b.tar
    expect_rc 0
}

# DEST with a tag or digest explains --map; --insecure against plain HTTP says --plain-http
case_dest_mistakes_explained() {
    keys
    make_bundle b.tar
    airlock sign --key cosign.key --to "$PLAIN/$CASE" b.tar
    for d in "$PLAIN/$CASE/busybox:1.0" "$PLAIN/$CASE/bb@sha256:$(cat "$F/L.digest")"; do
        airlock push --key cosign.pub --plain-http b.tar "$d"
        expect_rc 2
        err_has "names an image (a tag or digest)"
        err_has "use --map SRC=DST"
    done
    # a DEST that is already the image's repository: it would land at DEST/test/busybox
    airlock push --key cosign.pub --plain-http b.tar "$PLAIN/$CASE/busybox"
    expect_rc 2
    err_has "already ends with the repository of 'example.com/test/busybox:1.0': it would be pushed to '$PLAIN/$CASE/busybox/test/busybox'"
    err_has "push to '$PLAIN' with --map example.com/test/busybox=$CASE/busybox"
    airlock push --key cosign.pub --plain-http --identity-check any \
        --map "example.com/test/busybox=$CASE/busybox" b.tar "$PLAIN"
    expect_rc 0
    out_has "$PLAIN/$CASE/busybox:1.0"
    mkdir inbox
    airlock sync --key cosign.pub --to "$PLAIN/x:1" --settle 0 inbox
    expect_rc 2
    err_has "use --map SRC=DST"
    airlock push --key cosign.pub --insecure --retries 1 b.tar "$PLAIN/$CASE"
    expect_rc 1
    err_has "the server speaks plain HTTP, not TLS: use --plain-http"
    airlock push --key cosign.pub --allow-insecure-registry --retries 1 b.tar "$PLAIN/$CASE"
    expect_rc 1
    err_has "use --plain-http"
    airlock push --key cosign.pub --allow-http-registry b.tar "$PLAIN/$CASE"
    expect_rc 0
    # the other way round: plain HTTP to a TLS registry (Go answers 400 "Client sent an HTTP
    # request to an HTTPS server"), said as such instead of a bare HTTP 400
    airlock push --key cosign.pub --plain-http --identity-check any b.tar "$TLSREG/$CASE"
    expect_rc 1
    err_has "as a TLS port answers one: if the registry speaks HTTPS, drop --plain-http"
    airlock digest --plain-http "$TLSREG/$CASE/busybox:1.0"
    expect_rc 1
    err_has "drop --plain-http"
}

# A missing path is a missing bundle, not a Docker Hub image: airlock never expands a short
# name (foo/bar, nginx:1.25) and asks no registry for it. The proxy variables point at a
# closed port, so any request would show in the error.
case_missing_bundle_is_no_short_name() {
    keys
    export http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9
    for p in foo/bar nginx:1.25 library/nginx:latest; do
        for c in "verify --key cosign.pub" "sign --key cosign.key"; do
            airlock $c "$p"
            expect_rc 1
            err_has "open bundle '$p': No such file or directory"
            err_has "airlock does not expand short names to Docker Hub: write docker.io/$p or docker://$p"
            [ "$(grep -c 'Docker Hub' "$T/err")" = 1 ] || fail "not one hint line"
            ! grep -q 'registry-1.docker.io\|127.0.0.1\|proxy' "$T/err" "$T/out" ||
                fail "'$c $p' tried the network"
        done
    done
    # every other command that reads a bundle gives the same hint
    local after
    for c in inspect attestations sbom "split --size 64k" "push --key cosign.pub --plain-http" \
        "serve --key cosign.pub"; do
        case $c in sbom) after=x:1 ;; push*) after=127.0.0.1:9 ;; *) after= ;; esac
        airlock $c nginx:1.25 $after
        [ "$rc" != 0 ] || fail "$c nginx:1.25 did not fail"
        err_has "open bundle 'nginx:1.25': No such file or directory"
        err_has "airlock does not expand short names to Docker Hub: write docker.io/nginx:1.25"
    done
    for p in ./nonexist.tar /nonexist/b.tar reg.example/b.tar reg.example/b.tar.zst \
        reg.example/b.tar.001; do
        airlock verify --key cosign.pub "$p"
        expect_rc 1
        err_has "open bundle '$p': No such file or directory"
        ! grep -q 'Docker Hub\|registry host\|127.0.0.1' "$T/err" || fail "'$p' read as a reference"
    done
    # a host-like first component without a tag or digest is a missing directory bundle
    # (out.d/bundle), not a request to host out.d
    for p in out.d/bundle images-1.2/oci drop.2024/nginx.tar.gz; do
        airlock verify --key cosign.pub "$p"
        expect_rc 1
        err_has "open bundle '$p': No such file or directory"
        err_has "an image in a registry only with its tag or digest ($p:TAG"
        ! grep -q '127.0.0.1\|proxy\|Docker Hub' "$T/err" || fail "'$p' tried the network"
    done
    # an existing path is a bundle whatever it looks like
    mkdir -p reg.example
    make_bundle reg.example/app:1
    airlock verify reg.example/app:1
    expect_rc 0
    # a name with a registry host is a reference: it goes to the network (the closed proxy)
    airlock verify --key cosign.pub --retries 1 reg.example/app:2
    expect_rc 1
    ! grep -q 'open bundle' "$T/err" || fail "reg.example/app:2 not read as a reference"
}

# verify --to DEST takes the DEST push and sync take: one with a tag or digest explains --map
case_verify_to_dest_checked_as_push() {
    keys
    make_bundle b.tar
    for d in registry.internal/devops:1.0 "registry.internal/devops@sha256:$(cat "$F/L.digest")" \
        docker://registry.internal/devops:1.0; do
        airlock verify --key cosign.pub --to "$d" b.tar
        expect_rc 2
        err_has "airlock verify: DEST '${d#docker://}' names an image (a tag or digest)"
        err_has "use --map SRC=DST"
        out_empty
    done
    airlock verify --key cosign.pub --to registry.internal/devops:1.0 --json b.tar
    expect_rc 2
    json '.ok == false and .exit == 2 and .error.code == "usage"'
    json '.error.message | contains("names an image (a tag or digest)")'
}

# stdout is exactly one JSON object {"ok":false,"exit":N,"error":{"message","code"}} when a
# command given --json fails, whatever failed: a usage error, a missing input, a registry
json_failure_is_one_object() {
    "$PY" - "$T/out" "$rc" "$1" <<'PYEOF' || fail "--json failure of '$1' is not one object"
import json, sys
text = open(sys.argv[1]).read()
try:
    d = json.loads(text)
except ValueError as e:
    sys.exit("%s: not one JSON document (%s): %r" % (sys.argv[3], e, text[:300]))
ok = (isinstance(d, dict) and d.get("ok") is False and d.get("exit") == int(sys.argv[2])
      and isinstance(d.get("error"), dict) and isinstance(d["error"].get("message"), str)
      and d["error"]["message"] and isinstance(d["error"].get("code"), str))
if not ok:
    sys.exit("%s: wrong shape: %r" % (sys.argv[3], d))
PYEOF
}

case_json_failure_on_every_command() {
    keys
    export http_proxy= https_proxy= HTTPS_PROXY=
    local closed=127.0.0.1:9
    mkdir inbox && echo junk >inbox/x.tar
    make_bundle b.tar
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        eval "set -- $line"
        airlock "$@"
        [ "$rc" != 0 ] || fail "'$line' did not fail"
        json_failure_is_one_object "$line"
        ! jq -e '.error.message == "failed"' "$T/out" >/dev/null || fail "'$line': no message"
        # and a usage error of the same command
        airlock "$1" --json --no-such-option
        expect_rc 2
        json_failure_is_one_object "$1 --no-such-option"
    done <<EOF2
import --json -o out.tar nosuch.tar
inspect --json nosuch.tar
verify --json nosuch.tar
verify --json --key cosign.pub nosuch.tar
verify --json --key cosign.pub foo/bar
verify --json --key cosign.pub --retries 1 --plain-http $closed/x:1
sign --json --key cosign.key nosuch.tar
sign --json --key cosign.key reg.example/x:1
attest --json --key cosign.key --predicate nosuch.json --type slsaprovenance nosuch.tar
attestations --json nosuch.tar
sbom --json nosuch.tar
split --json --size 64k nosuch.tar
sync --json --key cosign.pub --to $closed --settle 0 nosuchdir
sync --json --key cosign.pub --to $closed --settle 0 inbox
verify --json --key cosign.pub b.tar
push --json --key cosign.pub --retries 1 --plain-http b.tar $closed
export --json --retries 1 --plain-http $closed/x:1 -o o.tar
push --json --key cosign.pub nosuch.tar $closed
tags --json --retries 1 --plain-http $closed/x
digest --json --retries 1 --plain-http $closed/x:1
inventory --json --retries 1 --plain-http $closed/x
pkcs11 tokens --json --module /nonexistent/p11.so
version --json extra
EOF2
}

# cosign's -o=json (a short option with '='): the parser takes it as -o json, for every
# short option that takes a value; "-o =x" (a separate word) keeps its '='
case_short_option_equals_value() {
    keys
    make_bundle b.tar
    airlock sign --key cosign.key --identity reg.example/x:1 b.tar
    expect_rc 0
    airlock verify --key cosign.pub -o json b.tar
    expect_rc 0
    cp "$T/out" want
    airlock verify -k=cosign.pub -o=json b.tar
    expect_rc 0
    cmp -s want "$T/out" || fail "-o=json differs from -o json"
    airlock verify -k=cosign.pub -o=yaml b.tar
    expect_rc 2
    err_has "bad value 'yaml' for --output"
    airlock split --size 64k -o=p b.tar
    expect_rc 0
    [ -f p.001 ] || fail "-o=p did not name the parts p.001"
    airlock split --size 64k -o =q b.tar
    expect_rc 0
    [ -f =q.001 ] || fail "-o =q (a separate word) lost its '='"
}

# cosign's verify --offline and --local-image: accepted, each said in one line; --local-image
# makes the operand a path whatever it looks like
case_verify_offline_local_image() {
    keys
    make_bundle b.tar
    airlock sign --key cosign.key --identity reg.example/x:1 b.tar
    expect_rc 0
    for f in --offline --offline=true --offline=false; do
        airlock verify --key cosign.pub $f b.tar
        expect_rc 0
        [ "$(grep -c 'airlock verifies a bundle offline always' "$T/err")" = 1 ] ||
            fail "$f: not one line"
    done
    airlock verify --key cosign.pub --local-image b.tar
    expect_rc 0
    [ "$(grep -c 'a bundle is always local' "$T/err")" = 1 ] || fail "--local-image: not one line"
    export https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9
    airlock verify --key cosign.pub --local-image reg.example/app:1
    expect_rc 1
    err_has "open bundle 'reg.example/app:1': No such file or directory"
    airlock verify --key cosign.pub --local-image=maybe b.tar
    expect_rc 2
    err_has "bad value 'maybe' for --local-image"
}

# cosign's import-key-pair -o PREFIX (--output-key-prefix) and -k KEY
case_import_key_pair_short_options() {
    openssl ecparam -name prime256v1 -genkey -noout -out ec.pem 2>/dev/null ||
        fail "openssl made no EC key"
    airlock import-key-pair -k ec.pem -o mine
    expect_rc 0
    [ -f mine.key ] && [ -f mine.pub ] || fail "-o mine wrote no mine.key/mine.pub"
    airlock import-key-pair --key ec.pem -o=other
    expect_rc 0
    [ -f other.key ] || fail "-o=other wrote no other.key"
}

# inventory takes docker://HOST/REPO as every other registry-reference argument does
case_inventory_docker_prefix() {
    keys
    make_bundle b.tar
    airlock sign --key cosign.key --to "$PLAIN/$CASE" b.tar
    expect_rc 0
    airlock push --key cosign.pub --identity-check any --plain-http b.tar "$PLAIN/$CASE"
    expect_rc 0
    airlock inventory --json --plain-http "$PLAIN/$CASE" -o plain.json
    expect_rc 0
    json '.repositories == 1'
    airlock inventory --json --plain-http "docker://$PLAIN/$CASE" -o prefixed.json
    expect_rc 0
    json '.repositories == 1'
    # the same inventory but for the time it was taken
    [ "$(jq -S 'del(.digest, .inventory.created)' plain.json)" = \
        "$(jq -S 'del(.digest, .inventory.created)' prefixed.json)" ] ||
        fail "docker:// gave another inventory"
    airlock inventory --plain-http "docker://$PLAIN/$CASE@sha256:$(cat "$F/L.digest")" -o x.json
    expect_rc 2
    err_has "give REGISTRY[/PREFIX], no tag or digest"
}

main "$@"
