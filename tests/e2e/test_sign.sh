# Keys and offline signing: cosign key files, sign, verify --key; checked by an independent
# verifier (python3-cryptography, openssl) and against real cosign-made signatures.
. "$(dirname "$0")/lib.sh"
F=$FIXTURES
KF=$E2E_SRC/../fixtures
export COSIGN_PASSWORD=test-password

keys() { "$AIRLOCK" keygen --output-key-prefix "${1:-cosign}" 2>/dev/null; }
case_keygen_writes_cosign_files() {
    airlock keygen
    expect_rc 0
    err_has "Private key written to cosign.key"
    [ "$(stat -c %a cosign.key)" = 600 ] || fail "cosign.key mode $(stat -c %a cosign.key)"
    [ "$(stat -c %a cosign.pub)" = 644 ] || fail "cosign.pub mode"
    [ "$(stat -c %s cosign.pub)" = 178 ] || fail "public key is not 178 bytes"
    head -1 cosign.key | grep -x >/dev/null -- "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----" || fail "label"
    openssl pkey -pubin -in cosign.pub -noout -text 2>/dev/null | grep >/dev/null "prime256v1" || fail "not P-256"
    # the key file body is cosign's JSON, N=65536 by default
    sed '1d;$d' cosign.key | base64 -d | grep >/dev/null '^{"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"' ||
        fail "key file JSON"
    airlock public-key --key cosign.key
    expect_rc 0
    cmp "$T/out" cosign.pub || fail "public-key differs from cosign.pub"
}

case_keygen_refuses_to_overwrite() {
    keys
    sum=$(sha256sum cosign.key cosign.pub)
    airlock keygen
    expect_rc 1
    err_has "'cosign.key' already exists; use --force"
    [ "$(sha256sum cosign.key cosign.pub)" = "$sum" ] || fail "files changed"
    airlock generate-key-pair --force
    expect_rc 0
    [ "$(sha256sum cosign.key cosign.pub)" != "$sum" ] || fail "--force did not replace"
    ! ls | grep >/dev/null airlock- || fail "temporary files left"
}

case_keygen_force_never_loses_the_key() {
    keys fk
    sum=$(sha256sum < fk.key)
    rm fk.pub
    mkdir fk.pub # the public key cannot be written
    airlock keygen --force --output-key-prefix fk
    expect_rc 1
    [ -f fk.key ] && [ "$(sha256sum < fk.key)" = "$sum" ] || fail "the existing key was lost"
    ! ls | grep >/dev/null airlock- || fail "temporary files left"
}

case_keygen_scrypt_32768_uses_cosign_label() {
    airlock keygen --scrypt-n 32768 --output-key-prefix old
    expect_rc 0
    head -1 old.key | grep -x >/dev/null -- "-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----" || fail "label"
    sed '1d;$d' old.key | base64 -d | grep >/dev/null '"N":32768' || fail "N"
    airlock keygen --scrypt-n 1024 --output-key-prefix bad
    expect_rc 2
}

case_passwords_from_stdin_file_and_empty() {
    unset COSIGN_PASSWORD
    printf 'from stdin' | "$AIRLOCK" keygen --output-key-prefix a 2>/dev/null
    printf 'from stdin' | "$AIRLOCK" public-key --key a.key > a2.pub
    cmp a.pub a2.pub || fail "stdin password"
    printf 'from a file\n' > pw
    "$AIRLOCK" keygen --output-key-prefix b --password-file pw 2>/dev/null
    printf 'from a file' | "$AIRLOCK" public-key --key b.key > b2.pub
    cmp b.pub b2.pub || fail "password file (one newline dropped)"
    COSIGN_PASSWORD= "$AIRLOCK" keygen --output-key-prefix c 2>/dev/null
    COSIGN_PASSWORD= "$AIRLOCK" public-key --key c.key > c2.pub
    cmp c.pub c2.pub || fail "empty password"
    COSIGN_PASSWORD=wrong run "$AIRLOCK" public-key --key c.key
    expect_rc 2
    err_has "'c.key': wrong password, or the key file is damaged"
    out_empty
}

case_password_prompt_on_a_terminal() {
    command -v script >/dev/null || { echo "note: no script(1); skipped"; return 0; }
    unset COSIGN_PASSWORD
    # a real terminal (script's pty): asked twice, never echoed
    (sleep 0.5; printf 'typed-secret\n'; sleep 0.3; printf 'typed-secret\n') |
        script -qec "'$AIRLOCK' keygen --output-key-prefix t" /dev/null > tty.out 2>&1
    grep -F >/dev/null "Enter password for t.key again:" tty.out || fail "no second prompt: $(cat tty.out)"
    ! grep -F >/dev/null "typed-secret" tty.out || fail "the password was echoed"
    printf 'typed-secret' | "$AIRLOCK" public-key --key t.key | cmp - t.pub || fail "prompted password not used"
    (sleep 0.5; printf 'one\n'; sleep 0.3; printf 'two\n') |
        script -qec "'$AIRLOCK' keygen --output-key-prefix u; echo rc=\$?" /dev/null > tty2.out 2>&1
    grep -F >/dev/null "the passwords do not match" tty2.out || fail "mismatch not reported"
    grep -F >/dev/null "rc=2" tty2.out || fail "mismatch exit code: $(cat tty2.out)"
    [ ! -e u.key ] || fail "a key was written after a mismatch"
}

case_fixture_keys_as_their_readme_says() {
    for k in pemcosignkey pemsigstorekey; do
        COSIGN_PASSWORD=hello run "$AIRLOCK" public-key --key "$KF/cosign-keys/cosign_keys_test_$k.key"
        expect_rc 0
        cmp "$T/out" "$KF/cosign-keys/cosign_keys_test_$k.derived.pub" || fail "$k public key"
    done
    COSIGN_PASSWORD=hello run "$AIRLOCK" public-key --key "$KF/cosign-keys/cosign_keys_test_pemcosigneckey_NEGATIVE_sec1.key"
    expect_rc 2
    err_has "not PKCS#8"
    for k in validecp256_sec1 validecpkcs8; do
        airlock import-key-pair --key "$KF/cosign-keys/cosign_keys_test_$k.pem" --output-key-prefix "$k"
        expect_rc 0
        openssl pkey -in "$KF/cosign-keys/cosign_keys_test_$k.pem" -pubout 2>/dev/null | cmp - "$k.pub" ||
            fail "$k: imported public key differs"
        airlock public-key --key "$k.key"
        cmp "$T/out" "$k.pub" || fail "$k: key does not decrypt"
    done
    airlock import-key-pair --key "$KF/cosign-keys/cosign_keys_test_validrsapkcs8.pem"
    expect_rc 2
    err_has "RSA keys are not supported"
    airlock import-key-pair --key "$KF/cosign-keys/cosign_keys_test_ed25519_pkcs8.pem"
    expect_rc 2
    err_has "Ed25519 keys are not supported"
    [ ! -e import-cosign.key ] || fail "a key was written for a refused input"
}

case_sign_and_verify_offline_read_only() {
    keys
    make_bundle b.tar
    # signing needs no network: run it with networking disabled where the kernel lets us
    if unshare -n true 2>/dev/null; then
        run unshare -n "$AIRLOCK" sign --key cosign.key --identity registry.internal/devops/busybox b.tar
    else
        echo "note: unshare -n not permitted here; signing without it"
        airlock sign --key cosign.key --identity registry.internal/devops/busybox b.tar
    fi
    expect_rc 0
    out_has "sha256:$(cat "$F/L.digest")	example.com/test/busybox:1.0"
    mkdir ro && cp b.tar cosign.pub ro/ && chmod -R a-w ro
    airlock verify --key ro/cosign.pub ro/b.tar
    expect_rc 0
    err_has "The following checks were performed on each of these signatures:"
    err_has "  - The signatures were verified against the specified public key"
    out_has "ok       sha256:$(cat "$F/L.digest") example.com/test/busybox:1.0"
    airlock verify --json --key ro/cosign.pub ro/b.tar
    json '.ok and .signatures.ok and .integrity.ok'
    json '.images[0].signed and [.images[0].signatures[] | select(.format == "simplesigning")] == [{"format":"simplesigning","docker-reference":"registry.internal/devops/busybox","annotations":{}}]'
    json '[.images[0].signatures[].format] | sort == ["sigstore-bundle", "simplesigning"]'
    chmod -R u+w ro
}

case_independent_verifiers_accept_the_signature() {
    keys
    make_bundle b.tar
    "$AIRLOCK" sign --key cosign.key --identity registry.internal/devops/busybox b.tar >/dev/null
    "$PY" "$E2E_SRC/cosign_check.py" b.tar cosign.pub > check.out || fail "python verifier: $(cat check.out)"
    grep -q "^ok sha256:$(cat "$F/L.digest") registry.internal/devops/busybox$" check.out || fail "checker output"
    # openssl over the exact stored payload
    d=$(cat "$F/L.digest")
    sig=$(skopeo inspect --raw "oci-archive:b.tar:example.com/test/busybox:sha256-$d.sig")
    payload=$(jq -r '.layers[0].digest' <<<"$sig")
    tar xOf b.tar "blobs/sha256/${payload#sha256:}" > payload
    jq -r '.layers[0].annotations."dev.cosignproject.cosign/signature"' <<<"$sig" | base64 -d > sig.der
    openssl dgst -sha256 -verify cosign.pub -signature sig.der payload >/dev/null || fail "openssl rejects"
    printf '%s' "{\"critical\":{\"identity\":{\"docker-reference\":\"registry.internal/devops/busybox\"},\"image\":{\"docker-manifest-digest\":\"sha256:$d\"},\"type\":\"cosign container image signature\"},\"optional\":null}" |
        cmp - payload || fail "payload bytes differ from cosign's"
}

case_second_key_appends_same_key_adds_nothing() {
    keys
    keys k2
    make_bundle b.tar
    "$AIRLOCK" sign --key cosign.key b.tar >/dev/null
    size=$(stat -c %s b.tar)
    airlock sign --key cosign.key b.tar
    expect_rc 0
    err_has "was already signed with this key"
    [ "$(stat -c %s b.tar)" = "$size" ] || fail "bundle changed"
    "$AIRLOCK" sign --key k2.key b.tar >/dev/null
    airlock inspect --json b.tar
    json '.images[0].signatures == 2'
    for k in cosign k2; do
        airlock verify --key $k.pub b.tar
        expect_rc 0
    done
    # the new layer is appended, the first kept byte for byte
    "$PY" "$E2E_SRC/cosign_check.py" b.tar cosign.pub | grep >/dev/null '^other key' || fail "second layer missing"
}

case_recursive_and_selected_refs() {
    keys
    make_bundle b.tar
    "$AIRLOCK" import -q "$F/multi" -o b.tar
    airlock sign --key cosign.key --recursive b.tar example.com/multi:1
    expect_rc 0
    n=$(wc -l < "$T/out")
    [ "$n" = 3 ] || fail "expected the index and two platforms, got $n"
    tar xOf b.tar index.json | jq -r '.manifests[].annotations."org.opencontainers.image.ref.name"' |
        grep -c '\.sig$' | grep -x >/dev/null 3 || fail "three signature entries expected"
    # only the named image was signed
    airlock verify --key cosign.pub b.tar
    expect_rc 3
    out_has "UNSIGNED sha256:$(cat "$F/L.digest") example.com/test/busybox:1.0"
    airlock verify --key cosign.pub --allow-unsigned b.tar
    expect_rc 0
    err_has "image 'example.com/test/busybox:1.0' is not signed (allowed)"
    airlock sign --key cosign.key b.tar example.com/nothing:1
    expect_rc 1
    err_has "no image 'example.com/nothing:1' in the bundle"
}

case_identity_and_annotations() {
    keys
    make_bundle b.tar
    "$AIRLOCK" sign --key cosign.key --identity registry.internal/devops/busybox:1.0 -a env=prod -a team=ops b.tar >/dev/null
    airlock verify --key cosign.pub --identity registry.internal/devops/busybox b.tar
    expect_rc 0
    airlock verify --key cosign.pub --identity registry.internal/devops/busybox:1.0 -a env=prod b.tar
    expect_rc 0
    airlock verify --key cosign.pub --identity registry.internal/devops/busybox:2.0 b.tar
    expect_rc 3
    err_has "identity 'registry.internal/devops/busybox:1.0' does not match 'registry.internal/devops/busybox:2.0'"
    airlock verify --key cosign.pub -a env=dev b.tar
    expect_rc 3
    err_has "annotation env=dev not signed (has prod)"
    airlock verify --json --key cosign.pub b.tar
    json '.images[0].signatures[0].annotations == {"env":"prod","team":"ops"}'
    # a key given twice: the last value, as cosign's map keeps it (never a duplicate key)
    make_bundle c.tar
    "$AIRLOCK" sign --key cosign.key -a env=a -a env=b c.tar >/dev/null
    airlock verify --key cosign.pub -a env=b c.tar
    expect_rc 0
    mv cosign.pub cosign.pub.away # (with cosign.pub here, it is the default key, as cosign's)
    airlock verify --identity x b.tar
    expect_rc 2
    mv cosign.pub.away cosign.pub
}

case_wrong_key_and_unsigned() {
    keys
    keys other
    make_bundle b.tar
    airlock verify --key cosign.pub b.tar
    expect_rc 3
    err_has "image 'example.com/test/busybox:1.0': no signature verified"
    err_has "no signatures found"
    "$AIRLOCK" sign --key cosign.key b.tar >/dev/null
    airlock verify --key other.pub b.tar
    expect_rc 3
    err_has "signature does not verify with the key"
    out_has "BADSIG"
}

case_tampering_is_caught() {
    keys
    make_bundle b.tar
    # the .sig alone: a bundle referrer beside it would still verify (tests/e2e/test_cosign3.sh
    # tampers with bundles)
    "$AIRLOCK" sign --key cosign.key --signature-format simplesigning b.tar >/dev/null
    d=$(cat "$F/L.digest")
    sigm=$(tar xOf b.tar index.json | jq -r '[.manifests[] | select(.annotations.kind=="dev.cosignproject.cosign/sigs")][-1].digest' | tail -1)
    payload=$(tar xOf b.tar "blobs/sha256/${sigm#sha256:}" | jq -r '.layers[0].digest')
    layer=$(tar xOf b.tar "blobs/sha256/$d" | jq -r '.layers[0].digest')
    # (entry, expected exit): payload or signature manifest -> 3, image content -> 4
    for pair in "${payload#sha256:}:3" "${sigm#sha256:}:3" "${layer#sha256:}:4" "$d:4"; do
        blob=${pair%%:*}
        want=${pair##*:}
        cp b.tar t.tar
        off=$("$PY" -c "
import tarfile,sys
with tarfile.open('t.tar') as t:
    ms=[m for m in t.getmembers() if m.name=='blobs/sha256/$blob']
    print(ms[-1].offset_data + ms[-1].size//2)")
        printf 'X' | dd of=t.tar bs=1 seek="$off" conv=notrunc 2>/dev/null
        airlock verify --key cosign.pub t.tar
        [ "$rc" = "$want" ] || fail "tampered blob $blob: exit $rc, want $want"
    done
    # a signature that is well-formed but wrong: only the signature check fails
    "$PY" - "$sigm" <<'PYEOF'
import sys, tarfile, io, json, hashlib
sigm = sys.argv[1][7:]
with tarfile.open("b.tar") as t:
    files = {}
    for m in t.getmembers():
        if m.isfile():
            files[m.name] = t.extractfile(m).read()
man = json.loads(files["blobs/sha256/" + sigm])
ann = man["layers"][0]["annotations"]
ann["dev.cosignproject.cosign/signature"] = "MEUCIQDmtamqYPjMg81nqeBhptrPls44aA/r7PwLmspINJY4MwIgR4UAMBqf7sVzvsuUpPd2+g0Rf2/uyBJUtpQTAev0m6c="
raw = json.dumps(man, separators=(",", ":")).encode()
nd = hashlib.sha256(raw).hexdigest()
files["blobs/sha256/" + nd] = raw
idx = json.loads(files["index.json"])
for e in idx["manifests"]:
    if e["digest"] == "sha256:" + sigm:
        e["digest"], e["size"] = "sha256:" + nd, len(raw)
files["index.json"] = json.dumps(idx).encode()
with tarfile.open("bad.tar", "w", format=tarfile.USTAR_FORMAT) as t:
    for n, d in files.items():
        ti = tarfile.TarInfo(n); ti.size = len(d); t.addfile(ti, io.BytesIO(d))
PYEOF
    airlock verify --json --key cosign.pub bad.tar
    expect_rc 3
    json '.integrity.ok and (.signatures.ok | not)'
}

case_real_cosign_signatures_verify() {
    "$PY" "$E2E_SRC/mkcosignbundle.py" "$KF/containers-image" c.tar
    airlock verify --json --key "$KF/containers-image/cosign.pub" c.tar
    # the fixtures carry only the signed manifests: integrity fails (4), signatures hold
    expect_rc 4
    json '.signatures.ok and (.integrity.ok | not)'
    json '[.images[] | select(.signed)] | length == 2'
    json '[.images[0].signatures[]["docker-reference"]] == ["192.168.64.2:5000/cosign-signed-single-sample","192.168.64.2:5000/cosign-signed-single-sample"]'
    json '.images[2].signatures[0]["docker-reference"] == "192.168.64.2:5000/skopeo-signed:tag"'
    json '.images[2].signatures[0].annotations.creator == "containers/image 5.21.2-dev"'
    airlock verify --key "$KF/containers-image/cosign2.pub" c.tar
    expect_rc 3
    airlock verify --json --key "$KF/containers-image/cosign2.pub" c-rekor.tar
    expect_rc 4
    json '.signatures.ok'
    airlock verify --key "$KF/containers-image/cosign.pub" c-rekor.tar
    expect_rc 3
}

case_sign_directory_and_zstd_bundles() {
    keys
    make_bundle d/
    make_bundle z.tar.zst
    for b in d z.tar.zst; do
        airlock sign --key cosign.key "$b"
        expect_rc 0
        airlock verify --key cosign.pub "$b"
        expect_rc 0
    done
    [ "$(head -c4 z.tar.zst | od -An -tx1 | tr -d ' ')" = "28b52ffd" ] || fail "no longer zstd"
    no_leftovers .
    no_leftovers d
    "$PY" "$E2E_SRC/cosign_check.py" d cosign.pub >/dev/null || fail "python verifier on the directory"
}

case_interrupted_sign_keeps_old_bundle() {
    keys
    make_bundle b.tar
    sum=$(sha256sum < b.tar)
    AIRLOCK_TEST_CRASH_AFTER_APPEND=1 run "$AIRLOCK" sign --key cosign.key b.tar
    expect_rc 99
    [ "$(sha256sum < b.tar)" != "$sum" ] || fail "nothing was appended"
    # every reader still sees the old bundle: airlock, GNU tar, skopeo
    airlock verify b.tar
    expect_rc 0
    airlock verify --key cosign.pub b.tar
    expect_rc 3
    err_has "no signatures found"
    ! tar tf b.tar | grep >/dev/null '\.airlock-padding' || fail "tar sees the new entries"
    skopeo inspect --raw "oci-archive:b.tar:example.com/test/busybox:1.0" >/dev/null || fail "skopeo cannot read it"
    # and a later sign completes normally
    airlock sign --key cosign.key b.tar
    expect_rc 0
    airlock verify --key cosign.pub b.tar
    expect_rc 0
    # killed at random points: the bundle verifies, with or without the new signature
    keys k2
    for delay in 0.05 0.1 0.15 0.2 0.25 0.3; do
        "$AIRLOCK" sign --key k2.key b.tar >/dev/null 2>&1 &
        pid=$!
        sleep $delay
        kill -9 $pid 2>/dev/null || true
        wait $pid 2>/dev/null || true
        airlock verify --key cosign.pub b.tar
        expect_rc 0
    done
}

case_signing_keeps_bundle_readable_by_skopeo() {
    keys
    make_bundle b.tar
    "$AIRLOCK" sign --key cosign.key b.tar >/dev/null
    skopeo copy -q "oci-archive:b.tar:example.com/test/busybox:1.0" oci:out:x
    [ "$(jq -r '.manifests[0].digest' out/index.json)" = "sha256:$(cat "$F/L.digest")" ] || fail "digest"
    skopeo inspect --raw "oci-archive:b.tar:example.com/test/busybox:sha256-$(cat "$F/L.digest").sig" |
        jq -e '.layers[0].mediaType == "application/vnd.dev.cosign.simplesigning.v1+json"' >/dev/null ||
        fail "skopeo does not see the signature"
    # the time to sign does not depend on the bundle: it appends only the signature entries
    before=$(stat -c %s b.tar)
    "$AIRLOCK" keygen --output-key-prefix k2 2>/dev/null
    "$AIRLOCK" sign --key k2.key b.tar >/dev/null
    grow=$(( $(stat -c %s b.tar) - before ))
    [ "$grow" -lt 20000 ] || fail "sign grew the bundle by $grow bytes"
}

DOCKERSIG() { "$PY" "$E2E_SRC/mkdockersig.py" "$@"; }

# cosign with COSIGN_DOCKER_MEDIA_TYPES=1 writes the .sig as a Docker v2 manifest: cosign
# verifies it, containers/image does not read it (so not with --identity)
case_docker_typed_sig_verifies_without_identity() {
    keys
    make_bundle d/
    "$AIRLOCK" sign --key cosign.key --identity registry.internal/devops/busybox d >/dev/null
    DOCKERSIG d docker >/dev/null
    airlock verify --key cosign.pub d
    expect_rc 0
    out_has "ok       sha256:$(cat "$F/L.digest") example.com/test/busybox:1.0"
    airlock verify --key cosign.pub --identity registry.internal/devops/busybox d
    expect_rc 3
    err_has "containers/image reads only OCI signature manifests"
    airlock inspect --json d
    json '.images[0].signatures == 1'
}

case_sign_on_docker_typed_sig_writes_oci() {
    keys
    keys k2
    make_bundle d/
    "$AIRLOCK" sign --key cosign.key --identity registry.internal/devops/busybox d >/dev/null
    DOCKERSIG d docker >/dev/null
    airlock sign --key k2.key --identity registry.internal/devops/busybox d
    expect_rc 0
    e=$(jq -c '.manifests[] | select(.annotations."org.opencontainers.image.ref.name" | endswith(".sig"))' d/index.json)
    [ "$(jq -r .mediaType <<<"$e")" = application/vnd.oci.image.manifest.v1+json ] || fail "descriptor: $e"
    jq -e '.mediaType == "application/vnd.oci.image.manifest.v1+json" and (.layers | length) == 2' \
        "d/blobs/sha256/$(jq -r '.digest[7:]' <<<"$e")" >/dev/null || fail "manifest not OCI with both layers"
    for k in cosign k2; do
        airlock verify --key $k.pub d
        expect_rc 0
    done
    for k in cosign k2; do
        airlock verify --key $k.pub --identity registry.internal/devops/busybox d
        expect_rc 0
    done
}

case_descriptor_media_type_differs_from_manifest() {
    keys
    make_bundle d/
    "$AIRLOCK" sign --key cosign.key d >/dev/null
    dg=$(DOCKERSIG d mismatch)
    airlock verify d
    expect_rc 4
    err_has "manifest '$dg'"
    err_has "application/vnd.docker.distribution.manifest.v2+json"
    err_has "application/vnd.oci.image.manifest.v1+json"
}

main "$@"
