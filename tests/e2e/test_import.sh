# import: every supported input shape, naming, merging, forms.
. "$(dirname "$0")/lib.sh"
F=$FIXTURES

case_skopeo_oci_archive_needs_a_name() {
    airlock import "$F/o.tar" -o b.tar
    expect_rc 2
    err_has "'$F/o.tar': an image has no usable reference (only the tag 'latest')"
    err_has "--name REF"
    [ ! -e b.tar ] || fail "a bundle was written"
    no_leftovers .
}

case_skopeo_oci_archive_with_name() {
    airlock import --name example.com/app "$F/o.tar" -o b.tar
    expect_rc 0
    # the bare tag of the source is kept when --name has none
    out_has "sha256:$(cat "$F/L.digest")	example.com/app:latest"
    err_has "wrote 'b.tar': 1 references"
    airlock inspect --json b.tar
    json '.images[0].ref == "example.com/app:latest"'
    json ".images[0].digest == \"sha256:$(cat "$F/L.digest")\""
    json '.images[0].platforms == ["linux/amd64"]'
}

case_skopeo_docker_archive_keeps_digests() {
    airlock import "$F/d.tar" -o b.tar
    expect_rc 0
    out_has "example.com/foo:1.0"
    # the layer is skopeo's uncompressed tar: its digest is the config's diff_id
    want=$(skopeo inspect --config docker-archive:"$F/d.tar" | jq -r '.rootfs.diff_ids[0]')
    tar tf b.tar | grep >/dev/null "blobs/sha256/${want#sha256:}" || fail "layer $want not kept"
    airlock verify b.tar
    expect_rc 0
}

case_docker_save_legacy_with_symlinked_layer() {
    airlock import "$F/legacy.tar" -o b.tar
    expect_rc 0
    out_has "docker.io/library/busybox:legacy"
    out_has "example.com/dup:1"
    out_has "example.com/dup:latest"
    tar tf b.tar | grep >/dev/null "blobs/sha256/$(cat "$F/legacy.layer.digest")" || fail "layer digest changed"
    airlock verify --json b.tar
    expect_rc 0
    json '.ok and (.images | length) == 3'
}

case_docker_25_save_uses_containerd_name() {
    airlock import "$F/d25.tar" -o b.tar
    expect_rc 0
    out_has "sha256:$(cat "$F/d25.digest")	docker.io/library/busybox:d25"
    # the unreferenced legacy JSON blob of the source is not carried
    airlock verify --json b.tar
    json '.blobs.unreferenced == []'
}

case_docker_containerd_store_partial_index() {
    airlock import "$F/ctrd.tar" -o b.tar
    expect_rc 0
    # the only platform present is imported under the image's name, and the user is told
    out_has "sha256:$(cat "$F/L.digest")	docker.io/library/busybox:ctrd"
    err_has "index sha256:$(cat "$F/ctrd.index.digest") lists 2 manifest(s) the archive lacks"
    err_has "importing its only platform, linux/amd64"
    airlock verify b.tar
    expect_rc 0
    # two platforms present and one missing: no guessing
    airlock import "$F/ctrd2.tar" -o c.tar
    expect_rc 4
    err_has "cannot tell which to keep"
    [ ! -e c.tar ] || fail "wrote a bundle"
}

case_cosign_save_layout_signature_follows_image() {
    airlock import --name example.com/cos:1 "$F/cosign" -o b.tar
    expect_rc 0
    d=$(cat "$F/L.digest")
    out_has "example.com/cos:sha256-$d.sig"
    airlock inspect --json b.tar
    json ".images[0].signatures == 1"
    json ".artifacts[0].role == \"signature\" and .artifacts[0].subject == \"sha256:$d\""
    tar xOf b.tar index.json > idx.json
    jq -e '.manifests[1].annotations.kind == "dev.cosignproject.cosign/sigs"' idx.json >/dev/null ||
        fail "signature entry lacks kind"
}

case_hauler_store() {
    airlock import "$F/haul.tar.zst" -o b.tar
    expect_rc 0
    out_has "docker.io/library/busybox:stable"
    out_has "docker.io/library/busybox:sha256-$(cat "$F/L.digest").sig"
}

case_multi_arch_index_kept_whole() {
    airlock import "$F/multi" -o b.tar
    expect_rc 0
    out_has "sha256:$(cat "$F/multi.digest")	example.com/multi:1"
    airlock inspect --json b.tar
    json '.images[0].platforms == ["linux/amd64","linux/arm64/v8"]'
    json '.images[0].mediaType == "application/vnd.oci.image.index.v1+json"'
    # the pretty-printed index is kept byte for byte
    cmp <(tar xOf b.tar "blobs/sha256/$(cat "$F/multi.digest")") "$F/multi/blobs/sha256/$(cat "$F/multi.digest")" ||
        fail "index bytes changed"
}

case_many_inputs_deduplicated() {
    airlock import --name example.com/app:1 "$F/o.tar" "$F/L" "$F/multi" "$F/d.tar" -o b.tar
    expect_rc 0
    # o.tar and L are the same image: its blobs are stored once
    n=$(tar tf b.tar | grep -c '^blobs/sha256/.')
    uniq=$(tar tf b.tar | grep '^blobs/sha256/.' | sort -u | wc -l)
    [ "$n" = "$uniq" ] || fail "duplicate blob entries"
    airlock verify b.tar
    expect_rc 0
}

case_merge_into_existing_bundle() {
    make_bundle b.tar
    airlock import "$F/multi" -o b.tar
    expect_rc 0
    airlock inspect --json b.tar
    json '[.images[].ref] == ["example.com/test/busybox:1.0","example.com/multi:1"]'
    # a reference given again is replaced, not duplicated
    airlock import --name example.com/multi:1 "$F/o.tar" -o b.tar
    expect_rc 0
    airlock inspect --json b.tar
    json '(.images | length) == 2'
    json ".images[1].digest == \"sha256:$(cat "$F/L.digest")\""
    airlock verify --json b.tar
    json '.ok and .blobs.unreferenced == []'
}

case_merge_bundles_of_all_forms() {
    make_bundle a.tar.zst
    "$AIRLOCK" import -q "$F/multi" -o d/
    airlock import a.tar.zst d -o all.tar
    expect_rc 0
    airlock inspect --json all.tar
    json '(.images | length) == 2'
}

case_forms_from_path_and_flag() {
    make_bundle b.tar.zst
    [ "$(head -c4 b.tar.zst | od -An -tx1 | tr -d ' ')" = "28b52ffd" ] || fail "not zstd"
    make_bundle b.tar
    tar tf b.tar >/dev/null || fail "not a tar"
    make_bundle b.dir/
    [ -f b.dir/oci-layout ] && [ -f b.dir/index.json ] || fail "not a layout dir"
    airlock import --format tar.zst --name example.com/x:1 "$F/o.tar" -o plain-name
    expect_rc 0
    [ "$(head -c4 plain-name | od -An -tx1 | tr -d ' ')" = "28b52ffd" ] || fail "--format ignored"
    airlock import --format zip "$F/o.tar" -o x
    expect_rc 2
    err_has "unknown format 'zip'"
}

case_refuses_to_overwrite_a_non_bundle() {
    echo "precious" > notes.txt
    airlock import --name example.com/x:1 "$F/o.tar" -o notes.txt
    expect_rc 1
    err_has "'notes.txt' exists and is not a bundle airlock can add to"
    [ "$(cat notes.txt)" = "precious" ] || fail "file was touched"
}

case_json_result() {
    airlock import --json --name example.com/x:1 "$F/o.tar" -o b.tar
    expect_rc 0
    json '.bundle == "b.tar" and .images[0].ref == "example.com/x:1" and .blobs == 3'
    err_empty
}

case_invalid_tag_in_input_is_refused() {
    "$PY" "$E2E_SRC/mkodd.py" bad_tag b.tar
    airlock import --name example.com/x b.tar -o out.tar
    expect_rc 4
    err_has "'b.tar': image reference 'example.com/x:Bad Tag!': invalid tag"
    [ ! -e out.tar ] || fail "wrote a bundle"
}

case_bad_name_is_a_usage_error() {
    airlock import --name 'Bad/Name' "$F/o.tar" -o b.tar
    expect_rc 2
    err_has "repository name must be lowercase"
}

case_missing_input() {
    airlock import -o b.tar nonexistent.tar
    expect_rc 1
    err_has "open 'nonexistent.tar': No such file or directory"
}

main "$@"
