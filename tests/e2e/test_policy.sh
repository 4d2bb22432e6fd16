# --policy: a containers/image policy.json (containers-policy.json(5)) checked for every image
# and platform manifest of a bundle at its destination reference (verify, push, sync), and
# the same images checked by containers/image itself (skopeo copy --policy) once pushed to the
# real registry of the ctest fixture (registry_up.sh).
. "$(dirname "$0")/lib.sh"
F=$FIXTURES
. "$REGROOT/env"
export COSIGN_PASSWORD=test-password
CASE=$(basename "$T" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9')
D=registry.internal/devops

keys() { [ -f cosign.key ] || "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null; }
# bundle B: the fixture image and the multi-arch index (example.com/test/busybox:1.0,
# example.com/multi:1), unsigned
bundle() {
    make_bundle "$1"
    "$AIRLOCK" import -q "$F/multi" -o "$1"
}
# signed_for B DEST [--recursive]: each image signed with the identity it has in DEST (the
# index only unless --recursive, as cosign signs by default)
signed_for() {
    keys
    bundle "$1"
    "$AIRLOCK" sign --key cosign.key --identity "$2/test/busybox:1.0" "$1" \
        example.com/test/busybox:1.0 >/dev/null
    "$AIRLOCK" sign --key cosign.key ${3:---no-recursive} --identity "$2/multi:1" "$1" example.com/multi:1 >/dev/null
}
# policy FILE SCOPE REQUIREMENT-JSON: default reject, SCOPE gets the requirement
policy() {
    printf '{"default":[{"type":"reject"}],"transports":{"docker":{"%s":[%s]}}}\n' "$2" "$3" >"$1"
}
keypath() { printf '{"type":"sigstoreSigned","keyPath":"%s"}' "$PWD/cosign.pub"; }
sk() { skopeo inspect --tls-verify=false --raw "docker://$1"; }

case_keypath_at_the_right_destination_passes() {
    signed_for b.tar "$D" --recursive
    policy p.json "$D" "$(keypath)"
    airlock verify --policy p.json --to "$D" b.tar
    expect_rc 0
    # two images, the index's two platforms; each by tag and by digest
    [ "$(grep -c '^policy ok ' "$T/out")" = 8 ] || fail "not 8 passing checks"
    out_has "$D/multi:1 (linux/arm64/v8)"
    out_has "$D/test/busybox@sha256:$(cat "$F/L.digest")"
    err_has "every image and platform passes"
    airlock verify --json --policy p.json --to "$D" b.tar
    expect_rc 0
    json '.ok and .policy.ok and (.policy.targets | length == 8)'
    json '[.policy.targets[] | select(.platform == "linux/amd64")] | length == 2'
    json '.policy.targets[0].scope == "docker:'"$D"'" and .policy.targets[0].pulledBy == "tag"'
    json '.policy.targets[0].requirements[0].ok and (.policy.targets[0].requirements[0].reason | test("accepted"))'
}

case_wrong_destination_fails_naming_it() {
    signed_for b.tar "$D" --recursive
    policy p.json registry.internal "$(keypath)"
    airlock verify --policy p.json --to registry.internal/other b.tar
    expect_rc 3
    err_has "pulled as 'registry.internal/other/test/busybox:1.0'"
    err_has "signature for identity '$D/test/busybox:1.0' is not accepted"
    err_has "POLICY CHECK FAILED"
    out_lacks "policy ok "
    # without --to: the bundle's own names (example.com/...) fall to the default: reject
    airlock verify --policy p.json b.tar
    expect_rc 3
    err_has "pulled as 'example.com/test/busybox:1.0' (scope default): requirement reject"
    # --map: the rename push would make is where the image is checked
    policy m.json "$D" "$(keypath)"
    airlock verify --policy m.json --to "$D" --map example.com/test/busybox=mirror/busybox b.tar
    expect_rc 3
    err_has "pulled as 'registry.internal/mirror/busybox:1.0'" # DST is a path in DEST's host
    airlock verify --policy m.json --map x=y b.tar
    expect_rc 2
}

case_remap_identity_lets_vendor_signed_bundle_through() {
    keys
    bundle b.tar
    # the vendor signed its own name (with the tag): valid upstream, not at the mirror
    "$AIRLOCK" sign --key cosign.key --recursive --identity example.com/multi:1 b.tar \
        example.com/multi:1 >/dev/null
    "$AIRLOCK" sign --key cosign.key --identity example.com/test/busybox:1.0 b.tar \
        example.com/test/busybox:1.0 >/dev/null
    policy strict.json mirror.internal "$(keypath)"
    airlock verify --policy strict.json --to mirror.internal/vendor b.tar
    expect_rc 3
    err_has "signature for identity 'example.com/multi:1' is not accepted"
    policy remap.json mirror.internal "$(printf '{"type":"sigstoreSigned","keyPath":"%s","signedIdentity":{"type":"remapIdentity","prefix":"mirror.internal/vendor","signedPrefix":"example.com"}}' "$PWD/cosign.pub")"
    airlock verify --policy remap.json --to mirror.internal/vendor b.tar
    expect_rc 0
    [ "$(grep -c '^policy ok ' "$T/out")" = 8 ] || fail "not 8 passing checks"
    # another prefix is not remapped
    airlock verify --policy remap.json --to mirror.internal/elsewhere b.tar
    expect_rc 3
}

case_reject_scope() {
    signed_for b.tar "$D" --recursive
    printf '{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker":{"%s":[{"type":"reject"}]}}}' \
        "$D/multi" >p.json
    airlock verify --json --policy p.json --to "$D" b.tar
    expect_rc 3
    json '[.policy.targets[] | select(.image == "example.com/multi:1") | .ok] | all | not'
    json '[.policy.targets[] | select(.image == "example.com/test/busybox:1.0") | .ok] | all'
    json '.policy.targets[] | select(.image == "example.com/multi:1") | .scope == "docker:'"$D"'/multi"'
}

case_insecure_accept_anything() {
    bundle b.tar
    policy p.json "$D" '{"type":"insecureAcceptAnything"}'
    airlock verify --policy p.json --to "$D" b.tar
    expect_rc 0
    [ "$(grep -c '^policy ok ' "$T/out")" = 8 ] || fail "not 8 passing checks"
}

case_key_data() {
    signed_for b.tar "$D" --recursive
    policy p.json "$D" "$(printf '{"type":"sigstoreSigned","keyData":"%s"}' "$(base64 -w0 cosign.pub)")"
    airlock verify --policy p.json --to "$D" b.tar
    expect_rc 0
    # another key's data: nothing verifies
    "$AIRLOCK" keygen --output-key-prefix other 2>/dev/null
    policy o.json "$D" "$(printf '{"type":"sigstoreSigned","keyDatas":["%s"]}' "$(base64 -w0 other.pub)")"
    airlock verify --policy o.json --to "$D" b.tar
    expect_rc 3
    err_has "cryptographic signature verification failed"
}

case_fulcio_and_gpg_reported_not_checkable() {
    signed_for b.tar "$D" --recursive
    policy p.json "$D" '{"type":"sigstoreSigned","fulcio":{"caPath":"/etc/fulcio.pem","oidcIssuer":"https://oauth2.sigstore.dev/auth","subjectEmail":"a@example.com"},"rekorPublicKeyPath":"/etc/rekor.pub"}'
    airlock verify --policy p.json --to "$D" b.tar
    expect_rc 3
    err_has "fulcio: certificates and a Rekor log are not checkable by airlock offline"
    policy g.json "$D" '{"type":"signedBy","keyType":"GPGKeys","keyPath":"/etc/pki/gpg"}'
    airlock verify --policy g.json --to "$D" b.tar
    expect_rc 3
    err_has "not checkable by airlock (GPG)"
}

case_platform_manifest_without_signature_fails_by_name() {
    signed_for b.tar "$D" # the index only, as cosign signs by default
    policy p.json "$D" "$(keypath)"
    airlock verify --policy p.json --to "$D" b.tar
    expect_rc 3
    err_has "image 'example.com/multi:1' platform 'linux/arm64/v8' pulled as '$D/multi:1'"
    err_has "A signature was required, but no signature exists"
    out_has "policy ok     sha256:$(cat "$F/multi.digest") $D/multi:1"
    out_has "policy FAILED"
}

# a platform manifest that is also an image of its own (multi's linux/amd64 is
# test/busybox:1.0): each repository keeps its own signatures through an import, so the
# policy verdicts are the same after copying or compressing the bundle
case_reimport_keeps_each_repositorys_signatures() {
    signed_for b.tar "$D" --recursive
    policy p.json "$D" "$(keypath)"
    for out in c.tar c.tar.zst; do
        "$AIRLOCK" import -q b.tar -o $out
        airlock verify --policy p.json --to "$D" $out
        expect_rc 0
        [ "$(grep -c '^policy ok ' "$T/out")" = 8 ] || fail "$out: not 8 passing checks"
    done
}

# hostile fan-out: an index listing its platforms many times is checked once per platform
case_index_listing_a_platform_many_times_is_checked_once() {
    bundle b.tar
    "$AIRLOCK" import -q b.tar -o dir/
    "$PY" - dir <<'EOP'
import hashlib, json, os, sys
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
for e in idx["manifests"]:
    if e["mediaType"].endswith("index.v1+json"):
        path = os.path.join(d, "blobs/sha256", e["digest"][7:])
        doc = json.load(open(path))
        doc["manifests"] = doc["manifests"] * 500
        raw = json.dumps(doc).encode()
        h = hashlib.sha256(raw).hexdigest()
        open(os.path.join(d, "blobs/sha256", h), "wb").write(raw)
        e["digest"], e["size"] = "sha256:" + h, len(raw)
json.dump(idx, open(os.path.join(d, "index.json"), "w"))
EOP
    policy p.json "$D" '{"type":"insecureAcceptAnything"}'
    airlock verify --policy p.json --to "$D" dir
    expect_rc 0
    [ "$(grep -c '^policy ok ' "$T/out")" = 8 ] || fail "not 8 checks: $(grep -c '^policy ' "$T/out")"
}

case_policy_file_errors_name_file_and_member() {
    bundle b.tar
    echo '{"default":[{"type":"sigstoreSigned","keyPath":"/k","signedIdentity":{"type":"remapIdentity","prefix":"x.example"}}]}' >bad.json
    airlock verify --policy bad.json b.tar
    expect_rc 2
    err_has "policy 'bad.json': default[0].signedIdentity: member 'signedPrefix' missing"
    echo '{"default":[{"type":"reject"}],"transport":{}}' >bad2.json
    airlock verify --policy bad2.json b.tar
    expect_rc 2
    err_has "unknown member 'transport'"
    airlock verify --policy missing.json b.tar
    expect_rc 2
    err_has "missing.json"
}

# ---- against the registry -----------------------------------------------------------------

case_push_policy_refuses_and_pushes_nothing() {
    signed_for b.tar "$D" --recursive # signed for another destination
    policy p.json "$PLAIN" "$(keypath)"
    airlock push --policy p.json --plain-http b.tar "$PLAIN/$CASE"
    expect_rc 3
    err_has "nothing was pushed"
    err_has "pulled as '$PLAIN/$CASE/test/busybox:1.0'"
    err_has "signature for identity '$D/test/busybox:1.0' is not accepted"
    ! sk "$PLAIN/$CASE/test/busybox:1.0" >/dev/null 2>&1 || fail "a manifest was pushed"
    ! sk "$PLAIN/$CASE/multi:1" >/dev/null 2>&1 || fail "a manifest was pushed"
    ! sk "$PLAIN/$CASE/test/busybox@sha256:$(cat "$F/L.digest")" >/dev/null 2>&1 ||
        fail "a manifest was pushed by digest"
}

case_push_policy_passes() {
    signed_for b.tar "$PLAIN/$CASE" --recursive
    policy p.json "$PLAIN" "$(keypath)"
    airlock push --policy p.json --plain-http b.tar "$PLAIN/$CASE"
    expect_rc 0
    ! grep -qF UNSIGNED "$T/err" || fail "said UNSIGNED"
    # (Debian's skopeo is built with sigstore disabled, so containers/image itself cannot
    # check it here: the signatures are checked in the registry with airlock's strict reader)
    airlock verify --key cosign.pub --identity "$PLAIN/$CASE/test/busybox:1.0" --plain-http \
        "$PLAIN/$CASE/test/busybox:1.0"
    expect_rc 0
    airlock verify --key cosign.pub --identity "$PLAIN/$CASE/multi:1" --plain-http "$PLAIN/$CASE/multi:1"
    expect_rc 0
    # every platform manifest's own signature went up beside it
    for d in $(sk "$PLAIN/$CASE/multi:1" | jq -r '.manifests[].digest'); do
        sk "$PLAIN/$CASE/multi:sha256-${d#sha256:}.sig" >/dev/null || fail "no .sig for platform $d"
    done
    # the same bundle pushed elsewhere: refused by the same policy
    airlock push --policy p.json --plain-http b.tar "$PLAIN/$CASE-elsewhere"
    expect_rc 3
}

case_sync_with_policy_rule() {
    keys
    mkdir -p inbox
    signed_for inbox/good.tar "$PLAIN/$CASE" --recursive
    signed_for inbox/wrong.tar "$D" --recursive
    touch -d '-5 minutes' inbox/good.tar inbox/wrong.tar
    policy p.json "$PLAIN" "$(keypath)"
    # two runs: the same images from two bundles, one signed for here, one for elsewhere
    cat >sync.json <<EOC
{"inbox": "$PWD/inbox", "settleSeconds": 0,
 "rules": [{"match": "wrong*", "to": "$PLAIN/$CASE-w", "policy": "$PWD/p.json", "registry": {"plainHttp": true}},
           {"to": "$PLAIN/$CASE", "policy": "$PWD/p.json", "registry": {"plainHttp": true}}]}
EOC
    run timeout 60 "$AIRLOCK" sync --config sync.json --json
    expect_rc 1
    [ -f inbox/done/good.tar ] || fail "the bundle signed for its destination was not pushed"
    [ -f inbox/failed/wrong.tar ] || fail "the bundle signed for elsewhere was not refused"
    jq -e '.policy' inbox/done/good.tar.report.json >/dev/null || fail "no policy in the report"
    grep -q "is not accepted" inbox/failed/wrong.tar.report.json || fail "no reason in the report"
    sk "$PLAIN/$CASE/multi:1" >/dev/null || fail "not pushed"
    ! sk "$PLAIN/$CASE-w/multi:1" >/dev/null 2>&1 || fail "a refused bundle was pushed"
    # a rule with neither keys nor a policy is refused
    echo '{"inbox": "'"$PWD"'/inbox", "rules": [{"to": "x.example"}]}' >none.json
    run "$AIRLOCK" sync --config none.json
    expect_rc 2
    err_has 'no "keys" and no "policy"'
}

main "$@"
