# Delta bundles end to end with two real Distribution registries of the ctest fixture: the
# plain one is "upstream" (filled with skopeo from layouts mkdelta.py writes), the TLS one
# with htpasswd is the destination inside. Full export, sign, push; upstream changes (new
# tags, a new repository on the same base, one base layer updated); inventory of the
# destination; delta export, verify, sign, push; the destination then serves exactly the
# upstream digests (skopeo). Hostile cases: tampered or cut inventories, delta records that
# lie about the bundle, an omitted blob that left the destination.
. "$(dirname "$0")/lib.sh"
. "$REGROOT/env"
CASE=$(basename "$T" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9')
DOPTS=(--ca-file "$CA" --auth-file "$T/auth.json")
SK=(--src-tls-verify=false --dest-tls-verify=false)
export COSIGN_PASSWORD=test-password

setup_keys() {
    printf '{"auths":{"%s":{"auth":"%s"}}}' "$TLSREG" "$(printf tester:tester-pass | base64)" > "$T/auth.json"
    "$AIRLOCK" keygen --output-key-prefix k 2>/dev/null
}
# upstream REF=SEED:KB,...: the images into $PLAIN/$CASE/REF (REF is repo:tag)
upstream() {
    rm -rf up
    "$PY" "$E2E_SRC/mkdelta.py" up "$@" || fail "mkdelta"
    for spec in "$@"; do
        local ref=${spec%%=*}
        skopeo copy -q --dest-tls-verify=false "oci:up:$ref" "docker://$PLAIN/$CASE/$ref" ||
            fail "skopeo copy $ref"
    done
}
# set FILE REF...: an image set of upstream references
mkset() {
    local f=$1
    shift
    { echo '{"images": ['; local sep=""
      for r in "$@"; do printf '%s"%s"\n' "$sep" "$PLAIN/$CASE/$r"; sep=","; done
      echo ']}'; } > "$f"
}
# same REF...: upstream and destination serve the same digest for each
same() {
    for r in "$@"; do
        local u d
        u=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$PLAIN/$CASE/$r") || fail "inspect upstream $r"
        d=$(skopeo inspect --tls-verify=false --creds tester:tester-pass --format '{{.Digest}}' \
            "docker://$TLSREG/$CASE/$r") || fail "inspect destination $r"
        [ "$u" = "$d" ] || fail "$r: upstream $u, destination $d"
    done
}
absent() { # REF...: the destination does not serve it
    for r in "$@"; do
        ! skopeo inspect --tls-verify=false --creds tester:tester-pass --raw "docker://$TLSREG/$CASE/$r" \
            >/dev/null 2>&1 || fail "destination serves $r"
    done
}
# export_push SET BUNDLE DEST: exported whole, signed for DEST, pushed there
export_push() {
    airlock export -q --plain-http --set "$1" -o "$2"
    expect_rc 0
    airlock sign --key k.key --to "$3" "$2"
    expect_rc 0
    airlock push -q --key k.pub "${DOPTS[@]}" "$2" "$3"
    expect_rc 0
}
# the first drop: three images on two bases, exported whole, signed, pushed
first_drop() {
    setup_keys
    upstream app1:1.0=base1:256,a1:16 app2:1.0=base1:256,b1:16 tool:1.0=base2:256,t1:16
    mkset s1.json app1:1.0 app2:1.0 tool:1.0
    export_push s1.json full.tar "$TLSREG"
    same app1:1.0 app2:1.0 tool:1.0
    # upstream changes: a new tag on the same base, one base layer updated, a new repository
    upstream app1:1.0=base1:256,a1:16 app1:1.1=base1:256,a2:16 tool:1.1=base3:256,t1:16 \
        app3:1.0=base1:256,c1:16
    mkset s2.json app1:1.0 app1:1.1 app2:1.0 tool:1.0 tool:1.1 app3:1.0
}

case_update_moves_only_what_changed() {
    first_drop
    airlock inventory --json "${DOPTS[@]}" "$TLSREG/$CASE" -o have.json
    expect_rc 0
    json '.repositories == 3 and .blobs >= 9'
    # the catalog and tags in pages of one (Link headers followed): the same lists
    local blobs
    blobs=$(jq .blobs "$T/out")
    airlock inventory --json --page-size 1 "${DOPTS[@]}" "$TLSREG/$CASE" -o paged.json
    expect_rc 0
    json ".repositories == 3 and .blobs == $blobs"
    [ "$(jq -c .inventory.blobs paged.json)" = "$(jq -c .inventory.blobs have.json)" ] || fail "paged inventory differs"
    airlock export --json --plain-http --set s2.json --have have.json -o delta.tar
    expect_rc 0
    # fetched: the new layers a2, base3, c1 (288 KiB) and the configs; base1, base2, a1, b1, t1 stay
    json '.delta.omitted == 5 and .bytes < 320000'
    local full delta
    full=$(stat -c %s full.tar)
    delta=$(stat -c %s delta.tar)
    [ "$delta" -lt "$((full * 60 / 100))" ] || fail "delta $delta bytes, full $full"
    airlock verify --json delta.tar
    expect_rc 0
    json '.ok and .delta.basis == "inventory" and (.blobs.expected | length) == .delta.expected and (.blobs.missing | length) == 0'
    airlock verify delta.tar
    expect_rc 0
    out_has expected
    err_has "expected at the destination"
    # signing works as on a full bundle
    airlock sign --key k.key --to "$TLSREG" delta.tar
    expect_rc 0
    airlock verify --key k.pub --to "$TLSREG" delta.tar
    expect_rc 0
    airlock push --json --key k.pub "${DOPTS[@]}" delta.tar "$TLSREG"
    expect_rc 0
    same app1:1.0 app1:1.1 app2:1.0 tool:1.0 tool:1.1 app3:1.0
    # --since the first drop's lock: the same delta, basis the lock
    airlock inspect --lock full.tar
    expect_rc 0
    cp "$T/out" lock.json
    airlock export --json --plain-http --set s2.json --since lock.json -o since.tar
    expect_rc 0
    json '.delta.omitted >= 1'
    airlock verify --json since.tar
    expect_rc 0
    json '.delta.basis == "lock"'
}

case_push_refuses_delta_whose_blob_left_destination() {
    first_drop
    airlock inventory -q "${DOPTS[@]}" "$TLSREG/$CASE" -o have.json
    expect_rc 0
    airlock export -q --plain-http --set s2.json --have have.json -o delta.tar
    expect_rc 0
    airlock sign --key k.key --to "$TLSREG" delta.tar
    expect_rc 0
    # base1 leaves every repository of the destination that held it
    local base1
    base1=$(skopeo inspect --tls-verify=false --format '{{index .Layers 0}}' "docker://$PLAIN/$CASE/app1:1.1")
    for repo in app1 app2; do
        curl -sf --cacert "$CA" -u tester:tester-pass -X DELETE \
            "https://$TLSREG/v2/$CASE/$repo/blobs/$base1" >/dev/null || fail "delete $repo blob"
    done
    airlock push --key k.pub "${DOPTS[@]}" delta.tar "$TLSREG"
    expect_rc 4
    err_has "not in the destination"
    err_has "$TLSREG/$CASE/app1@$base1"
    err_has "nothing was pushed"
    absent app1:1.1 tool:1.1 app3:1.0
    # no blob went up either: the new layer of app1:1.1 is not there
    local a2
    a2=$(skopeo inspect --tls-verify=false --format '{{index .Layers 1}}' "docker://$PLAIN/$CASE/app1:1.1")
    ! curl -sf --cacert "$CA" -u tester:tester-pass -I "https://$TLSREG/v2/$CASE/app1/blobs/$a2" \
        >/dev/null || fail "a blob was uploaded"
}

case_tampered_inventory_is_refused() {
    first_drop
    airlock inventory -q "${DOPTS[@]}" "$TLSREG/$CASE" -o have.json
    expect_rc 0
    # one digest changed in the body: the checksum no longer matches
    "$PY" - <<'EOF'
t = open("have.json").read()
i = t.index('"blobs":[["sha256:') + len('"blobs":[["sha256:')
t = t[:i] + ("0" if t[i] != "0" else "1") + t[i + 1:]
open("edited.json", "w").write(t)
open("cut.json", "w").write(open("have.json").read()[:-40])
EOF
    airlock export -q --plain-http --set s2.json --have edited.json -o d1.tar
    expect_rc 4
    err_has "inventory 'edited.json' is not whole or was edited"
    [ ! -e d1.tar ] || fail "a bundle was written"
    airlock export -q --plain-http --set s2.json --have cut.json -o d2.tar
    expect_rc 4
    err_has "inventory 'cut.json': not an airlock inventory (or cut off)"
    # a well-formed one whose blobs are out of order (digest recomputed): refused as well
    "$PY" - <<'EOF'
import hashlib, json
t = open("have.json").read()
body = t[t.index('"inventory":') + 12:t.rindex("}")]
j = json.loads(body)
j["blobs"] = list(reversed(j["blobs"]))
b = json.dumps(j, separators=(",", ":"))
open("unsorted.json", "w").write('{"digest":"sha256:%s","inventory":%s}\n' % (hashlib.sha256(b.encode()).hexdigest(), b))
EOF
    airlock export -q --plain-http --set s2.json --have unsorted.json -o d3.tar
    expect_rc 4
    err_has "sorted by digest without repeats"
}

# record DIR JSON: sets the delta record of the bundle directory DIR
# b/: the fixture image as a directory bundle, and the caller's man, layer, size (its first
# layer), config, csize (its config) and other (a digest of nothing in it) set from it
one_image_bundle() {
    make_bundle "$1/"
    man=$(jq -r '.manifests[0].digest' "$1/index.json")
    local m="$1/blobs/sha256/${man#sha256:}"
    layer=$(jq -r '.layers[0].digest' "$m")
    size=$(jq -r '.layers[0].size' "$m")
    config=$(jq -r '.config.digest' "$m")
    csize=$(jq -r '.config.size' "$m")
    other=sha256:$(printf x | sha256sum | cut -d' ' -f1)
}

record() {
    "$PY" - "$1" "$2" <<'EOF'
import json, sys
p = sys.argv[1] + "/index.json"
j = json.load(open(p))
j.setdefault("annotations", {})["dev.airlock.delta"] = sys.argv[2]
json.dump(j, open(p, "w"))
EOF
}

case_delta_record_cannot_excuse_what_it_does_not_name() {
    local man layer size config csize other
    one_image_bundle b
    basis='"basis":{"kind":"inventory","digest":"'$other'"}'
    rm "b/blobs/sha256/${layer#sha256:}"
    # no record: missing
    airlock verify b/
    expect_rc 4
    err_has "is missing"
    # a record naming another blob: still missing, and the record is wrong
    record b '{'"$basis"',"omitted":[{"digest":"'$other'","size":1}]}'
    airlock verify --json b/
    expect_rc 4
    json '(.blobs.missing | length) == 1 and (.problems | any(contains("which no manifest of the bundle references")))'
    # the right digest with another size: missing
    record b '{'"$basis"',"omitted":[{"digest":"'$layer'","size":'$((size + 1))'}]}'
    airlock verify --json b/
    expect_rc 4
    json '(.blobs.missing | length) == 1'
    err_empty
    # a record that omits the config (a delta carries every config): refused
    rm "b/blobs/sha256/${config#sha256:}"
    record b '{'"$basis"',"omitted":[{"digest":"'$config'","size":'$csize'},{"digest":"'$layer'","size":'$size'}]}'
    [ "$config" \< "$layer" ] || record b '{'"$basis"',"omitted":[{"digest":"'$layer'","size":'$size'},{"digest":"'$config'","size":'$csize'}]}'
    airlock verify --json b/
    expect_rc 4
    json '.problems | any(contains("a config: a delta bundle must carry every manifest and config"))'
    # unsorted or repeated entries: the record is malformed
    record b '{'"$basis"',"omitted":[{"digest":"'$layer'","size":'$size'},{"digest":"'$layer'","size":'$size'}]}'
    airlock verify b/
    expect_rc 4
    err_has "not sorted by digest without repeats"
    # exactly the missing layer, config back: expected at the destination, ok
    make_bundle c/
    cp "c/blobs/sha256/${config#sha256:}" b/blobs/sha256/
    record b '{'"$basis"',"omitted":[{"digest":"'$layer'","size":'$size'}]}'
    airlock verify --json b/
    expect_rc 0
    json '.blobs.expected == ["'$layer'"] and .delta.digest == "'$other'"'
}

case_push_refuses_lying_delta_record() {
    setup_keys
    local man layer size config csize other
    one_image_bundle b
    airlock sign --key k.key --to "$TLSREG/$CASE" b/
    expect_rc 0
    # the config is left out and the record claims it: push refuses before anything moves,
    # even where the destination could serve it
    rm "b/blobs/sha256/${config#sha256:}"
    record b '{"basis":{"kind":"inventory","digest":"'$other'"},"omitted":[{"digest":"'$config'","size":'$csize'}]}'
    airlock push --key k.pub "${DOPTS[@]}" b/ "$TLSREG/$CASE"
    expect_rc 4
    err_has "a delta bundle must carry every manifest and config"
    err_has "nothing was pushed"
    absent test/busybox:1.0
}

# a record that leaves out the payload of a .sig manifest: verify checks signatures offline,
# so every layer of an attachment (.sig, .att, sigstore bundle referrer) travels in the bundle
case_delta_record_cannot_hide_a_signature_layer() {
    setup_keys
    make_bundle b/
    airlock sign --key k.key b/
    expect_rc 0
    local sig layer size other
    sig=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] | test("sig$")) | .digest' b/index.json)
    [ -n "$sig" ] || fail "no .sig entry"
    layer=$(jq -r '.layers[0].digest' "b/blobs/sha256/${sig#sha256:}")
    size=$(jq -r '.layers[0].size' "b/blobs/sha256/${sig#sha256:}")
    other=sha256:$(printf x | sha256sum | cut -d' ' -f1)
    rm "b/blobs/sha256/${layer#sha256:}"
    record b '{"basis":{"kind":"inventory","digest":"'$other'"},"omitted":[{"digest":"'$layer'","size":'$size'}]}'
    airlock verify --json b/
    expect_rc 4
    json '.problems | any(contains("a layer of an attachment"))'
    airlock push -q --no-verify "${DOPTS[@]}" b/ "$TLSREG/$CASE"
    expect_rc 4
    err_has "a layer of an attachment"
    absent test/busybox:1.0
}

# a layer declared with two sizes stays a finding when the record names it at the first size
case_delta_record_cannot_excuse_a_size_conflict() {
    local man layer size config csize other
    one_image_bundle b
    # a second image whose manifest names the same layer with one byte more
    "$PY" - b "$layer" <<'PYEOF'
import hashlib, json, sys
root, layer = sys.argv[1], sys.argv[2]
idx = json.load(open(root + "/index.json"))
d0 = idx["manifests"][0]
m = json.load(open(root + "/blobs/sha256/" + d0["digest"][7:]))
for l in m["layers"]:
    if l["digest"] == layer:
        l["size"] += 1
raw = json.dumps(m).encode()
h = hashlib.sha256(raw).hexdigest()
open(root + "/blobs/sha256/" + h, "wb").write(raw)
idx["manifests"].append({"mediaType": d0["mediaType"], "digest": "sha256:" + h, "size": len(raw),
                         "annotations": {"org.opencontainers.image.ref.name": "example.com/test/busybox:2.0"}})
json.dump(idx, open(root + "/index.json", "w"))
PYEOF
    airlock verify b/
    expect_rc 4
    err_has "declared with two sizes"
    rm "b/blobs/sha256/${layer#sha256:}"
    record b '{"basis":{"kind":"inventory","digest":"'$other'"},"omitted":[{"digest":"'$layer'","size":'$size'}]}'
    airlock verify b/
    expect_rc 4
    err_has "declared with two sizes"
}

# the names a record and an inventory carry become URL paths at the destination (HEAD, mount
# from=): only repository names, never '..' or a query
case_delta_names_must_be_repositories() {
    local man layer size config csize other
    one_image_bundle b
    rm "b/blobs/sha256/${layer#sha256:}"
    record b '{"basis":{"kind":"inventory","digest":"'$other'"},"omitted":[{"digest":"'$layer'","size":'$size',"from":"test/../../../v2/x/blobs/'$layer'?"}]}'
    airlock verify b/
    expect_rc 4
    err_has "with REPO a repository name"
    "$PY" - <<'PYEOF'
import hashlib, json
b = json.dumps({"mediaType": "application/vnd.airlock.inventory.v1+json", "registry": "r.example",
                "repositories": ["../../evil"], "manifests": [], "blobs": []}, separators=(",", ":"))
open("inv.json", "w").write('{"digest":"sha256:%s","inventory":%s}\n' % (hashlib.sha256(b.encode()).hexdigest(), b))
PYEOF
    echo '{"images": ["127.0.0.1:9/x/y:1"]}' > s.json
    airlock export -q --plain-http --set s.json --have inv.json -o d.tar
    expect_rc 4
    err_has "its repositories are not names sorted without repeats"
    [ ! -e d.tar ] || fail "a bundle was written"
}

# a registry that answers 201 to a mount it did not make: the blob is asked for again in the
# target repository before any manifest goes up, and nothing is tagged
case_push_checks_a_mounted_blob_arrived() {
    make_bundle full/
    airlock push -q --no-verify --plain-http full/ "$PLAIN/$CASE/src"
    expect_rc 0
    local man layer size config csize other
    one_image_bundle b
    rm "b/blobs/sha256/${layer#sha256:}"
    record b '{"basis":{"kind":"inventory","digest":"'$other'"},"omitted":[{"digest":"'$layer'","size":'$size',"from":"'$CASE'/src/test/busybox"}]}'
    proxy '[{"method": "POST", "path": "mount=", "action": "status", "code": 201}]'
    airlock push --no-verify --plain-http b/ "$PROXY/$CASE/dst"
    expect_rc 4
    err_has "is not in '$PROXY/$CASE/dst/test/busybox' after the mount"
    err_has "no manifest was pushed"
    ! curl -sf -o /dev/null "http://$PLAIN/v2/$CASE/dst/test/busybox/manifests/1.0" ||
        fail "the image was tagged"
}

# a registry that says it has a blob the delta leaves out, but with another size than the
# manifest gives: as good as absent, and nothing is pushed
case_push_refuses_an_omitted_blob_of_another_size() {
    make_bundle full/
    airlock push -q --no-verify --plain-http full/ "$PLAIN/$CASE/dst"
    expect_rc 0
    local man layer size config csize other
    one_image_bundle b
    rm "b/blobs/sha256/${layer#sha256:}"
    record b '{"basis":{"kind":"inventory","digest":"'$other'"},"omitted":[{"digest":"'$layer'","size":'$size'}]}'
    proxy "$(printf '[{"method": "HEAD", "path": "/blobs/%s", "action": "length", "value": 7}]' \
        "$layer")"
    airlock push --no-verify --plain-http b/ "$PROXY/$CASE/dst"
    expect_rc 4
    err_has "there with another size"
    err_has "nothing was pushed"
    grep -q "HEAD .*$layer.*action=length" proxy.log || fail "the proxy was not asked: $(cat proxy.log)"
    ! grep -E "^(PUT|POST|PATCH) " proxy.log || fail "something was sent: $(cat proxy.log)"
}

# the catalog behind token auth: a token server grants registry:catalog:* to some users only;
# inventory asks for that scope, and says so when it is refused
case_inventory_of_the_catalog_behind_token_auth() {
    make_bundle b/
    local tok=(--ca-file "$CA" --trust-realm "$TOKENREALM" --password-stdin)
    run "$AIRLOCK" push -q --no-verify "${tok[@]}" --username writer b/ "$TOKENREG/$CASE" \
        <<<writer-pass
    expect_rc 0
    run "$AIRLOCK" inventory -q "${tok[@]}" --username admin "$TOKENREG/$CASE" -o have.json \
        <<<admin-pass
    expect_rc 0
    jq -e --arg r "$CASE/test/busybox" '.inventory.repositories == [$r]' have.json >/dev/null ||
        fail "the inventory lists $(jq -c .inventory.repositories have.json)"
    run "$AIRLOCK" inventory "${tok[@]}" --username reader "$TOKENREG/$CASE" -o r.json \
        <<<reader-pass
    expect_rc 5
    err_has "list the catalog of '$TOKENREG'"
    err_has "name the repositories with --repo or --set"
    [ ! -e r.json ] || fail "an inventory was written"
    # named repositories need no catalog: the reader may inventory what it can pull
    run "$AIRLOCK" inventory -q "${tok[@]}" --username reader --repo "$CASE/test/busybox" \
        "$TOKENREG" -o r.json <<<reader-pass
    expect_rc 0
    [ "$(jq -c .inventory.blobs r.json)" = "$(jq -c .inventory.blobs have.json)" ] ||
        fail "the reader's inventory differs"
}

# every part of a split set carries the set's index.json (and so its delta record): a part
# whose index.json is not the one the set's identity was made from is no part of that set
case_split_parts_cannot_carry_another_record() {
    local man layer size config csize other
    one_image_bundle b
    airlock split --size 600K b/ -o s.tar
    expect_rc 0
    [ -e s.tar.002 ] || fail "no second part"
    airlock verify s.tar.001
    expect_rc 0
    # part 2 gets an index.json with a record that excuses the layer
    "$PY" - s.tar.002 "$layer" "$size" "$other" <<'PYEOF'
import io, json, sys, tarfile
path, layer, size, other = sys.argv[1:5]
src = tarfile.open(path)
members = [(m, src.extractfile(m).read() if m.isfile() else None) for m in src.getmembers()]
out = tarfile.open(path + ".new", "w", format=tarfile.USTAR_FORMAT)
for m, data in members:
    if m.name.lstrip("./") == "index.json":
        j = json.loads(data)
        j.setdefault("annotations", {})["dev.airlock.delta"] = json.dumps(
            {"basis": {"kind": "inventory", "digest": other},
             "omitted": [{"digest": layer, "size": int(size)}]})
        data = json.dumps(j).encode()
        m.size = len(data)
    out.addfile(m, io.BytesIO(data) if data is not None else None)
out.close()
PYEOF
    mv s.tar.002.new s.tar.002
    airlock verify s.tar.002
    expect_rc 4
    err_has "index.json is not the one of its split set"
    airlock verify s.tar.001
    expect_rc 4
}

# inventory --set: exactly the repositories push puts the set's images in (under the prefix,
# --map applied), not the whole catalog; an export --have with it leaves out their layers
case_inventory_of_a_set_lists_only_its_repositories() {
    setup_keys
    upstream app1:1.0=base1:256,a1:16 app2:1.0=base2:256,b1:16 tool:1.0=base3:256,t1:16
    mkset all.json app1:1.0 app2:1.0 tool:1.0
    mkset s.json app1:1.0 app2:1.0
    export_push all.json all.tar "$TLSREG/$CASE"
    airlock inventory --json "${DOPTS[@]}" "$TLSREG/$CASE" -o catalog.json
    expect_rc 0
    json '.repositories == 3'
    airlock inventory --json --set s.json "${DOPTS[@]}" "$TLSREG/$CASE" -o have.json
    expect_rc 0
    json '.repositories == 2'
    [ "$(jq -c .inventory.repositories have.json)" = "[\"$CASE/$CASE/app1\",\"$CASE/$CASE/app2\"]" ] ||
        fail "inventory --set lists $(jq -c .inventory.repositories have.json)"
    airlock export --json --plain-http --set s.json --have have.json -o delta.tar
    expect_rc 0
    json '.delta.omitted == 4'
    airlock verify delta.tar
    expect_rc 0
    # --map renames as push does: app2 then goes where nothing is yet, which holds nothing
    airlock inventory --json --set s.json --map "$PLAIN/$CASE/app2=$CASE/elsewhere" \
        "${DOPTS[@]}" "$TLSREG/$CASE" -o mapped.json
    expect_rc 0
    json '.repositories == 2 and .tags < 6'
    jq -e --arg r "$CASE/elsewhere" '.inventory.repositories | index($r)' mapped.json >/dev/null ||
        fail "--map not applied: $(jq -c .inventory.repositories mapped.json)"
    airlock inventory --set s.json --repo app1 "${DOPTS[@]}" "$TLSREG/$CASE" -o x.json
    expect_rc 2
    err_has "not both"
    airlock inventory --map a=b "${DOPTS[@]}" "$TLSREG/$CASE" -o x.json
    expect_rc 2
}

# part_record PART: the delta record of the index.json a split part carries
part_record() { # (sign appends a new index.json to a tar: the last one counts)
    "$PY" -c 'import json, sys, tarfile
t = tarfile.open(sys.argv[1])
print(json.load(t.extractfile(t.getmember("index.json"))).get("annotations", {}).get("dev.airlock.delta", "none"))' "$1"
}

# a delta bundle cut into parts, by split or straight from export --have --split: every part
# carries the record, verify of the set lists the omitted blobs as expected at the destination,
# and push of the set asks the destination for them before anything moves
case_split_delta_bundle() {
    first_drop
    airlock inventory -q "${DOPTS[@]}" "$TLSREG/$CASE" -o have.json
    expect_rc 0
    airlock export -q --plain-http --set s2.json --have have.json -o delta.tar
    expect_rc 0
    airlock sign --key k.key --to "$TLSREG" delta.tar
    expect_rc 0
    local rec n
    rec=$(part_record delta.tar)
    n=$(jq '.omitted | length' <<<"$rec")
    [ "$n" -ge 1 ] || fail "the delta omits nothing: $rec"
    airlock inspect --json delta.tar
    expect_rc 0
    json ".delta.omitted == $n and .delta.basis == \"inventory\" and .delta.digest == \"$(jq -r .digest have.json)\" and .delta.omittedBytes == $(jq '[.omitted[].size] | add' <<<"$rec")"
    airlock split --size 200K delta.tar -o parts.tar
    expect_rc 0
    [ -e parts.tar.003 ] || fail "fewer than three parts: $(ls)"
    # export --have --split: the parts straight away
    airlock export -q --plain-http --set s2.json --have have.json --split 200K -o xparts.tar
    expect_rc 0
    [ -e xparts.tar.002 ] || fail "export --split wrote one part: $(ls)"
    local p
    for p in parts.tar.0* ; do
        [ "$(part_record "$p")" = "$rec" ] || fail "$p carries another record: $(part_record "$p")"
    done
    local xrec
    xrec=$(part_record xparts.tar.001)
    [ "$(jq -c .omitted <<<"$xrec")" = "$(jq -c .omitted <<<"$rec")" ] || fail "export --split omits $xrec"
    for p in xparts.tar.0* ; do
        [ "$(part_record "$p")" = "$xrec" ] || fail "$p carries another record"
    done
    for set in parts.tar.001 xparts.tar.002; do
        airlock verify --json "$set"
        expect_rc 0
        json ".ok and .delta.basis == \"inventory\" and (.blobs.expected | length) == $n and (.blobs.missing | length) == 0"
    done
    airlock verify parts.tar.002
    expect_rc 0
    err_has "expected at the destination"
    # one part alone: verified as a part, the omitted blobs are expected, not missing
    airlock verify --json --part-only parts.tar.002
    expect_rc 0
    # a split set re-split for other media keeps the record
    airlock split --size 400K parts.tar.001 -o again.tar
    expect_rc 0
    [ "$(part_record again.tar.001)" = "$rec" ] || fail "re-split lost the record"
    airlock verify again.tar.001
    expect_rc 0
    # push of the set: an omitted blob gone from the destination stops it, nothing pushed
    local base1
    base1=$(skopeo inspect --tls-verify=false --format '{{index .Layers 0}}' "docker://$PLAIN/$CASE/app1:1.1")
    for repo in app1 app2; do
        curl -sf --cacert "$CA" -u tester:tester-pass -X DELETE \
            "https://$TLSREG/v2/$CASE/$repo/blobs/$base1" >/dev/null || fail "delete $repo blob"
    done
    airlock push --key k.pub "${DOPTS[@]}" parts.tar.002 "$TLSREG"
    expect_rc 4
    err_has "not in the destination"
    err_has "$TLSREG/$CASE/app1@$base1"
    err_has "nothing was pushed"
    absent app1:1.1 tool:1.1 app3:1.0
    # base1 back (the full bundle again): the set pushes, the destination matches upstream
    airlock push -q --key k.pub "${DOPTS[@]}" full.tar "$TLSREG"
    expect_rc 0
    airlock push -q --key k.pub "${DOPTS[@]}" parts.tar.001 parts.tar.003 parts.tar.002 "$TLSREG"
    expect_rc 0
    same app1:1.0 app1:1.1 app2:1.0 tool:1.0 tool:1.1 app3:1.0
}

# split judges a delta record as verify does: one that lies about the bundle is not carried
# into parts, and one that is true leaves its layers out of every part
case_split_refuses_lying_delta_record() {
    local man layer size config csize other
    one_image_bundle b
    rm "b/blobs/sha256/${config#sha256:}"
    record b '{"basis":{"kind":"inventory","digest":"'$other'"},"omitted":[{"digest":"'$config'","size":'$csize'}]}'
    airlock split --size 64K b/ -o s.tar
    expect_rc 4
    err_has "a delta bundle must carry every manifest and config"
    err_has "nothing was written"
    ! ls s.tar.* >/dev/null 2>&1 || fail "parts were written: $(ls)"
    make_bundle c/
    rm "c/blobs/sha256/${layer#sha256:}"
    record c '{"basis":{"kind":"inventory","digest":"'$other'"},"omitted":[{"digest":"'$layer'","size":'$size'}]}'
    airlock split --size 64K c/ -o s.tar
    expect_rc 0
    airlock verify --json s.tar.001
    expect_rc 0
    json '.blobs.expected == ["'$layer'"]'
}

# export --since takes the last drop's lock of these images: a missing file, a file that is no
# lock, or a lock of other images is refused naming the file and why, and nothing is written
case_since_needs_the_lock_of_these_images() {
    upstream app1:1.0=base1:64,a1:16 other:1.0=base2:64,o1:16
    mkset s.json app1:1.0
    mkset o.json other:1.0
    airlock export -q --plain-http --set o.json -o other.tar
    expect_rc 0
    airlock inspect --lock other.tar
    expect_rc 0
    cp "$T/out" other.lock.json
    airlock export -q --plain-http --set s.json --since missing.lock.json -o d.tar
    expect_rc 2
    err_has "--since 'missing.lock.json'"
    err_has "No such file or directory"
    # a set is no lock (no digests): the file and the kind it needs
    airlock export -q --plain-http --set s.json --since s.json -o d.tar
    expect_rc 2
    err_has "'s.json' is no lock file"
    printf '{"kind": "ImageSetLock", "nonsense": 1}\n' > bad.json
    airlock export -q --plain-http --set s.json --since bad.json -o d.tar
    expect_rc 2
    err_has "--since 'bad.json' is not a lock file"
    err_has "unknown member 'nonsense'"
    airlock export -q --plain-http --set s.json --since other.tar -o d.tar
    expect_rc 2
    err_has "--since 'other.tar' is not a lock file"
    # a lock of other images: nothing in it could be left out, a mix-up, not a delta
    airlock export -q --plain-http --set s.json --since other.lock.json -o d.tar
    expect_rc 2
    err_has "--since lock 'other.lock.json' was made for other images"
    err_has "$PLAIN/$CASE/other"
    err_has "$PLAIN/$CASE/app1"
    [ ! -e d.tar ] || fail "a bundle was written"
    # the lock of these images (of a drop with others too) is taken
    mkset both.json app1:1.0 other:1.0
    airlock export -q --plain-http --set both.json -o both.tar
    expect_rc 0
    airlock inspect --lock both.tar
    cp "$T/out" both.lock.json
    airlock export --json --plain-http --set s.json --since both.lock.json -o d.tar
    expect_rc 0
    json '.delta.omitted == 2'
}

# inspect says a bundle is a delta: how many layers it leaves out, their size, and on what
# basis (the inventory's or the lock's digest), in text and in --json; a full bundle says nothing
case_inspect_shows_a_delta() {
    local man layer size config csize other
    one_image_bundle b
    airlock inspect --json b/
    expect_rc 0
    json 'has("delta") | not'
    airlock inspect b/
    expect_rc 0
    out_lacks "delta"
    rm "b/blobs/sha256/${layer#sha256:}"
    record b '{"basis":{"kind":"lock","digest":"'$other'"},"omitted":[{"digest":"'$layer'","size":'$size'}]}'
    airlock inspect b/
    expect_rc 0
    out_has "delta bundle: 1 layer blob left out"
    out_has "basis: lock $other"
    airlock inspect --json b/
    expect_rc 0
    json '.delta == {"omitted": 1, "omittedBytes": '$size', "basis": "lock", "digest": "'$other'"}'
    # a split set of it: every part says so
    airlock split --size 64K b/ -o s.tar
    expect_rc 0
    airlock inspect --json s.tar.001
    expect_rc 0
    json '.delta.omitted == 1 and .delta.basis == "lock"'
    # a record that is not true of the bundle is shown with a warning (verify judges it)
    record b '{"basis":{"kind":"inventory","digest":"'$other'","registry":"r.example"},"omitted":[{"digest":"'$layer'","size":'$((size + 1))'}]}'
    airlock inspect --json b/
    expect_rc 0
    json '.delta.basis == "inventory" and .delta.registry == "r.example" and .delta.omittedBytes == '$((size + 1))
    err_has "is not true of the bundle"
}

# blob DIGEST REPO: 0 when the destination's repository REPO serves the blob
dest_blob() {
    curl -sf --cacert "$CA" -u tester:tester-pass -I "https://$TLSREG/v2/$1/blobs/$2" >/dev/null
}
dest_blob_delete() {
    curl -sf --cacert "$CA" -u tester:tester-pass -X DELETE "https://$TLSREG/v2/$1/blobs/$2" \
        >/dev/null || fail "delete $2 from $1"
}

# an omitted blob not in the target repository but in other repositories of the destination
# registry, which the inventory of the catalog lists: push mounts it (POST ?mount=&from=, 201)
# from one that holds it, during its pre-check; the inventory records every repository holding
# a blob, so one that lost it is not the end. In none of them: the list, nothing pushed.
case_push_mounts_omitted_blobs_from_other_repositories() {
    setup_keys
    upstream app1:1.0=base1:256,a1:16 app1b:1.0=base1:256,x1:16 app2:1.0=base1:256,b1:16
    mkset s1.json app1:1.0 app1b:1.0
    mkset s2.json app2:1.0
    export_push s1.json full.tar "$TLSREG"
    airlock inventory -q "${DOPTS[@]}" "$TLSREG/$CASE" -o have.json
    expect_rc 0
    local base1
    base1=$(skopeo inspect --tls-verify=false --format '{{index .Layers 0}}' "docker://$PLAIN/$CASE/app2:1.0")
    # both repositories that hold base1 are named for it
    jq -e --arg d "$base1" '.inventory as $i | [$i.blobs[] | select(.[0] == $d) | .[1:][] | $i.repositories[.]] | sort == ["'$CASE'/app1","'$CASE'/app1b"]' have.json >/dev/null ||
        fail "the inventory names $(jq -c --arg d "$base1" '.inventory.blobs[] | select(.[0] == $d)' have.json) for base1"
    airlock export -q --plain-http --set s2.json --have have.json -o delta.tar
    expect_rc 0
    airlock sign --key k.key --to "$TLSREG" delta.tar
    expect_rc 0
    airlock sign --key k.key --to "$TLSREG/$CASE/again" delta.tar
    expect_rc 0
    airlock sign --key k.key --to "$TLSREG/$CASE/third" delta.tar
    expect_rc 0
    # app2 is a new repository: base1 comes by a mount from the first that holds it
    ! dest_blob "$CASE/app2" "$base1" || fail "base1 already in app2"
    airlock push -q --key k.pub "${DOPTS[@]}" delta.tar "$TLSREG"
    expect_rc 0
    same app2:1.0
    dest_blob "$CASE/app2" "$base1" || fail "base1 not mounted into app2"
    # the first holder loses it: the next repository the inventory names holds it
    dest_blob_delete "$CASE/app1" "$base1"
    dest_blob_delete "$CASE/app2" "$base1"
    airlock push -q --key k.pub "${DOPTS[@]}" delta.tar "$TLSREG/$CASE/again"
    expect_rc 0
    dest_blob "$CASE/again/$CASE/app2" "$base1" || fail "base1 not mounted into again/app2"
    skopeo inspect --tls-verify=false --creds tester:tester-pass "docker://$TLSREG/$CASE/again/$CASE/app2:1.0" \
        >/dev/null || fail "again/app2 not pullable"
    # in none of the repositories the inventory names: stopped with the list, nothing pushed
    dest_blob_delete "$CASE/app1b" "$base1"
    dest_blob_delete "$CASE/again/$CASE/app2" "$base1"
    airlock push --key k.pub "${DOPTS[@]}" delta.tar "$TLSREG/$CASE/third"
    expect_rc 4
    err_has "not in the destination"
    err_has "$TLSREG/$CASE/third/$CASE/app2@$base1"
    err_has "nothing was pushed"
    ! skopeo inspect --tls-verify=false --creds tester:tester-pass --raw \
        "docker://$TLSREG/$CASE/third/$CASE/app2:1.0" >/dev/null 2>&1 || fail "third/app2 was pushed"
}

# the first holder has the blob but the registry will not mount from it (202: an upload
# instead): the next repository the record names is asked, and the blob comes from there
case_push_mounts_from_the_next_holder_when_one_refuses() {
    make_bundle full/
    airlock push -q --no-verify --plain-http full/ "$PLAIN/$CASE/src1"
    expect_rc 0
    airlock push -q --no-verify --plain-http full/ "$PLAIN/$CASE/src2"
    expect_rc 0
    local man layer size config csize other
    one_image_bundle b
    rm "b/blobs/sha256/${layer#sha256:}"
    record b '{"basis":{"kind":"inventory","digest":"'$other'"},"omitted":[{"digest":"'$layer'","size":'$size',"from":"'$CASE'/src1/test/busybox","mounts":["'$CASE'/src2/test/busybox"]}]}'
    # src1 is a holder this pusher may not read (403 to its HEAD) and refuses the mount (202):
    # neither stops the push while src2 can serve the blob
    proxy "$(printf '[{"method": "HEAD", "path": "src1/.*/blobs/", "action": "status", "code": 403},
      {"method": "POST", "path": "mount=.*src1", "action": "status", "code": 202}]')"
    airlock push -q --no-verify --plain-http b/ "$PROXY/$CASE/dst"
    expect_rc 0
    grep -q "^HEAD .*src1/.*action=status" proxy.log || fail "src1 was not asked: $(cat proxy.log)"
    grep -q "^POST .*mount=.*src2" proxy.log || fail "no mount from src2: $(cat proxy.log)"
    curl -sf -o /dev/null -H "Accept: application/vnd.oci.image.manifest.v1+json" \
        "http://$PLAIN/v2/$CASE/dst/test/busybox/manifests/1.0" || fail "the image was not pushed"
    curl -sf -I -o /dev/null "http://$PLAIN/v2/$CASE/dst/test/busybox/blobs/$layer" ||
        fail "the layer is not in dst"
    # a record that names mounts without from, or too many, is malformed
    record b '{"basis":{"kind":"inventory","digest":"'$other'"},"omitted":[{"digest":"'$layer'","size":'$size',"mounts":["x/y"]}]}'
    airlock verify b/
    expect_rc 4
    err_has "at most 16 mounts"
}

# a delta --since the last drop's lock names no repository to mount from (a lock is no
# inventory): an image going into a new repository (app3, on app1's base) gets the base by a
# mount from the repository of this push that holds it already (app1, from the last drop)
case_since_delta_pushes_into_a_new_repository() {
    first_drop
    airlock inspect --lock full.tar
    expect_rc 0
    cp "$T/out" lock.json
    airlock export -q --plain-http --set s2.json --since lock.json -o since.tar
    expect_rc 0
    airlock sign --key k.key --to "$TLSREG" since.tar
    expect_rc 0
    local base1
    base1=$(skopeo inspect --tls-verify=false --format '{{index .Layers 0}}' "docker://$PLAIN/$CASE/app3:1.0")
    ! dest_blob "$CASE/app3" "$base1" || fail "base1 already in app3"
    airlock push -q --key k.pub "${DOPTS[@]}" since.tar "$TLSREG"
    expect_rc 0
    same app1:1.0 app1:1.1 app2:1.0 tool:1.0 tool:1.1 app3:1.0
    dest_blob "$CASE/app3" "$base1" || fail "base1 not mounted into app3"
}


# import writes a new index.json from what its inputs hold: a delta bundle's left-out layers
# are not there, so import refuses it, naming it and the ways that carry a delta as it is
# (it failed with "blob ... is missing", which read as a broken bundle)
case_import_refuses_a_delta_bundle() {
    first_drop
    airlock inventory -q "${DOPTS[@]}" "$TLSREG/$CASE" -o have.json
    expect_rc 0
    airlock export -q --plain-http --set s2.json --have have.json -o delta
    expect_rc 0
    airlock import delta -o delta.tar
    expect_rc 2
    err_has "'delta' is a delta bundle"
    err_has "expected at the destination"
    [ ! -e delta.tar ] || fail "import wrote delta.tar"
    no_leftovers .
    # nor may a delta bundle be the destination import adds to
    make_bundle full.tar
    airlock import full.tar -o delta
    expect_rc 2
    err_has "'delta' is a delta bundle"
}

main "$@"
