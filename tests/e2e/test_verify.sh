# verify: integrity of every blob, JSON report, read-only operation.
. "$(dirname "$0")/lib.sh"
F=$FIXTURES

case_ok_bundle() {
    make_bundle b.tar
    airlock verify b.tar
    expect_rc 0
    out_has "ok       sha256:$(cat "$F/L.digest") example.com/test/busybox:1.0"
    err_has "verified: 3 blobs checked"
}

case_json_report_shape() {
    make_bundle b.tar.zst
    airlock verify --json b.tar.zst
    expect_rc 0
    json '.ok == true and .blobs.checked == 3 and .blobs.missing == [] and .blobs.corrupt == []'
    json ".images == [{\"ref\":\"example.com/test/busybox:1.0\",\"digest\":\"sha256:$(cat "$F/L.digest")\",\"kind\":\"dev.cosignproject.cosign/image\",\"ok\":true}]"
    err_empty
}

# A flipped byte in every blob of every form is caught with exit 4.
case_flipped_byte_in_any_blob() {
    "$AIRLOCK" import -q "$F/multi" -o base.tar
    for form in tar tar.zst dir; do
        for blob in $(tar tf base.tar | grep '^blobs/sha256/.' | sed 's#blobs/sha256/##'); do
            rm -rf x x.d
            mkdir x.d
            tar -C x.d -xf base.tar
            size=$(stat -c %s "x.d/blobs/sha256/$blob")
            off=$((size / 2))
            printf '\x01' | cmp -s - <(dd if="x.d/blobs/sha256/$blob" bs=1 skip=$off count=1 2>/dev/null) &&
                val='\x02' || val='\x01'
            printf "$val" | dd of="x.d/blobs/sha256/$blob" bs=1 seek=$off conv=notrunc 2>/dev/null
            case $form in
            tar) tar -C x.d -cf x.tar oci-layout index.json blobs; target=x.tar ;;
            tar.zst) tar -C x.d -cf - oci-layout index.json blobs | zstd -q -o x.tar.zst -f; target=x.tar.zst ;;
            dir) target=x.d ;;
            esac
            airlock verify --json "$target"
            expect_rc 4
            json ".ok == false and (.blobs.corrupt | index(\"sha256:$blob\")) != null"
        done
    done
}

case_missing_blob() {
    make_bundle b.dir/
    layer=$(jq -r '.layers[0].digest' "b.dir/blobs/sha256/$(cat "$F/L.digest")")
    rm "b.dir/blobs/sha256/${layer#sha256:}"
    airlock verify b.dir
    expect_rc 4
    err_has "blob '$layer' (layer 1 of sha256:$(cat "$F/L.digest")) is missing"
    out_has "FAILED   sha256:$(cat "$F/L.digest")"
    airlock verify --json b.dir
    expect_rc 4
    json ".blobs.missing == [\"$layer\"]"
}

case_wrong_size_in_descriptor() {
    make_bundle b.dir/
    # grow the config blob: size no longer matches its descriptor
    cfg=$(jq -r '.config.digest' "b.dir/blobs/sha256/$(cat "$F/L.digest")")
    echo " " >> "b.dir/blobs/sha256/${cfg#sha256:}"
    airlock verify b.dir
    expect_rc 4
    err_has "blob '$cfg' (config of sha256:"
    err_has "its descriptor says"
}

case_unreferenced_blob_is_flagged_not_fatal() {
    make_bundle b.dir/
    echo extra > extra
    h=$(sha256sum extra | cut -d' ' -f1)
    cp extra "b.dir/blobs/sha256/$h"
    airlock verify b.dir
    expect_rc 0
    err_has "warning: blob 'sha256:$h' is not referenced by any image"
    airlock verify --json b.dir
    json ".blobs.unreferenced == [\"sha256:$h\"]"
}

case_read_only_and_unchanged() {
    make_bundle b.tar
    make_bundle c.dir/
    chmod -R a-w b.tar c.dir
    # (ls -A: the listing of ".." would show this case's own out/err files appearing)
    before=$(sha256sum b.tar; find c.dir -type f -exec sha256sum {} + | sort; ls -lA --time-style=+%s c.dir c.dir/blobs/sha256; stat -c '%n %Y' b.tar c.dir c.dir/blobs/sha256)
    airlock verify b.tar
    expect_rc 0
    airlock verify c.dir
    expect_rc 0
    after=$(sha256sum b.tar; find c.dir -type f -exec sha256sum {} + | sort; ls -lA --time-style=+%s c.dir c.dir/blobs/sha256; stat -c '%n %Y' b.tar c.dir c.dir/blobs/sha256)
    [ "$before" = "$after" ] || fail "verify changed something"
}

case_index_json_last_one_wins() {
    make_bundle b.tar
    # append a second, broken index.json after the first: tar readers take the last
    "$PY" - <<'PYEOF'
import tarfile, io
data = open("b.tar","rb").read()
# strip the end-of-archive blocks, then append another index.json
end = len(data)
while end >= 512 and data[end-512:end] == b"\0"*512:
    end -= 512
bad = b'{"schemaVersion":2,"manifests":[{"digest":"sha256:' + b"0"*64 + b'","size":1,"mediaType":"application/vnd.oci.image.manifest.v1+json"}]}'
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
    ti = tarfile.TarInfo("index.json"); ti.size = len(bad)
    t.addfile(ti, io.BytesIO(bad))
open("c.tar","wb").write(data[:end] + buf.getvalue())
PYEOF
    airlock verify c.tar
    expect_rc 4
    err_has "blob 'sha256:0000000000000000000000000000000000000000000000000000000000000000'"
}

case_duplicate_blob_last_copy_wins() {
    make_bundle b.tar
    layer=$(tar xOf b.tar "blobs/sha256/$(cat "$F/L.digest")" | jq -r '.layers[0].digest')
    # a corrupt copy first, then the good one: the last one counts and the bundle is fine
    "$PY" - "blobs/sha256/${layer#sha256:}" <<'PYEOF'
import sys, tarfile, io
name = sys.argv[1]
with tarfile.open("b.tar") as t:
    ents = [(m, t.extractfile(m).read() if m.isfile() else None) for m in t.getmembers()]
def write(path, order):
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as t:
        for m, d in ents:
            if m.name == name:
                copies = [b"corrupt", d] if order == "bad-first" else [d, b"corrupt"]
                for c in copies:
                    mi = tarfile.TarInfo(name); mi.size = len(c)
                    t.addfile(mi, io.BytesIO(c))
            else:
                t.addfile(m, io.BytesIO(d) if d is not None else None)
write("good-last.tar", "bad-first")
write("bad-last.tar", "good-first")
PYEOF
    airlock verify good-last.tar
    expect_rc 0
    airlock verify bad-last.tar
    expect_rc 4
    airlock import good-last.tar -o copy.tar
    expect_rc 0
}

odd() { "$PY" "$E2E_SRC/mkodd.py" "$1" "$2"; }

case_manifest_with_many_layers() {
    odd many_layers m.tar
    airlock verify --json m.tar
    expect_rc 0
    json '.ok and .blobs.checked == 102'
    airlock import m.tar -o copy.tar
    expect_rc 0
}

case_descriptors_without_media_type_are_followed() {
    odd no_mediatype n.tar
    airlock verify --json n.tar
    expect_rc 0
    json '.blobs.checked == 4 and .blobs.unreferenced == []'
    airlock import n.tar -o copy.tar
    expect_rc 0
    # the imported entry says what it is
    tar xOf copy.tar index.json | jq -e '.manifests[0].mediaType == "application/vnd.oci.image.manifest.v1+json"' >/dev/null ||
        fail "mediaType not filled in"
    airlock verify --json copy.tar
    expect_rc 0
    json '.blobs.checked == 4'
}

case_every_image_sharing_a_bad_blob_fails() {
    odd shared s.tar
    airlock verify --json s.tar
    expect_rc 4
    json '[.images[].ok] == [false, false]'
}

case_deep_nesting() {
    odd deep d.tar
    airlock verify d.tar
    expect_rc 0
    airlock import d.tar -o copy.tar
    expect_rc 4
    err_has "manifests nested deeper than 16 levels"
    [ ! -e copy.tar ] || fail "import wrote a bundle"
}

case_symlinked_blobs_directory_refused() {
    make_bundle real/
    mkdir link
    cp real/index.json real/oci-layout link/
    ln -s ../real/blobs link/blobs
    airlock verify link
    expect_rc 4
    err_has "open 'link/blobs/sha256' (symbolic links are refused)"
}

case_not_a_bundle() {
    echo "hello" > notes.txt
    airlock verify notes.txt
    expect_rc 4
    err_has "'notes.txt': neither a directory nor a tar archive"
    airlock verify "$F/d.tar"
    expect_rc 4
    err_has "no 'oci-layout' file: not an OCI image layout"
    airlock verify nonexistent
    expect_rc 1
    err_has "open bundle 'nonexistent': No such file or directory"
}

case_quiet_prints_nothing() {
    make_bundle b.tar
    airlock verify -q b.tar
    expect_rc 0
    out_has "ok " # -q as on every command: the results stay on stdout, stderr has no notices
    err_empty
}

main "$@"
