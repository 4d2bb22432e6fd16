# Hostile input is normal input: each case gets a clear message naming the entry, exit code 4,
# nothing written (to the destination or outside it), no crash and no hang.
. "$(dirname "$0")/lib.sh"
F=$FIXTURES

hostile() { # CASE -> h.tar (or h.tar.zst)
    make_bundle good.tar
    "$PY" "$E2E_SRC/mkhostile.py" good.tar "$1" "$2"
}

# verify and import both refuse with code 4 and a message; import writes nothing.
refused() {
    local file=$1 msg=$2
    airlock verify "$file"
    expect_rc 4
    err_has "$msg"
    airlock verify --json "$file"
    expect_rc 4
    json '.ok == false and (.error | length) > 0'
    airlock import "$file" -o out.tar
    expect_rc 4
    err_has "$msg"
    [ ! -e out.tar ] || fail "import wrote a bundle"
    no_leftovers .
}

case_dotdot_entry() {
    hostile dotdot h.tar
    refused h.tar "entry 'blobs/../../evil': '..' in path refused"
    [ ! -e ../evil ] && [ ! -e ../../evil ] || fail "wrote outside"
}

case_absolute_entry() {
    hostile absolute h.tar
    refused h.tar "entry '/tmp/airlock-evil': absolute path refused"
    [ ! -e /tmp/airlock-evil ] || fail "wrote outside"
}

case_symlink_entry() {
    hostile symlink h.tar
    refused h.tar "entry 'blobs/sha256/1111111111111111111111111111111111111111111111111111111111111111': symbolic link refused"
}

case_hardlink_entry() {
    hostile hardlink h.tar
    refused h.tar "hard link refused"
}

case_device_entry() {
    hostile device h.tar
    refused h.tar "device or special file refused"
}

case_truncated_archive() {
    hostile truncated h.tar
    refused h.tar "truncated"
}

case_zstd_bomb() {
    hostile bomb h.tar.zst
    airlock verify h.tar.zst
    expect_rc 4
    err_has "claims 68719476736 bytes"
    err_has "decompression bomb"
    airlock import h.tar.zst -o out.tar
    expect_rc 4
    [ ! -e out.tar ] || fail "import wrote a bundle"
}

case_oversized_index_json() {
    hostile huge_index h.tar
    refused h.tar "index.json larger than 16777216 bytes"
}

case_deeply_nested_json() {
    hostile deep_json h.tar
    refused h.tar "JSON nested deeper than 64 levels"
}

case_digest_of_wrong_algorithm() {
    hostile bad_algorithm h.tar
    refused h.tar "unsupported algorithm (only sha256)"
}

case_digest_of_wrong_form() {
    hostile bad_digest_form h.tar
    refused h.tar "digest 'sha256:XYZ': not 64 lowercase hex digits"
}

case_blob_named_with_other_algorithm() {
    hostile blob_name_algorithm h.tar
    refused h.tar "entry 'blobs/sha512/"
}

case_blob_named_without_digest() {
    hostile blob_name_form h.tar
    refused h.tar "entry 'blobs/sha256/not-a-digest': not named by a sha256 digest"
}

case_blob_content_does_not_match_name() {
    hostile content_mismatch h.tar
    airlock verify h.tar
    expect_rc 4
    err_has "is corrupt (content hashes to 'sha256:"
    airlock import h.tar -o out.tar
    expect_rc 4
    err_has "content does not match its digest"
    [ ! -e out.tar ] || fail "import wrote a bundle"
    no_leftovers .
}

case_docker_save_symlink_out_of_archive() {
    "$PY" "$E2E_SRC/mkhostile.py" /dev/null docker_escape h.tar 2>/dev/null ||
        { make_bundle good.tar; "$PY" "$E2E_SRC/mkhostile.py" good.tar docker_escape h.tar; }
    airlock import h.tar -o out.tar
    expect_rc 4
    err_has "link leaves the archive"
    [ ! -e out.tar ] || fail "import wrote a bundle"
}

case_failed_import_keeps_existing_bundle() {
    make_bundle b.tar
    sum=$(sha256sum b.tar)
    hostile content_mismatch h.tar
    airlock import h.tar -o b.tar
    expect_rc 4
    [ "$(sha256sum b.tar)" = "$sum" ] || fail "existing bundle changed"
    no_leftovers .
}

case_interrupted_import_leaves_no_bundle() {
    make_bundle b.tar
    sum=$(sha256sum b.tar)
    # a big random layer keeps the import busy long enough to interrupt it
    mkdir -p big
    head -c 300000000 /dev/urandom > big/layer
    "$PY" - <<'PYEOF'
import hashlib, json, os
layer = open("big/layer","rb").read()
def blob(d):
    h = hashlib.sha256(d).hexdigest(); os.makedirs("L/blobs/sha256", exist_ok=True)
    open("L/blobs/sha256/"+h,"wb").write(d); return "sha256:"+h
cfg = json.dumps({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}).encode()
man = json.dumps({"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":blob(cfg),"size":len(cfg)},
  "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":blob(layer),"size":len(layer)}]}).encode()
open("L/oci-layout","w").write('{"imageLayoutVersion":"1.0.0"}')
open("L/index.json","w").write(json.dumps({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":blob(man),"size":len(man),"annotations":{"org.opencontainers.image.ref.name":"example.com/big:1"}}]}))
PYEOF
    for sig in INT KILL; do
        "$AIRLOCK" import L -o b.tar 2>/dev/null &
        pid=$!
        # wait until the temporary file exists and grows, then interrupt
        for _ in $(seq 1 200); do
            ls -A . | grep >/dev/null 'airlock-' && break
            sleep 0.01
        done
        kill -$sig $pid 2>/dev/null || true
        wait $pid 2>/dev/null || true
        [ "$(sha256sum b.tar)" = "$sum" ] || fail "existing bundle changed after SIG$sig"
        if [ $sig = INT ]; then no_leftovers .; fi
        rm -f .b.tar.airlock-*
    done
    airlock verify b.tar
    expect_rc 0
}

main "$@"
