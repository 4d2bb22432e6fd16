# Registry transfer against real Distribution registries started on 127.0.0.1 by the ctest
# fixture (registry_up.sh): plain HTTP, HTTPS with htpasswd, HTTPS with token auth. skopeo
# reads what airlock pushes; every case pushes to its own repositories.
. "$(dirname "$0")/lib.sh"
F=$FIXTURES
. "$REGROOT/env"
export COSIGN_PASSWORD=test-password
CASE=$(basename "$T" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9')

# a signed bundle: the fixture image and the multi-arch index, identity set for DEST; each
# image signed in both formats (a .sig layer and a bundle referrer: 2 signatures verified)
signed() { # BUNDLE DEST [KEY]
    local key=${3:-cosign}
    [ -f $key.key ] || "$AIRLOCK" keygen --output-key-prefix $key 2>/dev/null
    make_bundle "$1"
    "$AIRLOCK" import -q "$F/multi" -o "$1"
    "$AIRLOCK" sign --key $key.key "$1" >/dev/null
}
sk() { skopeo inspect --tls-verify=false --raw "docker://$1"; }

case_push_plain_and_again_uploads_nothing() {
    signed b.tar
    airlock push --identity-check any --key cosign.pub --plain-http --json b.tar "$PLAIN/$CASE"
    expect_rc 0
    json ".images | length == 2"
    json ".signatures_verified == 4 and .uploaded > 0"
    [ "$(sk "$PLAIN/$CASE/test/busybox:1.0" | sha256sum | cut -d' ' -f1)" = "$(cat "$F/L.digest")" ] ||
        fail "skopeo reads another digest"
    [ "$(sk "$PLAIN/$CASE/multi:1" | sha256sum | cut -d' ' -f1)" = "$(cat "$F/multi.digest")" ] ||
        fail "index digest differs"
    sk "$PLAIN/$CASE/test/busybox:sha256-$(cat "$F/L.digest").sig" |
        jq -e '.layers[0].annotations."dev.cosignproject.cosign/signature"' >/dev/null || fail "no signature"
    airlock push --identity-check any --key cosign.pub --plain-http --json b.tar "$PLAIN/$CASE"
    expect_rc 0
    json '.uploaded == 0 and .bytes == 0'
    airlock verify --key cosign.pub --plain-http "$PLAIN/$CASE/test/busybox:1.0"
    expect_rc 0
    err_has "The following checks were performed on each of these signatures:"
}

case_push_from_tar_zst() {
    signed b.tar.zst
    # read once, in order: each missing blob goes up as it is decompressed, the other
    # repository's copies are mounted
    airlock push --identity-check any --key cosign.pub --plain-http --json b.tar.zst "$PLAIN/$CASE"
    expect_rc 0
    json '.signatures_verified == 4 and .uploaded > 0 and .mounted > 0'
    [ "$(sk "$PLAIN/$CASE/multi:1" | sha256sum | cut -d' ' -f1)" = "$(cat "$F/multi.digest")" ] ||
        fail "index digest differs"
    airlock verify --key cosign.pub --plain-http "$PLAIN/$CASE/test/busybox:1.0"
    expect_rc 0
    airlock push --identity-check any --key cosign.pub --plain-http --json b.tar.zst "$PLAIN/$CASE"
    expect_rc 0
    json '.uploaded == 0'
}

case_split_set_export_and_push() {
    signed b.tar
    "$AIRLOCK" push --identity-check any --key cosign.pub --plain-http -q b.tar "$PLAIN/$CASE-src" >/dev/null
    # exported straight into parts for small media, then pushed from any part
    airlock export --plain-http --split 400K "$PLAIN/$CASE-src/multi:1" "$PLAIN/$CASE-src/test/busybox:1.0" -o s.tar
    expect_rc 0
    [ -e s.tar.003 ] && [ ! -e s.tar ] || fail "not split: $(ls)"
    no_leftovers .
    airlock verify --key cosign.pub s.tar.002
    expect_rc 0
    airlock push --identity-check any --key cosign.pub --plain-http --json s.tar.003 "$PLAIN/$CASE"
    expect_rc 0
    json '.signatures_verified == 4'
    [ "$(sk "$PLAIN/$CASE/$CASE-src/multi:1" | sha256sum | cut -d' ' -f1)" = "$(cat "$F/multi.digest")" ] ||
        fail "index digest differs"
}

case_push_map_and_mount() {
    signed b.tar
    airlock push --identity-check any --key cosign.pub --plain-http --map example.com/test/busybox=$CASE/mirror/bb b.tar "$PLAIN/$CASE"
    expect_rc 0
    out_has "$PLAIN/$CASE/mirror/bb:1.0"
    # the image and the index share blobs: uploaded into one repository, mounted into the other
    airlock push --identity-check any --key cosign.pub --plain-http --json b.tar "$PLAIN/$CASE-other"
    expect_rc 0
    json '.mounted > 0'
    [ "$(sk "$PLAIN/$CASE-other/test/busybox:1.0" | sha256sum | cut -d' ' -f1)" = "$(cat "$F/L.digest")" ] ||
        fail "mounted image unreadable"
}

case_tls_htpasswd() {
    signed b.tar
    run "$AIRLOCK" push --identity-check any --key cosign.pub --ca-file "$CA" --username tester --password-stdin b.tar "$TLSREG/$CASE" <<< tester-pass
    expect_rc 0
    airlock push --identity-check any --key cosign.pub b.tar "$TLSREG/$CASE"
    expect_rc 1
    err_has "is the registry's CA trusted? see --ca-file"
    airlock push --identity-check any --key cosign.pub --ca-file "$CA" b.tar "$TLSREG/$CASE-noauth"
    expect_rc 5 # authentication: its own exit code (it was 2, the usage code)
    err_has "HTTP 401 unauthorized"
    err_has "no manifest was pushed"
    run "$AIRLOCK" push --identity-check any --key cosign.pub --ca-file "$CA" --username tester --password-stdin b.tar "$TLSREG/$CASE-bad" <<< wrong
    expect_rc 5
    # credentials from an auth file (docker config.json format) and from a credential helper
    printf '{"auths":{"%s":{"auth":"%s"}}}' "$TLSREG" "$(printf tester:tester-pass | base64)" > auth.json
    airlock verify --key cosign.pub --ca-file "$CA" --auth-file auth.json "$TLSREG/$CASE/multi:1"
    expect_rc 0
    mkdir -p bin docker
    printf '#!/bin/sh\nread host\nprintf %s "{\\"Username\\":\\"tester\\",\\"Secret\\":\\"tester-pass\\"}"\n' "'%s'" > bin/docker-credential-airlocktest
    chmod +x bin/docker-credential-airlocktest
    printf '{"credHelpers":{"%s":"airlocktest"}}' "$TLSREG" > docker/config.json
    PATH="$PWD/bin:$PATH" DOCKER_CONFIG="$PWD/docker" HOME="$PWD" run "$AIRLOCK" verify --key cosign.pub --ca-file "$CA" "$TLSREG/$CASE/multi:1"
    expect_rc 0
    # --insecure skips TLS verification, every request
    run "$AIRLOCK" verify --key cosign.pub --insecure --username tester --password-stdin "$TLSREG/$CASE/multi:1" <<< tester-pass
    expect_rc 0
}

case_mtls_every_code_path() {
    signed b.tar
    local tls="--ca-file $CA --client-cert $CLIENT_CERT --client-key $CLIENT_KEY"
    airlock push --identity-check any --key cosign.pub $tls b.tar "$MTLSREG/$CASE"
    expect_rc 0
    airlock verify --key cosign.pub $tls "$MTLSREG/$CASE/multi:1"
    expect_rc 0
    airlock export $tls "$MTLSREG/$CASE/multi:1" -o e.tar
    expect_rc 0
    airlock verify --key cosign.pub e.tar
    expect_rc 0
    # without the client certificate the registry refuses the handshake
    airlock verify --key cosign.pub --ca-file "$CA" "$MTLSREG/$CASE/multi:1"
    expect_rc 1
    err_has "$MTLSREG"
    airlock push --identity-check any --key cosign.pub --ca-file "$CA" --client-cert "$CLIENT_CERT" --client-key nothere.key b.tar "$MTLSREG/$CASE"
    expect_rc 1
    err_has "nothere.key"
}

# $SSL_CERT_FILE names the system's CA bundle, as OpenSSL and Go read it (no --ca-file)
case_ssl_cert_file_is_the_system_ca_bundle() {
    signed b.tar
    run env SSL_CERT_FILE=/nonexistent "$AIRLOCK" push -q --identity-check any --key cosign.pub \
        --creds tester:tester-pass b.tar "$TLSREG/$CASE"
    [ "$rc" != 0 ] || fail "the test CA was trusted without being named"
    run env SSL_CERT_FILE="$CA" "$AIRLOCK" push -q --identity-check any --key cosign.pub \
        --creds tester:tester-pass b.tar "$TLSREG/$CASE"
    expect_rc 0
}

case_token_auth_writer_and_reader() {
    signed b.tar
    # the token server is another origin (its own port): credentials go there only when asked
    run "$AIRLOCK" push --identity-check any --key cosign.pub --ca-file "$CA" --username writer --password-stdin b.tar "$TOKENREG/$CASE" <<< writer-pass
    expect_rc 2
    err_has "pass --trust-realm $TOKENREALM"
    run "$AIRLOCK" push --identity-check any --key cosign.pub --ca-file "$CA" --trust-realm "$TOKENREALM" --username writer --password-stdin b.tar "$TOKENREG/$CASE" <<< writer-pass
    expect_rc 0
    # blobs shared by the two images are mounted (the token then covers both repositories)
    run "$AIRLOCK" push --identity-check any --json --key cosign.pub --ca-file "$CA" --trust-realm "$TOKENREALM" --username writer --password-stdin b.tar "$TOKENREG/$CASE-two" <<< writer-pass
    expect_rc 0
    json '.mounted > 0'
    run "$AIRLOCK" push --identity-check any --key cosign.pub --ca-file "$CA" --trust-realm "$TOKENREALM" --username reader --password-stdin b.tar "$TOKENREG/$CASE-ro" <<< reader-pass
    expect_rc 5 # authentication: its own exit code (it was 2, the usage code)
    err_has "insufficient_scope"
    err_has "no manifest was pushed"
    run "$AIRLOCK" verify --key cosign.pub --ca-file "$CA" --trust-realm "$TOKENREALM" --username reader --password-stdin "$TOKENREG/$CASE/test/busybox:1.0" <<< reader-pass
    expect_rc 0
    run "$AIRLOCK" export --ca-file "$CA" --trust-realm "$TOKENREALM" --username reader --password-stdin "$TOKENREG/$CASE/multi:1" -o e.tar <<< reader-pass
    expect_rc 0
    airlock verify --key cosign.pub e.tar
    expect_rc 0
}

case_tampered_blob_pushes_no_manifest() {
    signed b.tar
    layer=$(tar xOf b.tar "blobs/sha256/$(cat "$F/L.digest")" | jq -r '.layers[0].digest')
    off=$("$PY" -c "
import tarfile
with tarfile.open('b.tar') as t:
    m=[m for m in t.getmembers() if m.name=='blobs/sha256/${layer#sha256:}'][-1]
    print(m.offset_data + m.size//2)")
    printf 'X' | dd of=b.tar bs=1 seek="$off" conv=notrunc 2>/dev/null
    airlock push --identity-check any --key cosign.pub --plain-http b.tar "$PLAIN/$CASE"
    expect_rc 4
    err_has "content does not match its digest"
    err_has "no manifest was pushed"
    ! sk "$PLAIN/$CASE/test/busybox:1.0" >/dev/null 2>&1 || fail "a manifest was pushed"
    ! sk "$PLAIN/$CASE/multi:1" >/dev/null 2>&1 || fail "a manifest was pushed"
}

case_bad_signature_pushes_nothing() {
    signed b.tar
    "$AIRLOCK" keygen --output-key-prefix other 2>/dev/null
    airlock push --identity-check any --key other.pub --plain-http b.tar "$PLAIN/$CASE"
    expect_rc 3
    err_has "no signature verified with the key"
    err_has "nothing was pushed"
    ! sk "$PLAIN/$CASE/multi:1" >/dev/null 2>&1 || fail "a manifest was pushed"
    mv cosign.pub cosign.pub.away # (with cosign.pub here, it is the default key, as cosign's)
    airlock push --plain-http b.tar "$PLAIN/$CASE"
    expect_rc 2
    err_has "--key is required"
    mv cosign.pub.away cosign.pub
    airlock push --no-verify --plain-http b.tar "$PLAIN/$CASE"
    expect_rc 0
    err_has "WARNING: --no-verify"
}

case_signatures_merge_never_drop_theirs() {
    signed a.tar "" cosign
    airlock push --identity-check any --key cosign.pub --plain-http -q a.tar "$PLAIN/$CASE"
    expect_rc 0
    signed b.tar "" second
    airlock push --identity-check any --key second.pub --plain-http -q b.tar "$PLAIN/$CASE"
    expect_rc 0
    n=$(sk "$PLAIN/$CASE/test/busybox:sha256-$(cat "$F/L.digest").sig" | jq '.layers | length')
    [ "$n" = 2 ] || fail "expected 2 signature layers, got $n"
    for k in cosign second; do
        airlock verify --key $k.pub --plain-http "$PLAIN/$CASE/test/busybox:1.0"
        expect_rc 0
    done
    # pushing the first bundle again adds nothing and drops nothing
    airlock push --identity-check any --key cosign.pub --plain-http -q a.tar "$PLAIN/$CASE"
    n=$(sk "$PLAIN/$CASE/test/busybox:sha256-$(cat "$F/L.digest").sig" | jq '.layers | length')
    [ "$n" = 2 ] || fail "signature layers: $n"
}

# An index whose descriptor mistypes a platform manifest: export judges what it reads by its
# content (the one manifest graph verify and push use), so the manifest's config and layers
# come along and the bundle verifies, instead of the manifest travelling as a bare blob.
case_export_judges_manifests_by_content_not_descriptor() {
    signed b.tar
    "$AIRLOCK" push --key cosign.pub --identity-check any --plain-http -q b.tar "$PLAIN/$CASE" >/dev/null
    sk "$PLAIN/$CASE/multi:1" |
        jq -c '.manifests[0].mediaType = "application/octet-stream"' >odd.json
    curl -sf -X PUT -H "Content-Type: application/vnd.oci.image.index.v1+json" \
        --data-binary @odd.json "http://$PLAIN/v2/$CASE/multi/manifests/odd" ||
        fail "PUT the mistyped index"
    airlock export --plain-http "$PLAIN/$CASE/multi:odd" -o e.tar
    expect_rc 0
    airlock verify e.tar
    expect_rc 0
}

case_export_roundtrip_and_platform() {
    signed b.tar
    "$AIRLOCK" push --identity-check any --key cosign.pub --plain-http -q b.tar "$PLAIN/$CASE" >/dev/null
    airlock export --plain-http "$PLAIN/$CASE/multi:1" "$PLAIN/$CASE/test/busybox:1.0" -o e.tar
    expect_rc 0
    out_has "sha256:$(cat "$F/multi.digest")	$PLAIN/$CASE/multi:1"
    out_has "$PLAIN/$CASE/test/busybox:sha256-$(cat "$F/L.digest").sig"
    airlock verify --key cosign.pub e.tar
    expect_rc 0
    "$PY" "$E2E_SRC/cosign_check.py" e.tar cosign.pub >/dev/null || fail "independent verifier"
    # one platform only
    airlock export --plain-http --platform linux/arm64 "$PLAIN/$CASE/multi:1" -o arm.tar
    expect_rc 0
    # sign signs the platform manifests too (the default): the arm64 manifest's own
    # signature comes along, and the manifest alone verifies
    out_has "$PLAIN/$CASE/multi:sha256-$(jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest' "$F/multi/blobs/sha256/$(cat "$F/multi.digest")" | cut -c8-).sig"
    run "$AIRLOCK" verify --key cosign.pub arm.tar
    expect_rc 0
    airlock inspect --json arm.tar
    json '.images[0].platforms == ["linux/arm64"] and .images[0].mediaType == "application/vnd.oci.image.manifest.v1+json"'
    airlock export --plain-http --platform linux/s390x "$PLAIN/$CASE/multi:1" -o none.tar
    expect_rc 1
    err_has "has no platform 'linux/s390x'"
    # adding to an existing bundle keeps what it has
    airlock export --plain-http "$PLAIN/$CASE/test/busybox:1.0" -o arm.tar
    expect_rc 0
    airlock inspect --json arm.tar
    json '(.images | length) == 2'
    airlock export --plain-http "$PLAIN/$CASE/nothing:1" -o x.tar
    expect_rc 1
    err_has "is not in the registry"
}

case_export_into_a_locked_bundle_refused() {
    signed b.tar
    airlock push --identity-check any --key cosign.pub --plain-http -q b.tar "$PLAIN/$CASE"
    expect_rc 0
    make_bundle dest.tar
    sum=$(sha256sum dest.tar)
    # another writer (a sign, an import) holds the destination: export adds nothing to it
    flock .dest.tar.airlock-lock sleep 3 &
    holder=$!
    sleep 0.5
    run timeout 60 "$AIRLOCK" export --plain-http "$PLAIN/$CASE/test/busybox:1.0" -o dest.tar
    expect_rc 2
    err_has "another airlock is writing 'dest.tar'"
    [ "$(sha256sum dest.tar)" = "$sum" ] || fail "export changed a locked bundle"
    wait $holder
    airlock export --plain-http -q "$PLAIN/$CASE/multi:1" -o dest.tar
    expect_rc 0
}

case_verify_in_registry_failures() {
    signed b.tar
    "$AIRLOCK" push --no-verify --plain-http -q b.tar "$PLAIN/$CASE" >/dev/null 2>&1
    "$AIRLOCK" keygen --output-key-prefix other 2>/dev/null
    airlock verify --key other.pub --plain-http "$PLAIN/$CASE/multi:1"
    expect_rc 3
    err_has "signature does not verify with the key"
    airlock verify --key cosign.pub --plain-http --identity wrong.example/x "$PLAIN/$CASE/multi:1"
    expect_rc 3
    airlock verify --json --key cosign.pub --plain-http "$PLAIN/$CASE/multi:1"
    expect_rc 0
    json '.ok and .images[0].signed'
}

# The bar of the registry issue, on a 200 MB image of two layers (chunked uploads by default):
# a registry holds it (skopeo puts it there), export -> sign -> verify -> push -> verify there;
# the second push uploads nothing; push reads the bundle in place (read-only, no TMPDIR).
case_bar_200mb_two_layers() {
    "$PY" "$E2E_SRC/mkrandom.py" L "example.com/big:1" 2 100 >/dev/null
    skopeo copy -q --dest-tls-verify=false oci:L docker://$PLAIN/$CASE-src/big:1 || fail "skopeo push"
    rm -rf L
    digest=sha256:$(sk "$PLAIN/$CASE-src/big:1" | sha256sum | cut -d' ' -f1)
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    airlock export --plain-http "$PLAIN/$CASE-src/big:1" -o e.tar
    expect_rc 0
    out_has "$digest"
    airlock sign --key cosign.key e.tar
    expect_rc 0
    chmod a-w e.tar
    airlock verify --key cosign.pub e.tar
    expect_rc 0
    TMPDIR=/nonexistent airlock push --identity-check any --key cosign.pub --plain-http --json e.tar "$PLAIN/$CASE-dst"
    expect_rc 0
    json ".bytes > 200000000 and .signatures_verified == 2"
    [ "$(sk "$PLAIN/$CASE-dst/$CASE-src/big:1" | sha256sum | cut -d' ' -f1)" = "${digest#sha256:}" ] ||
        fail "skopeo reads another digest"
    airlock verify --key cosign.pub --plain-http "$PLAIN/$CASE-dst/$CASE-src/big:1"
    expect_rc 0
    # the signature airlock pushed, read back by skopeo, checked by the independent verifier
    sigtag="sha256-${digest#sha256:}.sig"
    skopeo copy -q --src-tls-verify=false "docker://$PLAIN/$CASE-dst/$CASE-src/big:$sigtag" \
        "oci:sig:big:$sigtag" || fail "skopeo cannot read the signature"
    "$PY" "$E2E_SRC/cosign_check.py" sig cosign.pub >/dev/null || fail "independent verifier"
    airlock push --identity-check any --key cosign.pub --plain-http --json e.tar "$PLAIN/$CASE-dst"
    expect_rc 0
    json ".uploaded == 0 and .bytes == 0"
    chmod u+w e.tar
}

# ---- sync: an inbox with a good, a tampered and a half-copied bundle, and split sets ----------
case_sync_inbox_bar() {
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    mkdir inbox
    "$AIRLOCK" import -q --name example.com/good/bb:1 "$F/o.tar" -o inbox/good.tar
    "$AIRLOCK" sign --key cosign.key inbox/good.tar >/dev/null
    "$AIRLOCK" import -q --name example.com/bad/bb:1 "$F/o.tar" -o bad.tar
    "$AIRLOCK" sign --key cosign.key bad.tar >/dev/null
    off=$("$PY" -c '
import tarfile
with tarfile.open("bad.tar") as t:
    m = max((m for m in t.getmembers() if m.isfile()), key=lambda m: m.size)
    print(m.offset_data + m.size // 2)')
    printf 'X' | dd of=bad.tar bs=1 seek="$off" conv=notrunc 2>/dev/null
    mv bad.tar inbox/tampered.tar
    "$AIRLOCK" import -q --name example.com/late/bb:1 "$F/o.tar" -o whole.tar
    head -c 600000 whole.tar > inbox/partial.tar
    # a complete split set, and one whose last part has not arrived
    "$AIRLOCK" import -q --name example.com/parts/bb:1 "$F/o.tar" -o parts.tar
    "$AIRLOCK" sign --key cosign.key parts.tar >/dev/null
    "$AIRLOCK" split -q --size 400K parts.tar -o inbox/set.tar
    "$AIRLOCK" split -q --size 400K parts.tar -o half.tar
    mv half.tar.001 half.tar.002 inbox/
    touch -d '-5 minutes' inbox/good.tar inbox/tampered.tar inbox/set.tar.* inbox/half.tar.*
    airlock sync --identity-check any --json --key cosign.pub --to "$PLAIN/$CASE" --plain-http inbox
    expect_rc 1
    json '.pushed == 2 and .failed == 1 and .waiting == 2'
    json '[.bundles[] | select(.bundle == "good.tar")][0].status == "pushed"'
    json '[.bundles[] | select(.bundle == "tampered.tar")][0].status == "failed"'
    json '[.bundles[] | select(.bundle == "partial.tar")][0].status == "waiting"'
    json '[.bundles[] | select(.bundle == "half.tar")][0].reason | test("not all arrived")'
    [ -f inbox/done/good.tar ] && [ -f inbox/done/good.tar.report.json ] || fail "good not in done/"
    [ -f inbox/done/set.tar.001 ] && [ -f inbox/done/set.tar.report.json ] || fail "set not in done/"
    [ -f inbox/failed/tampered.tar ] || fail "tampered not in failed/"
    jq -e '.error | test("corrupt")' inbox/failed/tampered.tar.report.json >/dev/null ||
        fail "the failure report does not say why"
    [ -f inbox/partial.tar ] && [ -f inbox/half.tar.001 ] || fail "an arriving bundle was moved"
    # pushed and verified: the good ones are there, nothing of the tampered one
    [ "$(sk "$PLAIN/$CASE/good/bb:1" | sha256sum | cut -d' ' -f1)" = "$(cat "$F/L.digest")" ] ||
        fail "good image not in the registry"
    sk "$PLAIN/$CASE/parts/bb:1" >/dev/null || fail "the split set was not pushed"
    sk "$PLAIN/$CASE/bad/bb:1" >/dev/null 2>&1 && fail "the tampered image was pushed"
    airlock verify --key cosign.pub --plain-http "$PLAIN/$CASE/good/bb:1"
    expect_rc 0
    # the audit log: one line per pushed image, one per failure
    [ "$(jq -r 'select(.event == "pushed") | .ref' inbox/airlock-audit.log | grep -c "$CASE/good/bb:1")" = 1 ] ||
        fail "audit log: $(cat inbox/airlock-audit.log)"
    jq -e 'select(.event == "failed" and .bundle == "tampered.tar")' inbox/airlock-audit.log >/dev/null ||
        fail "no failure in the audit log"
    # a second run: nothing new, so nothing done; the set's last part arrives: pushed
    airlock sync --identity-check any --key cosign.pub --to "$PLAIN/$CASE" --plain-http inbox
    expect_rc 0
    err_has "0 pushed, 0 failed, 2 waiting"
    cp half.tar.003 inbox/ && touch -d '-5 minutes' inbox/half.tar.003
    airlock sync --identity-check any --key cosign.pub --to "$PLAIN/$CASE" --plain-http inbox
    expect_rc 0
    err_has "1 pushed, 0 failed, 1 waiting"
}

case_sync_runs_at_once_and_config() {
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    mkdir inbox
    "$AIRLOCK" import -q --name example.com/one/bb:1 "$F/o.tar" -o inbox/one.tar
    "$AIRLOCK" sign --key cosign.key inbox/one.tar >/dev/null
    touch -d '-5 minutes' inbox/one.tar
    # another run holds the inbox: this one does nothing and says so
    flock inbox/.airlock-sync.lock sleep 3 &
    holder=$!
    sleep 0.5
    airlock sync --identity-check any --key cosign.pub --to "$PLAIN/$CASE" --plain-http inbox
    expect_rc 0
    err_has "another run holds the inbox"
    [ -f inbox/one.tar ] || fail "moved by a run without the lock"
    wait $holder
    # two runs started together: exactly one pushes
    "$AIRLOCK" sync --identity-check any --json --key cosign.pub --to "$PLAIN/$CASE" --plain-http inbox > a.json 2>/dev/null &
    "$AIRLOCK" sync --identity-check any --json --key cosign.pub --to "$PLAIN/$CASE" --plain-http inbox > b.json 2>/dev/null
    wait
    [ "$(cat a.json b.json | jq -s '[.[].pushed // 0] | add')" = 1 ] || fail "pushed twice or never"
    [ "$(jq -r 'select(.event == "pushed") | .bundle' inbox/airlock-audit.log | wc -l)" = 1 ] ||
        fail "two pushes in the audit log"
    # the same through a config file, with a report file and retention
    mkdir in2
    "$AIRLOCK" import -q --name example.com/two/bb:1 "$F/o.tar" -o in2/two.tar
    "$AIRLOCK" sign --key cosign.key in2/two.tar >/dev/null
    cat > sync.json <<EOC
{"inbox": "$PWD/in2", "settleSeconds": 0, "report": "$PWD/run.json", "keepDays": 30,
 "rules": [{"match": "*.tar", "to": "$PLAIN/$CASE/cfg", "keys": ["$PWD/cosign.pub"], "identityCheck": "any",
            "map": {"example.com/two/bb": "$CASE-renamed/bb"}, "registry": {"plainHttp": true}}]}
EOC
    airlock sync --config sync.json
    expect_rc 0
    jq -e '.pushed == 1' run.json >/dev/null || fail "no report file"
    sk "$PLAIN/$CASE-renamed/bb:1" >/dev/null || fail "map not applied"
    # configuration errors: exit 2, naming the file
    echo '{"inbox": "x", "rules": [{"to": "h"}]}' > bad.json
    airlock sync --config bad.json
    expect_rc 2
    err_has "bad.json"
    err_has "no \"keys\""
    airlock sync --identity-check any --key cosign.pub --to "$PLAIN/x" nothere
    expect_rc 2
    err_has "nothere"
}

# ---- faults: a proxy in front of the plain registry breaks requests as rules say ----------
# proxy RULES_JSON: see lib.sh
logged() { grep -cE -- "$1" proxy.log || true; }

case_faults_push_retries_and_resumes() {
    signed b.tar
    # the busybox layer (1 MB) goes up in 256 KiB chunks; the second chunk's connection drops
    # halfway, the first upload session POST gets a 503 with Retry-After, a manifest PUT a
    # 500, a HEAD a 429, and a small blob's monolithic PUT loses its connection
    # (Distribution then refuses the old upload state, so airlock starts that blob over); after
    # the restart the third chunk's connection drops before any byte of it arrives: the
    # registry's upload offset is still valid and airlock continues from it
    proxy '[{"method":"PATCH","path":"/blobs/uploads/","nth":[2],"action":"drop","after":100000},
            {"method":"PATCH","path":"/blobs/uploads/","nth":[5],"action":"drop","after":0},
            {"method":"POST","path":"/blobs/uploads/","nth":[1],"action":"status","code":503,"retry_after":"1"},
            {"method":"PUT","path":"/manifests/sha256:","nth":[1],"action":"status","code":500},
            {"method":"HEAD","path":"/blobs/","nth":[2],"action":"status","code":429},
            {"method":"PUT","path":"/blobs/uploads/.*digest=","nth":[1],"action":"drop","after":10}]'
    airlock push --identity-check any --key cosign.pub --plain-http --chunk-size 256K --parallel 1 --json b.tar "$PROXY/$CASE"
    expect_rc 0
    json '.signatures_verified == 4'
    [ "$(logged 'action=drop')" = 3 ] || fail "the drops did not happen: $(cat proxy.log)"
    [ "$(logged 'PATCH .*content-range=524288-786431')" = 2 ] || fail "chunk 3 was not resumed in place"
    [ "$(logged 'PATCH .*content-range=0-262143')" = 2 ] || fail "more than one restart"
    [ "$(logged 'action=status')" = 3 ] || fail "the injected statuses did not happen"
    [ "$(sk "$PLAIN/$CASE/test/busybox:1.0" | sha256sum | cut -d' ' -f1)" = "$(cat "$F/L.digest")" ] ||
        fail "skopeo reads another digest"
    skopeo copy -q --src-tls-verify=false "docker://$PLAIN/$CASE/test/busybox:1.0" oci:copy:x ||
        fail "skopeo cannot pull the pushed image"
    airlock verify --key cosign.pub --plain-http "$PLAIN/$CASE/test/busybox:1.0"
    expect_rc 0
}

case_faults_push_from_tar_zst_sends_again() {
    signed b.tar.zst
    # read once, in order: the chunk being sent is kept, so a dropped request, a 503 and a
    # new login in the middle of the layer are sent again from memory
    proxy '[{"method":"PUT","path":"/blobs/uploads/.*digest=","nth":[1],"action":"drop","after":10},
            {"method":"PATCH","path":"/blobs/uploads/","nth":[2],"action":"status","code":401,"www_authenticate":"Basic realm=\"t\""},
            {"method":"PATCH","path":"/blobs/uploads/","nth":[3],"action":"drop","after":0},
            {"method":"PATCH","path":"/blobs/uploads/","nth":[5],"action":"status","code":503}]'
    run "$AIRLOCK" push --identity-check any --key cosign.pub --plain-http --chunk-size 256K --json --username u --password-stdin b.tar.zst "$PROXY/$CASE" <<< p
    expect_rc 0
    json '.signatures_verified == 4'
    [ "$(logged 'action=(drop|status)')" = 4 ] || fail "the faults did not happen: $(cat proxy.log)"
    [ "$(sk "$PLAIN/$CASE/test/busybox:1.0" | sha256sum | cut -d' ' -f1)" = "$(cat "$F/L.digest")" ] ||
        fail "skopeo reads another digest"
}

case_faults_push_gives_up_cleanly() {
    signed b.tar
    # every chunk upload of the layer drops: push fails, names the blob, and tags nothing
    proxy '[{"method":"PATCH","path":"/blobs/uploads/","action":"drop","after":1000}]'
    airlock push --identity-check any --key cosign.pub --plain-http --chunk-size 256K --retries 3 b.tar "$PROXY/$CASE"
    expect_rc 1
    err_has "upload blob 'sha256:"
    sk "$PLAIN/$CASE/test/busybox:1.0" >/dev/null 2>&1 && fail "a tag was pushed"
    sk "$PLAIN/$CASE/test/busybox@sha256:$(cat "$F/L.digest")" >/dev/null 2>&1 && fail "a manifest was pushed"
    # and the same push through a healthy path afterwards completes
    airlock push --identity-check any --key cosign.pub --plain-http -q b.tar "$PLAIN/$CASE"
    expect_rc 0
}

case_faults_reauth_resends_streamed_body() {
    signed b.tar
    # the first blob PUT is refused with a Basic challenge (as when a token expires): airlock
    # authenticates and sends the same bytes again
    proxy '[{"method":"PUT","path":"/blobs/uploads/","nth":[1],"action":"status","code":401,"www_authenticate":"Basic realm=\"test\""}]'
    run "$AIRLOCK" push --identity-check any --key cosign.pub --plain-http --username u --password-stdin b.tar "$PROXY/$CASE" <<< p
    expect_rc 0
    [ "$(logged 'PUT /v2/.*/blobs/uploads/')" -ge 2 ] || fail "no resend"
}

case_faults_export_resumes_with_range() {
    signed b.tar
    "$AIRLOCK" push --identity-check any --key cosign.pub --plain-http -q b.tar "$PLAIN/$CASE" >/dev/null
    layer=$(jq -r '.layers[0].digest' "$F/L/blobs/sha256/$(cat "$F/L.digest")")
    # the layer download is cut after 300 kB, then after 600 kB: it continues with Range
    proxy '[{"method":"GET","path":"/blobs/'"$layer"'","nth":[1],"action":"cut","after":300000},
            {"method":"GET","path":"/blobs/'"$layer"'","nth":[2],"action":"cut","after":300000},
            {"method":"GET","path":"/manifests/","nth":[1],"action":"status","code":502}]'
    airlock export --plain-http "$PROXY/$CASE/test/busybox:1.0" -o e.tar
    expect_rc 0
    grep -F "GET /v2/$CASE/test/busybox/blobs/$layer range=bytes=300000-" proxy.log >/dev/null ||
        fail "no Range request: $(cat proxy.log)"
    grep -F "range=bytes=600000-" proxy.log >/dev/null || fail "no second Range request"
    airlock verify --key cosign.pub e.tar
    expect_rc 0
    no_leftovers .
}

case_faults_export_resumes_across_runs() {
    signed b.tar
    "$AIRLOCK" push --identity-check any --key cosign.pub --plain-http -q b.tar "$PLAIN/$CASE" >/dev/null
    layer=$(jq -r '.layers[0].digest' "$F/L/blobs/sha256/$(cat "$F/L.digest")")
    # every download of the big layer breaks: export gives up but keeps what it has
    proxy '[{"method":"GET","path":"/blobs/'"$layer"'","action":"cut","after":300000}]'
    airlock export --plain-http --retries 2 "$PROXY/$CASE/test/busybox:1.0" -o e.tar
    expect_rc 1
    err_has "kept in './.e.tar.airlock-partial'; the same export again continues from there"
    [ ! -e e.tar ] || fail "a half-written bundle appeared"
    # the next run takes those blobs over and fetches only the layer
    : > proxy.log
    printf '[]' > rules.json
    kill $PROXY_PID; wait $PROXY_PID 2>/dev/null || true
    proxy '[]'
    airlock export --plain-http "$PROXY/$CASE/test/busybox:1.0" -o e.tar
    expect_rc 0
    err_has "over from an interrupted export"
    [ "$(logged 'GET /v2/.*/blobs/')" = 1 ] || fail "fetched again: $(grep blobs proxy.log)"
    [ ! -e .e.tar.airlock-partial ] || fail "the partial stayed"
    airlock verify --key cosign.pub e.tar
    expect_rc 0
    # killed outright (kill -9) while a download hangs: a directory bundle resumes too
    kill $PROXY_PID; wait $PROXY_PID 2>/dev/null || true
    proxy '[{"method":"GET","path":"/blobs/'"$layer"'","nth":[1],"action":"stall","after":300000,"seconds":60}]'
    "$AIRLOCK" export --plain-http "$PROXY/$CASE/test/busybox:1.0" -o d/ >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do grep -q 'action=stall' proxy.log && break; sleep 0.1; done
    sleep 1
    kill -9 $pid; wait $pid 2>/dev/null || true
    [ -d .d.airlock-partial ] || fail "no partial after kill -9"
    airlock export --plain-http "$PROXY/$CASE/test/busybox:1.0" -o d/
    expect_rc 0
    err_has "over from an interrupted export"
    airlock verify --key cosign.pub d
    expect_rc 0
    no_leftovers .
    # two exports to one path at once: the second is refused and touches nothing
    flock .e.tar.airlock-lock sleep 3 &
    holder=$!
    sleep 0.5
    airlock export --plain-http "$PLAIN/$CASE/test/busybox:1.0" -o e.tar
    expect_rc 2
    err_has "another airlock is writing 'e.tar'"
    wait $holder
    airlock verify --key cosign.pub e.tar
    expect_rc 0
}

case_faults_stall_caught_slow_kept() {
    signed b.tar
    "$AIRLOCK" push --identity-check any --key cosign.pub --plain-http -q b.tar "$PLAIN/$CASE" >/dev/null
    layer=$(jq -r '.layers[0].digest' "$F/L/blobs/sha256/$(cat "$F/L.digest")")
    # a stalled download is abandoned after --stall-timeout and retried; a slow one (about
    # 4 s at 256 kB/s, longer than the timeout) is left to finish
    proxy '[{"method":"GET","path":"/blobs/'"$layer"'","nth":[1],"action":"stall","after":100000,"seconds":60},
            {"method":"GET","path":"/blobs/'"$layer"'","nth":[2],"action":"slow","rate":262144}]'
    start=$(date +%s)
    airlock export --plain-http --stall-timeout 2 "$PROXY/$CASE/test/busybox:1.0" -o e.tar
    expect_rc 0
    [ $(($(date +%s) - start)) -lt 30 ] || fail "the stall was not caught in time"
    [ "$(logged "$layer.*action=slow")" = 1 ] || fail "the slow transfer was not the one that finished"
    airlock verify e.tar
    expect_rc 0
}

# cosign with COSIGN_DOCKER_MEDIA_TYPES=1 left a Docker v2 .sig in the registry: merged, its
# layer kept, and written back as the OCI manifest airlock writes
case_signatures_merge_with_docker_typed_sig() {
    signed a/ "" cosign
    "$PY" "$E2E_SRC/mkdockersig.py" a docker >/dev/null
    airlock push --identity-check any --key cosign.pub --plain-http -q a "$PLAIN/$CASE"
    expect_rc 0
    sig="$PLAIN/$CASE/test/busybox:sha256-$(cat "$F/L.digest").sig"
    sk "$sig" | jq -e '.mediaType == "application/vnd.docker.distribution.manifest.v2+json"' \
        >/dev/null || fail "the registry does not hold the Docker-typed .sig"
    signed b.tar "" second
    airlock push --identity-check any --key second.pub --plain-http -q b.tar "$PLAIN/$CASE"
    expect_rc 0
    sk "$sig" | jq -e '.mediaType == "application/vnd.oci.image.manifest.v1+json" and (.layers | length) == 2' \
        >/dev/null || fail "not merged into an OCI manifest of both layers: $(sk "$sig")"
    for k in cosign second; do
        airlock verify --key $k.pub --plain-http "$PLAIN/$CASE/test/busybox:1.0"
        expect_rc 0
    done
}

main "$@"
