# What push tags is exactly what was verified: relabelled and smuggled unsigned manifests
# never reach a registry (push, sync), verify and push agree, the push plan is linear in the
# graph, concurrent pushes keep every signature, and text output cannot be forged by names.
. "$(dirname "$0")/lib.sh"
F=$FIXTURES
. "$REGROOT/env"
export COSIGN_PASSWORD=test-password
CASE=$(basename "$T" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9')
SMUGGLE() { "$PY" "$E2E_SRC/mksmuggle.py" "$@"; }
sk() { skopeo inspect --tls-verify=false --raw "docker://$1"; }
keys() { [ -f "${1:-cosign}.key" ] || "$AIRLOCK" keygen --output-key-prefix "${1:-cosign}" 2>/dev/null; }

# a signed directory bundle of the fixture image (example.com/test/busybox:1.0)
signed_dir() { # DIR [KEY]
    keys "${2:-cosign}"
    make_bundle "$1/"
    "$AIRLOCK" sign --key "${2:-cosign}.key" "$1" >/dev/null
}

# nothing of the bundle's unsigned manifest DIGEST is in repository REPO
not_pushed() { # REPO DIGEST
    ! sk "$PLAIN/$1@$2" >/dev/null 2>&1 || fail "unsigned manifest $2 reached $1"
}

case_relabelled_unsigned_image_refused() {
    for kind in dev.cosignproject.cosign/atts dev.cosignproject.cosign/sboms \
        dev.cosignproject.cosign/sigs; do
        rm -rf b
        signed_dir b
        dg=$(SMUGGLE b relabel "$kind")
        airlock verify --key cosign.pub b
        expect_rc 3
        out_has "UNSIGNED $dg example.com/test/evil:latest"
        out_has "ok       sha256:$(cat "$F/L.digest") example.com/test/busybox:1.0"
        airlock push --identity-check any --key cosign.pub --plain-http b "$PLAIN/$CASE"
        expect_rc 3
        err_has "example.com/test/evil:latest"
        err_has "nothing was pushed"
        not_pushed "$CASE/test/evil" "$dg"
        ! sk "$PLAIN/$CASE/test/evil:latest" >/dev/null 2>&1 || fail "evil:latest tagged ($kind)"
        ! sk "$PLAIN/$CASE/test/busybox:1.0" >/dev/null 2>&1 || fail "pushed part of a refused bundle"
    done
}

case_image_under_a_sig_tag_refused() {
    signed_dir b
    dg=$(SMUGGLE b sigtag)
    airlock verify --key cosign.pub b
    expect_rc 3
    out_has "UNSIGNED $dg"
    airlock push --identity-check any --key cosign.pub --plain-http b "$PLAIN/$CASE"
    expect_rc 3
    not_pushed "$CASE/test/busybox" "$dg"
}

case_extra_layer_in_a_sig_manifest_never_pushed() {
    signed_dir b
    dg=$(SMUGGLE b extralayer)
    airlock verify --key cosign.pub b
    expect_rc 3
    airlock push --identity-check any --key cosign.pub --plain-http b "$PLAIN/$CASE"
    expect_rc 3
    not_pushed "$CASE/test/busybox" "$dg"
    ! sk "$PLAIN/$CASE/test/busybox:1.0" >/dev/null 2>&1 || fail "pushed part of a refused bundle"
}

# what Go (the registry, containers/image) would read differently from airlock, a referrer
# that is a runnable image, a junk layer in a .sig: none of it reaches the registry
case_content_go_reads_otherwise_never_pushed() {
    for c in dupkeys runnable-referrer junklayer; do
        rm -rf b
        signed_dir b
        SMUGGLE b $c >/dev/null
        airlock verify --key cosign.pub b
        [ "$rc" = 3 ] || [ "$rc" = 4 ] || fail "$c: verify exit $rc"
        airlock push --identity-check any --key cosign.pub --plain-http b "$PLAIN/$CASE/$c"
        [ "$rc" = 3 ] || [ "$rc" = 4 ] || fail "$c: push exit $rc"
        ! sk "$PLAIN/$CASE/$c/test/busybox:1.0" >/dev/null 2>&1 || fail "$c: pushed"
        for t in $(jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"]' b/index.json | sed 's/.*://'); do
            ! sk "$PLAIN/$CASE/$c/test/busybox:$t" >/dev/null 2>&1 || fail "$c: tag $t pushed"
        done
    done
}

# the registry's .sig tag holds an image, not signatures: it is left alone, not merged
case_registry_sig_tag_holding_an_image_left_alone() {
    signed_dir b
    d=sha256:$(cat "$F/L.digest")
    skopeo copy -q --dest-tls-verify=false "oci-archive:$F/o.tar" \
        "docker://$PLAIN/$CASE/test/busybox:sha256-${d#sha256:}.sig" 2>/dev/null ||
        skopeo copy -q --dest-tls-verify=false "oci:b:example.com/test/busybox:1.0" \
            "docker://$PLAIN/$CASE/test/busybox:sha256-${d#sha256:}.sig"
    before=$(sk "$PLAIN/$CASE/test/busybox:sha256-${d#sha256:}.sig" | sha256sum)
    airlock push --identity-check any --key cosign.pub --plain-http b "$PLAIN/$CASE"
    [ "$rc" != 0 ] || fail "merged into an image"
    err_has "holds something other than a cosign signature manifest"
    [ "$(sk "$PLAIN/$CASE/test/busybox:sha256-${d#sha256:}.sig" | sha256sum)" = "$before" ] ||
        fail "the registry's tag was changed"
    ! sk "$PLAIN/$CASE/test/busybox:1.0" >/dev/null 2>&1 || fail "tagged without its signature"
}

# attestations already in the registry are kept: a second bundle's .att is merged in
case_attestations_merge_never_drop_theirs() {
    signed_dir a
    SMUGGLE a att first >/dev/null
    airlock push --identity-check any --key cosign.pub --plain-http -q a "$PLAIN/$CASE"
    expect_rc 0
    signed_dir b
    SMUGGLE b att second >/dev/null
    airlock push --identity-check any --key cosign.pub --plain-http -q b "$PLAIN/$CASE"
    expect_rc 0
    d=$(cat "$F/L.digest")
    n=$(sk "$PLAIN/$CASE/test/busybox:sha256-$d.att" | jq '.layers | length')
    [ "$n" = 2 ] || fail "expected 2 attestation layers, got $n"
    # the first again adds nothing and drops nothing
    airlock push --identity-check any --key cosign.pub --plain-http -q a "$PLAIN/$CASE"
    expect_rc 0
    n=$(sk "$PLAIN/$CASE/test/busybox:sha256-$d.att" | jq '.layers | length')
    [ "$n" = 2 ] || fail "attestation layers: $n"
}

case_allow_unsigned_names_what_went_up_unsigned() {
    signed_dir b
    dg=$(SMUGGLE b relabel dev.cosignproject.cosign/atts)
    airlock verify --key cosign.pub --allow-unsigned b
    expect_rc 0
    out_has "unsigned $dg example.com/test/evil:latest"
    err_has "image 'example.com/test/evil:latest' is not signed (allowed)"
    airlock push --identity-check any --key cosign.pub --allow-unsigned --plain-http b "$PLAIN/$CASE"
    expect_rc 0
    err_has "UNSIGNED: $PLAIN/$CASE/test/evil:latest"
    airlock push --identity-check any --key cosign.pub --allow-unsigned --plain-http --json b "$PLAIN/$CASE"
    expect_rc 0
    json '.images[] | select(.ref | endswith("evil:latest")) | .verified == false'
    json '.images[] | select(.ref | endswith("busybox:1.0")) | .verified == true'
    # a bad signature is not "unsigned": it still stops the push
    "$AIRLOCK" keygen --output-key-prefix other 2>/dev/null
    airlock push --identity-check any --key other.pub --allow-unsigned --plain-http b "$PLAIN/$CASE/x"
    expect_rc 3
}

case_sync_refuses_relabelled_unsigned_image() {
    keys
    mkdir inbox
    signed_dir inbox/drop
    dg=$(SMUGGLE inbox/drop relabel dev.cosignproject.cosign/sboms)
    find inbox/drop -exec touch -h -d '-5 minutes' {} +
    airlock sync --identity-check any --json --key cosign.pub --to "$PLAIN/$CASE" --plain-http inbox
    expect_rc 1
    [ -d inbox/failed/drop ] || fail "not filed as failed"
    grep -qF "example.com/test/evil:latest" inbox/failed/drop.report.json ||
        fail "the report does not name the unsigned image"
    grep -qF "example.com/test/evil:latest" inbox/airlock-audit.log ||
        fail "the audit log does not name the unsigned image"
    not_pushed "$CASE/test/evil" "$dg"
}

case_push_plan_is_linear_in_the_graph() {
    keys
    make_bundle b/
    SMUGGLE b nested 5 >/dev/null # 40^5 paths, 6 distinct manifests
    "$AIRLOCK" sign --key cosign.key b >/dev/null
    airlock verify --key cosign.pub b
    expect_rc 0
    start=$(date +%s)
    run timeout 120 "$AIRLOCK" push --identity-check any --key cosign.pub --plain-http -q b "$PLAIN/$CASE"
    expect_rc 0
    [ $(($(date +%s) - start)) -lt 30 ] || fail "push took $(($(date +%s) - start)) s"
    sk "$PLAIN/$CASE/test/nest:1" >/dev/null || fail "nested index not tagged"
}

# what a round left in DEST: "" when every key's signature is there in both formats (three
# simple-signing layers at the .sig tag, three bundle referrers at the fallback tag), else why
concurrent_round_lacks() {
    local dest=$1 ks=$2 k base dg n
    for k in $ks; do
        "$AIRLOCK" verify --key $k.pub --plain-http "$dest/test/busybox:1.0" >/dev/null 2>&1 ||
            { echo "the signature of $k is gone"; return; }
    done
    base="http://${dest%%/*}/v2/${dest#*/}/test/busybox"
    dg=$(curl -sfI -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$base/manifests/1.0" |
        tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')
    n=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        "$base/manifests/sha256-${dg#sha256:}.sig" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["layers"]))')
    [ "$n" = 3 ] || { echo "$n signatures at the .sig tag, not 3"; return; }
    n=$(curl -sf -H 'Accept: application/vnd.oci.image.index.v1+json' \
        "$base/manifests/sha256-${dg#sha256:}" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["manifests"]))')
    [ "$n" = 3 ] || echo "$n bundle referrers at the fallback tag, not 3"
}

case_concurrent_pushes_keep_every_signature() {
    # three pushers of one image at once, each signed with its own key, into one repository:
    # each keeps the others' signatures (.sig and the sigstore bundle referrers). A registry has
    # no conditional PUT, so one window stays open: a writer that read the tag just before our
    # PUT and writes after our final check drops ours unseen. Such a round is allowed rarely
    # (before the re-read and re-merge, most runs lost one), and pushing again must always
    # bring every signature back: merging never drops theirs.
    local ks="one two three" k round lossy=0 why
    make_bundle a.tar
    for k in $ks; do
        keys $k
        cp a.tar $k.tar
        "$AIRLOCK" sign --key $k.key $k.tar >/dev/null
    done
    for round in 1 2 3 4 5 6 7 8 9 10; do
        dest="$PLAIN/$CASE/r$round"
        local pids=""
        for k in $ks; do
            "$AIRLOCK" push --identity-check any --key $k.pub --plain-http -q $k.tar "$dest" \
                2>$k.err &
            pids="$pids $!"
        done
        for k in $pids; do
            wait $k || fail "round $round: a push failed: $(cat *.err)"
        done
        why=$(concurrent_round_lacks "$dest" "$ks")
        [ -z "$why" ] && continue
        lossy=$((lossy + 1))
        echo "round $round, pushed at once: $why (the window a registry without conditional PUT leaves)" >&2
        for k in $ks; do
            "$AIRLOCK" push --identity-check any --key $k.pub --plain-http -q $k.tar "$dest" 2>$k.err ||
                fail "round $round: pushing $k again failed: $(cat $k.err)"
        done
        why=$(concurrent_round_lacks "$dest" "$ks")
        [ -z "$why" ] || fail "round $round: pushed again, still: $why"
    done
    [ "$lossy" -le 2 ] || fail "$lossy of 10 rounds of concurrent pushes lost a signature"
}

case_names_cannot_forge_output_lines() {
    signed_dir b
    SMUGGLE b evilname >/dev/null
    airlock verify --key cosign.pub b
    expect_rc 3
    ! grep -q $'\x1b' "$T/out" "$T/err" || fail "an escape sequence was printed raw"
    ! grep -q "^ok .*forged" "$T/out" || fail "a forged 'ok' line"
    out_has 'example.com/test/x:1\nok'
    out_has '\u{202E}gnp.exe\u{2028}\xc0\x8a\xe0\x82\x9b'
    ! grep -q $'\xe2\x80\xae' "$T/out" "$T/err" || fail "a bidi override was printed raw"
    airlock verify --key cosign.pub --json b
    ! grep -q $'\xe2\x80\xae\|\xc0\x8a' "$T/out" || fail "--json printed a bidi override or overlong raw"
    grep -qF '\u202e' "$T/out" || fail "--json does not escape U+202E"
    airlock inspect b
    ! grep -q $'\x1b' "$T/out" "$T/err" || fail "inspect printed an escape sequence raw"
    ! grep -q "^ok .*forged" "$T/out" || fail "inspect: a forged line"
}

case_status_is_per_entry_not_per_digest() {
    signed_dir b
    SMUGGLE b alias >/dev/null
    airlock verify --key cosign.pub b
    expect_rc 3
    out_has "ok       sha256:$(cat "$F/L.digest") example.com/test/busybox:1.0"
    out_has "UNSIGNED sha256:$(cat "$F/L.digest") example.com/other/alias:1"
    airlock verify --key cosign.pub --json b
    json '.images[] | select(.ref == "example.com/test/busybox:1.0") | .signed == true'
    json '.images[] | select(.ref == "example.com/other/alias:1") | .signed == false'
}

main "$@"
