# An attacker's review of serve, policy and the destination rule: crafted bundles, requests and
# policies that once got past a claim, each kept as a case.
. "$(dirname "$0")/lib.sh"
F=$FIXTURES
export COSIGN_PASSWORD=test-password
SPID=""
review_cleanup() {
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
    return 0
}
trap 'review_cleanup; cleanup' EXIT

# serve_up ARGS...: airlock serve in the background; $ADDR host:port, $SPID, log in serve.log
serve_up() {
    : >"$T/serve.log"
    "$AIRLOCK" serve --listen 127.0.0.1:0 "$@" 2>>"$T/serve.log" &
    SPID=$!
    ADDR=""
    for _ in $(seq 300); do
        ADDR=$(sed -n 's|^listening on https\{0,1\}://\(127\.0\.0\.1:[0-9]*\) (bundle .*|\1|p' "$T/serve.log")
        [ -n "$ADDR" ] && return 0
        if ! kill -0 "$SPID" 2>/dev/null; then
            SPID=""
            fail "serve did not start: $(cat "$T/serve.log")"
        fi
        sleep 0.1
    done
    fail "serve did not start in time: $(cat "$T/serve.log")"
}
serve_down() {
    kill -TERM "$SPID"
    wait "$SPID" || true
    SPID=""
}
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# a blob damaged after the start, asked for in Range pieces one block and a byte long, each
# starting where the last one's delivered bytes ended: the pieces must never add up to the
# whole damaged blob (each response holds back only its own last block)
case_damaged_blob_by_ranges() {
    mkdir media
    "$AIRLOCK" import -q --format dir --name example.com/test/busybox:1.0 "$F/o.tar" -o media/drop
    serve_up media/drop
    local d f size at=0 n got
    d=$(curl -sf "http://$ADDR/v2/test/busybox/manifests/1.0" | jq -r '.layers | max_by(.size) | .digest')
    f="media/drop/blobs/sha256/${d#sha256:}"
    size=$(stat -c %s "$f")
    [ "$size" -gt $((3 * 262144)) ] || fail "the fixture layer is too small for this case ($size)"
    printf 'X' | dd of="$f" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
    : >assembled
    for _ in $(seq 40); do
        [ "$at" -lt "$size" ] || break
        rm -f piece
        curl -s -o piece -r "$at-$((at + 262144))" "http://$ADDR/v2/test/busybox/blobs/$d" || true
        n=$(stat -c %s piece 2>/dev/null || echo 0)
        [ "$n" -gt 0 ] || break
        cat piece >>assembled
        at=$((at + n))
    done
    got=$(stat -c %s assembled)
    ! cmp -s assembled "$f" || fail "the damaged blob was delivered whole in Range pieces ($got bytes)"
    [ "$got" -lt "$size" ] || fail "$got of $size bytes of a damaged blob delivered through ranges"
    rm -f piece
    curl -s -o piece -r "$((size - 1))-" "http://$ADDR/v2/test/busybox/blobs/$d" || true
    [ ! -s piece ] || fail "the last byte of a damaged blob was delivered"
    serve_down
}

# signed_dir: media/drop, the busybox image at example.com/test/busybox:1.0 signed with cosign.key
signed_dir() {
    mkdir -p media
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    "$AIRLOCK" import -q --format dir --name example.com/test/busybox:1.0 "$F/o.tar" -o media/drop
    "$AIRLOCK" sign --key cosign.key media/drop >/dev/null 2>&1
    BB=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="example.com/test/busybox:1.0") | .digest' media/drop/index.json)
}

# an OCI 1.1 referrer of the signed image (admitted as its attachment, with no signature of
# its own) listed first in index.json under the image's own name: serve must not hand it out
# for the tag 1.0 (push never tags a referrer: it goes up by digest and in the referrers
# index), and it is found through the referrers API as push would list it
case_referrer_under_image_tag() {
    signed_dir
    local rd
    rd=$($PY "$E2E_SRC/mkreview.py" media/drop tagreferrer example.com/test/busybox:1.0)
    serve_up --key cosign.pub media/drop
    [ "$(curl -sf -D - -o /dev/null "http://$ADDR/v2/test/busybox/manifests/1.0" | tr -d '\r' |
        sed -n 's/^docker-content-digest: //Ip')" = "$BB" ] ||
        fail "the tag 1.0 is not the signed image's (the referrer $rd took it)"
    [ "$(code "http://$ADDR/v2/test/busybox/manifests/$rd")" = 200 ] || fail "the referrer is not served by digest"
    curl -sf "http://$ADDR/v2/test/busybox/referrers/$BB" |
        jq -e --arg d "$rd" '[.manifests[].digest] | index($d) != null' >/dev/null ||
        fail "the referrer is not in the referrers API: $(curl -s "http://$ADDR/v2/test/busybox/referrers/$BB")"
    serve_down
}

# two signed images listed under the same name: push puts the tags in index.json order, so
# the registry ends with the last one; serve gives the tag the same image
case_same_name_twice() {
    mkdir -p media
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    "$AIRLOCK" import -q --format dir --name example.com/test/busybox:1.0 "$F/o.tar" -o media/drop
    local second
    second=$($PY "$E2E_SRC/mkreview.py" media/drop unsignedfirst example.com/test/busybox:1.0)
    # the crafted one first, the imported one last
    "$AIRLOCK" sign --key cosign.key media/drop >/dev/null 2>&1
    local last
    last=$(jq -r '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="example.com/test/busybox:1.0") | .digest] | last' media/drop/index.json)
    [ "$last" != "$second" ] || fail "the crafted image is not first"
    serve_up --key cosign.pub media/drop
    [ "$(curl -sf -D - -o /dev/null "http://$ADDR/v2/test/busybox/manifests/1.0" | tr -d '\r' |
        sed -n 's/^docker-content-digest: //Ip')" = "$last" ] ||
        fail "serve's 1.0 is not the last entry under that name (push's)"
    serve_down
}

# --policy refuses an image: its attachments (here an OCI 1.1 referrer listed under the
# referrers schema's tag) are not served either, by digest, tag or the referrers API
case_policy_refused_attachment() {
    mkdir media
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    "$AIRLOCK" import -q --format dir --name example.com/test/busybox:1.0 "$F/o.tar" -o media/drop
    "$AIRLOCK" sign --key cosign.key --identity registry.lan:5000/test/busybox:1.0 media/drop >/dev/null 2>&1
    "$AIRLOCK" import -q "$F/multi" -o media/drop
    local md rd
    md=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="example.com/multi:1") | .digest' media/drop/index.json)
    rd=$($PY "$E2E_SRC/mkreview.py" media/drop tagreferrer "example.com/multi:sha256-${md#sha256:}" example.com/multi:1)
    cat >policy.json <<EOF
{"default": [{"type": "reject"}],
 "transports": {"docker": {"registry.lan:5000": [{"type": "sigstoreSigned",
   "keyPath": "$PWD/cosign.pub", "signedIdentity": {"type": "matchRepoDigestOrExact"}}]}}}
EOF
    serve_up --policy policy.json --registry-name registry.lan:5000 media/drop
    [ "$(code "http://$ADDR/v2/multi/manifests/1")" = 404 ] || fail "the refused image is served"
    [ "$(code "http://$ADDR/v2/multi/manifests/$rd")" = 404 ] ||
        fail "a referrer of the refused image is served by digest"
    [ "$(code "http://$ADDR/v2/multi/manifests/sha256-${md#sha256:}")" = 404 ] ||
        fail "a referrer of the refused image is served by its tag"
    ! curl -s "http://$ADDR/v2/multi/referrers/$md" | grep -q "$rd" ||
        fail "a referrer of the refused image is in the referrers API"
    curl -s "http://$ADDR/v2/_catalog" | jq -e '.repositories == ["test/busybox"]' >/dev/null ||
        fail "_catalog: $(curl -s "http://$ADDR/v2/_catalog")"
    serve_down
}

# a digest-only entry signed with sign --to: the destination rule (verify --to, as push
# applies it) and containers/image's own rule (verify --policy, matchRepoDigestOrExact, which
# never matches a signature naming a repository alone, pulled by digest or not) must agree;
# a signature naming only the repository must not pass the destination rule either
case_digest_only_entry_identity() {
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    "$AIRLOCK" import -q "$F/multi" -o b/
    local m="sha256:$(cat "$F/multi.digest")" D=registry.lan:5000/mirror
    jq -c --arg r "example.com/multi@$m" '(.manifests[] | select(.digest == "'"$m"'") |
        .annotations["org.opencontainers.image.ref.name"]) = $r' b/index.json >i && mv i b/index.json
    cp -r b nameonly
    airlock sign --key cosign.key --to "$D" b/
    expect_rc 0
    airlock verify --key cosign.pub --to "$D" b/
    expect_rc 0
    cat >policy.json <<EOF
{"default": [{"type": "reject"}],
 "transports": {"docker": {"registry.lan:5000": [{"type": "sigstoreSigned",
   "keyPath": "$PWD/cosign.pub", "signedIdentity": {"type": "matchRepoDigestOrExact"}}]}}}
EOF
    airlock verify --policy policy.json --to "$D" b/
    [ "$rc" = 0 ] || fail "sign --to wrote an identity containers/image refuses by digest: $(cat "$T/out" "$T/err")"
    # signed naming the repository alone
    airlock sign --key cosign.key --identity "$D/multi" nameonly/
    expect_rc 0
    airlock verify --policy policy.json --to "$D" nameonly/
    expect_rc 3
    airlock verify --key cosign.pub --to "$D" nameonly/
    expect_rc 3
    err_has "matchRepoDigestOrExact"
}

# an entry shaped like an attachment of nothing the bundle holds is an image of its own to the
# signature check; the policy must judge it as one: --policy (no key) must not serve it, and
# verify --policy names it
case_policy_judges_orphan_attachment() {
    mkdir media
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    "$AIRLOCK" import -q --format dir --name example.com/test/busybox:1.0 "$F/o.tar" -o media/drop
    "$AIRLOCK" sign --key cosign.key --identity registry.lan:5000/test/busybox:1.0 media/drop >/dev/null 2>&1
    local od
    od=$($PY "$E2E_SRC/mkreview.py" media/drop orphan example.com/junk/thing:1)
    cat >policy.json <<EOF
{"default": [{"type": "reject"}],
 "transports": {"docker": {"registry.lan:5000": [{"type": "sigstoreSigned",
   "keyPath": "$PWD/cosign.pub", "signedIdentity": {"type": "matchRepoDigestOrExact"}}]}}}
EOF
    airlock verify --policy policy.json --to registry.lan:5000 media/drop
    expect_rc 3
    grep -q "policy FAILED $od" "$T/out" || fail "verify --policy does not judge the orphan: $(cat "$T/out")"
    serve_up --policy policy.json --registry-name registry.lan:5000 media/drop
    [ "$(code "http://$ADDR/v2/junk/thing/manifests/1")" = 404 ] || fail "an entry the policy never judged is served"
    [ "$(code "http://$ADDR/v2/junk/thing/manifests/$od")" = 404 ] || fail "an entry the policy never judged is served by digest"
    [ "$(code "http://$ADDR/v2/test/busybox/manifests/1.0")" = 200 ] || fail "the signed image is not served"
    serve_down
}

main "$@"
