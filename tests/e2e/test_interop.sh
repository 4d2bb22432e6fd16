# Third-party consumers read what airlock writes: skopeo round trips keep every digest.
. "$(dirname "$0")/lib.sh"
F=$FIXTURES

case_skopeo_reads_bundle_same_digest() {
    "$AIRLOCK" import -q "$F/multi" -o b.tar
    make_bundle b.tar  # merged: two images
    ref=example.com/test/busybox:1.0
    skopeo copy -q "oci-archive:b.tar:$ref" oci:out:x
    [ "$(jq -r '.manifests[0].digest' out/index.json)" = "sha256:$(cat "$F/L.digest")" ] ||
        fail "skopeo copied another digest"
    skopeo inspect --raw "oci-archive:b.tar:example.com/multi:1" | sha256sum | grep >/dev/null "^$(cat "$F/multi.digest") " ||
        fail "index bytes differ through skopeo"
}

case_skopeo_reads_directory_bundle() {
    make_bundle b.d/
    skopeo inspect --raw "oci:b.d:example.com/test/busybox:1.0" | sha256sum |
        grep -q "^$(cat "$F/L.digest") " || fail "skopeo cannot read the directory form"
}

case_skopeo_digests_match_inspect() {
    "$AIRLOCK" import -q "$F/d.tar" -o b.tar
    want=$(skopeo inspect --raw docker-archive:"$F/d.tar" | jq -r '.config.digest')
    airlock inspect --json b.tar
    d=$(jq -r '.images[0].digest' "$T/out")
    got=$(skopeo inspect --raw "oci-archive:b.tar:example.com/foo:1.0" | jq -r '.config.digest')
    [ "$got" = "$want" ] || fail "config digest $got, skopeo says $want"
    skopeo inspect --raw "oci-archive:b.tar:example.com/foo:1.0" | sha256sum | grep >/dev/null "^${d#sha256:} " ||
        fail "manifest digest differs"
}

case_umoci_reads_directory_bundle() {
    make_bundle b.d/
    umoci ls --layout b.d | grep -x >/dev/null 'example.com/test/busybox:1.0' || fail "umoci does not list the image"
    umoci unpack --rootless --image b.d:example.com/test/busybox:1.0 bundle >/dev/null
    [ -x bundle/rootfs/bin/busybox ] || fail "unpacked image lacks busybox"
}

case_tar_layout_at_root() {
    make_bundle b.tar
    tar tf b.tar > list
    grep -qx oci-layout list && grep -qx index.json list || fail "layout not at the tar root"
    ! grep -q '^\./' list || fail "leading ./ in names"
    tar xOf b.tar oci-layout | jq -e '.imageLayoutVersion == "1.0.0"' >/dev/null || fail "bad oci-layout"
}

main "$@"
