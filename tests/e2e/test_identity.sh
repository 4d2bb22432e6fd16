# Signatures the consumers at the destination accept (issue 12): sign --to DEST signs each
# image and each platform manifest with its reference after push DEST; push (and verify --to,
# sync) refuse an image or platform whose verified signatures name another identity, before
# any manifest lands; an independent strict checker (cimage_check.py: containers/image's
# matchRepoDigestOrExact over the .sig payloads, by tag and by digest, per platform) reads
# what was pushed from the real registry.
. "$(dirname "$0")/lib.sh"
F=$FIXTURES
. "$REGROOT/env"
export COSIGN_PASSWORD=test-password
CASE=$(basename "$T" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9')
D="$PLAIN/$CASE"

# three images, one multi-arch, one under a Docker Hub name (normalized docker.io/library/x)
three() {
    [ -f cosign.key ] || "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    make_bundle "$1"
    "$AIRLOCK" import -q "$F/multi" -o "$1"
    "$AIRLOCK" import -q --name docker.io/library/motd:2 "$F/L2" -o "$1"
}
REFS=(test/busybox:1.0 multi:1 library/motd:2)
# nothing of the bundle is in the registry: no tag, no manifest
nothing_there() {
    local r code
    for r in test/busybox multi library/motd; do
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://$PLAIN/v2/$CASE/$r/tags/list")
        [ "$code" = 404 ] || fail "'$CASE/$r' has tags (HTTP $code)"
    done
    for dg in "sha256:$(cat "$F/L.digest")" "sha256:$(cat "$F/multi.digest")"; do
        for r in test/busybox multi; do
            code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' "http://$PLAIN/v2/$CASE/$r/manifests/$dg")
            [ "$code" = 404 ] || fail "'$CASE/$r@$dg' is in the registry (HTTP $code)"
        done
    done
}
strict() { run "$PY" "$E2E_SRC/cimage_check.py" cosign.pub "${REFS[@]/#/$D/}"; }

# the checker's reading of matchRepoDigestOrExact on the table the unit test gives airlock's
case_checker_agrees_with_the_rule_table() {
    run "$PY" "$E2E_SRC/cimage_check.py" --selftest
    [ "$rc" = 0 ] || fail "checker: $(cat "$T/out")"
    out_has "27 of 27 cases agree"
}

case_sign_to_dest_pushes_and_passes_the_strict_check() {
    three b.tar
    airlock sign --key cosign.key --to "$D" b.tar
    expect_rc 0
    err_empty
    airlock verify --key cosign.pub --to "$D" b.tar
    expect_rc 0
    err_has "platform linux/arm64/v8: signed as '$D/multi:1', needed '$D/multi:1': ok"
    err_has "image: signed as '$D/library/motd:2', needed '$D/library/motd:2': ok"
    airlock push --key cosign.pub --plain-http --json b.tar "$D"
    expect_rc 0
    json '.images | length == 3'
    # index + 2 platforms + 2 images, each with a .sig layer and a bundle referrer
    json '.signatures_verified == 10'
    strict
    [ "$rc" = 0 ] || fail "strict containers/image check: $(cat "$T/out")"
    [ "$(grep -c '^ok ' "$T/out")" = 10 ] || fail "expected 10 checks: $(cat "$T/out")"
    grep -q '^ok   linux/arm64/v8 by tag' "$T/out" || fail "arm64 not checked: $(cat "$T/out")"
    # the registry's copy verifies with airlock too
    airlock verify --key cosign.pub --plain-http "$D/multi:1"
    expect_rc 0
}

# Two tags of one image: one .sig, a layer per identity, each tag pulls; an entry with no tag
# is signed with its repository and digest (a by-digest pull matches the repository; a name
# alone matches nothing) and pushed by digest only.
case_two_tags_and_a_digest_only_entry() {
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    "$AIRLOCK" import -q --name example.com/test/busybox:1.0 "$F/o.tar" -o b/
    "$AIRLOCK" import -q --name example.com/test/busybox:latest "$F/o.tar" -o b/
    "$AIRLOCK" import -q "$F/multi" -o b/
    local m="sha256:$(cat "$F/multi.digest")"
    jq -c --arg r "example.com/multi@$m" '(.manifests[] | select(.digest == "'"$m"'") |
        .annotations["org.opencontainers.image.ref.name"]) = $r' b/index.json > i && mv i b/index.json
    airlock sign --key cosign.key --to "$D" b/
    expect_rc 0
    airlock verify --key cosign.pub --to "$D" b/
    expect_rc 0
    err_has "image: signed as '$D/multi@$m', needed '$D/multi@$m': ok"
    err_has "platform linux/amd64: signed as '$D/multi@$m', needed '$D/multi@sha256:"
    local sig
    sig=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] | test("busybox:sha256-.*[.]sig$")) | .digest' b/index.json)
    [ "$(jq '.layers | length' "b/blobs/sha256/${sig#sha256:}")" = 2 ] || fail "expected a layer per tag"
    airlock push --key cosign.pub --plain-http b/ "$D"
    expect_rc 0
    out_has "$D/multi@$m"
    run "$PY" "$E2E_SRC/cimage_check.py" cosign.pub "$D/test/busybox:1.0" "$D/test/busybox:latest" "$D/multi@$m"
    [ "$rc" = 0 ] || fail "strict check: $(cat "$T/out")"
    grep -q "^ok   linux/arm64/v8 by digest" "$T/out" || fail "checker: $(cat "$T/out")"
    ! grep -q "by tag.*multi" "$T/out" || fail "a digest-only entry has no tag to pull"
    # the checker refuses a tagless identity for a by-tag pull (matchRepoDigestOrExact)
    skopeo copy -q --dest-tls-verify=false "docker://$D/multi@$m" "docker://$D/multi:retagged" 2>/dev/null ||
        "$PY" - "$PLAIN" "$CASE/multi" "$m" <<'EOP'
import sys, urllib.request
h, repo, d = sys.argv[1:]
acc = "application/vnd.oci.image.index.v1+json"
body = urllib.request.urlopen(urllib.request.Request("http://%s/v2/%s/manifests/%s" % (h, repo, d), headers={"Accept": acc})).read()
urllib.request.urlopen(urllib.request.Request("http://%s/v2/%s/manifests/retagged" % (h, repo), data=body, method="PUT", headers={"Content-Type": acc}))
EOP
    run "$PY" "$E2E_SRC/cimage_check.py" cosign.pub "$D/multi:retagged"
    [ "$rc" = 1 ] || fail "a tagless identity passed a by-tag pull: $(cat "$T/out")"
    grep -q "^FAIL image by tag    $m (pulled as $D/multi:retagged; signed as $D/multi@$m)" "$T/out" ||
        fail "checker: $(cat "$T/out")"
}

# The platform manifests' signatures travel with the bundle: split, import of the parts, a
# push of the parts, an export back from the registry (whole and one platform), each keeps
# them, and the destination rule holds at every step.
case_platform_signatures_travel() {
    three b.tar
    "$AIRLOCK" sign --key cosign.key --to "$D" b.tar >/dev/null
    airlock split -q --size 700K b.tar -o s.tar
    expect_rc 0
    [ -f s.tar.002 ] || fail "expected several parts"
    airlock verify --key cosign.pub --to "$D" s.tar.001
    expect_rc 0
    err_has "platform linux/arm64/v8: signed as '$D/multi:1', needed '$D/multi:1': ok"
    airlock import -q s.tar.00* -o joined.tar.zst
    expect_rc 0
    airlock verify --key cosign.pub --to "$D" joined.tar.zst
    expect_rc 0
    airlock push --key cosign.pub --plain-http -q s.tar.00* "$D"
    expect_rc 0
    strict
    [ "$rc" = 0 ] || fail "strict check after a push of the parts: $(cat "$T/out")"
    airlock push --key cosign.pub --plain-http -q joined.tar.zst "$D"
    expect_rc 0
    # back out of the registry: the platform manifests' .sig tags come along
    airlock export --plain-http "$D/multi:1" -o e.tar
    expect_rc 0
    [ "$(grep -c "$D/multi:sha256-.*[.]sig" "$T/out")" = 3 ] || fail "expected 3 .sig tags"
    airlock verify --key cosign.pub --to "$PLAIN" --map "$D/multi=$CASE/multi" e.tar
    expect_rc 0
    airlock export --plain-http --platform linux/arm64 "$D/multi:1" -o arm.tar
    expect_rc 0
    airlock verify --key cosign.pub arm.tar
    expect_rc 0
}

case_push_refuses_the_upstream_identity_before_any_manifest() {
    three b.tar
    airlock sign --key cosign.key b.tar
    expect_rc 0
    # one warning line, saying who refuses it and how to fix it
    [ "$(wc -l < "$T/err")" = 1 ] || fail "expected one warning line"
    err_has "containers/image's default policy"
    err_has "--to DEST"
    airlock push --key cosign.pub --plain-http b.tar "$D"
    expect_rc 3
    err_has "signed as 'example.com/test/busybox'"
    err_has "a pull of '$D/test/busybox:1.0' needs a signature naming it"
    err_has "nothing was pushed"
    out_empty
    nothing_there
    # the strict checker agrees: nothing there to accept
    strict
    [ "$rc" = 1 ] || fail "strict check passed on an empty registry"
    # on purpose: accepted with any identity, and said so
    airlock push --identity-check any --key cosign.pub --plain-http b.tar "$D"
    expect_rc 0
    err_has "--identity-check any"
    # and what went up is what containers/image refuses
    strict
    [ "$rc" = 1 ] || fail "the strict check accepted the upstream identity"
    grep -q "FAIL image by tag    sha256:$(cat "$F/L.digest") (pulled as $D/test/busybox:1.0; signed as example.com/test/busybox)" "$T/out" ||
        fail "checker output: $(cat "$T/out")"
}

case_no_recursive_push_refuses_the_platform_manifests() {
    three b.tar
    airlock sign --key cosign.key --to "$D" --no-recursive b.tar
    expect_rc 0
    out_lacks "example.com/multi@"
    airlock push --key cosign.pub --plain-http b.tar "$D"
    expect_rc 3
    err_has "image 'example.com/multi:1'"
    err_has "platform linux/amd64"
    err_has "signed as nothing: no signature verified with the key"
    err_has "nothing was pushed"
    nothing_there
    airlock verify --key cosign.pub --to "$D" b.tar
    expect_rc 3
    err_has "platform linux/arm64/v8: signed as '(no docker-reference)', needed '$D/multi:1': REFUSED"
    # cosign's rule (index only) is still there on purpose
    airlock verify --key cosign.pub b.tar
    expect_rc 0
    # pushed on purpose with cosign's rule, one platform exported: its missing signature is said
    airlock push --identity-check any --key cosign.pub --plain-http -q b.tar "$D"
    expect_rc 0
    airlock export --plain-http --platform linux/arm64 "$D/multi:1" -o arm.tar
    expect_rc 0
    err_has "is signed as an index"
    err_has "has no signature of its own"
    # signing again without --no-recursive adds the platforms' signatures
    airlock sign --key cosign.key --to "$D" b.tar
    expect_rc 0
    airlock push --key cosign.pub --plain-http b.tar "$D"
    expect_rc 0
    strict
    [ "$rc" = 0 ] || fail "strict check: $(cat "$T/out")"
}

case_verify_to_with_another_map_fails() {
    three b.tar
    "$AIRLOCK" sign --key cosign.key --to "$D" b.tar >/dev/null
    airlock verify --key cosign.pub --to "$D" --map example.com/multi=mirror/multi b.tar
    expect_rc 3
    err_has "signed as '$D/multi:1', but a pull of '$PLAIN/mirror/multi:1' needs a signature naming it"
    err_has "platform linux/amd64: signed as '$D/multi:1', needed '$PLAIN/mirror/multi:1': REFUSED"
    out_has "BADSIG"
    airlock verify --json --key cosign.pub --to "$D" --map example.com/multi=mirror/multi b.tar
    expect_rc 3
    json '[.images[] | select(.ref == "example.com/multi:1")][0].identity | .ok == false and .needed == "'"$PLAIN"'/mirror/multi:1" and (.platforms | length) == 2'
    json '[.images[] | select(.ref == "example.com/test/busybox:1.0")][0].identity.ok'
    # another host, another prefix
    airlock verify --key cosign.pub --to "$D-other" b.tar
    expect_rc 3
    # the same map at sign and verify: the one mapping
    "$AIRLOCK" sign --key cosign.key --to "$PLAIN" --map example.com/multi=mirror/multi b.tar 2>/dev/null >/dev/null
    airlock verify --key cosign.pub --to "$PLAIN" --map example.com/multi=mirror/multi b.tar
    expect_rc 0
    # --identity-check any relaxes it, and says so
    airlock verify --key cosign.pub --to "$D-other" --identity-check any b.tar
    expect_rc 0
    err_has "--identity-check any"
    # a sigstore bundle names no reference: nothing a containers/image consumer could match
    make_bundle o.tar
    "$AIRLOCK" sign --key cosign.key --to "$D" --signature-format bundle o.tar >/dev/null
    airlock verify --key cosign.pub --to "$D" o.tar
    expect_rc 3
    err_has "signed as nothing: its verified signatures are sigstore bundles, which name no docker-reference"
    airlock push --key cosign.pub --plain-http o.tar "$D"
    expect_rc 3
    err_has "nothing was pushed"
}

case_identity_for_several_images_refused() {
    three b.tar
    airlock sign --key cosign.key --identity "$D/test/busybox:1.0" b.tar
    expect_rc 2
    err_has "would name all 3 images"
    err_has "--to DEST"
    out_empty
    airlock verify --key cosign.pub b.tar
    expect_rc 3 # nothing was signed
    # one image named: --identity keeps its meaning
    airlock sign --key cosign.key --identity "$D/test/busybox:1.0" b.tar example.com/test/busybox:1.0
    expect_rc 0
    airlock sign --key cosign.key --identity x.io/a:1 --to "$D" b.tar
    expect_rc 2
}

case_sync_rule_for_another_destination_files_it_in_failed() {
    three b.tar
    "$AIRLOCK" sign --key cosign.key --to "$D/elsewhere" b.tar >/dev/null
    mkdir -p inbox
    cp b.tar inbox/b.tar
    touch -d '-5 minutes' inbox/b.tar
    cat > sync.json <<EOC
{"inbox": "$PWD/inbox", "settleSeconds": 0,
 "rules": [{"to": "$D", "keys": ["$PWD/cosign.pub"], "registry": {"plainHttp": true}}]}
EOC
    airlock sync --config sync.json --json
    expect_rc 1
    json '.failed == 1 and .pushed == 0'
    [ -f inbox/failed/b.tar ] || fail "not in failed/"
    jq -e '.error | test("no signature by .* names its destination") and test("signed as \u0027'"$D"'/elsewhere/") and test("needs a signature naming it")' inbox/failed/b.tar.report.json >/dev/null ||
        fail "report: $(cat inbox/failed/b.tar.report.json)"
    nothing_there
    # the rule relaxed on purpose: pushed
    mv inbox/failed/b.tar inbox/b.tar
    touch -d '-5 minutes' inbox/b.tar
    sed -i 's/"keys"/"identityCheck": "any", "keys"/' sync.json
    airlock sync --config sync.json --json
    expect_rc 0
    json '.pushed == 1'
    err_has '"identityCheck": "any"'
    # a bad value is the configuration's fault, named
    sed -i 's/"identityCheck": "any"/"identityCheck": "loose"/' sync.json
    airlock sync --config sync.json
    expect_rc 2
    err_has '"identityCheck"'
}

case_sync_command_line_applies_the_rule() {
    three b.tar
    "$AIRLOCK" sign --key cosign.key b.tar 2>/dev/null >/dev/null
    mkdir -p inbox && cp b.tar inbox/ && touch -d '-5 minutes' inbox/b.tar
    airlock sync --key cosign.pub --to "$D" --plain-http inbox
    expect_rc 1
    [ -f inbox/failed/b.tar ] || fail "not in failed/"
    jq -e '.error | test("signed as \u0027example.com/")' inbox/failed/b.tar.report.json >/dev/null ||
        fail "report: $(cat inbox/failed/b.tar.report.json)"
    nothing_there
}

main "$@"
