# airlock serve: a bundle served as a read-only registry, pulled by real clients (skopeo,
# podman, containerd's ctr, airlock export, curl) with digests equal to the bundle's, from a
# .tar, a directory and a split set on two directories, without a file written; damage found
# at the start refuses it, damage after the start cuts the response off. Every server listens
# on 127.0.0.1 on a port the kernel picks (--listen 127.0.0.1:0, read back from its log).
. "$(dirname "$0")/lib.sh"
F=$FIXTURES
export COSIGN_PASSWORD=test-password
SPID="" CPID="" PMRUN=""
serve_cleanup() {
    [ -n "$PMRUN" ] && rm -rf "$PMRUN"
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
    [ -n "$CPID" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
    return 0
}
trap 'serve_cleanup; cleanup' EXIT

# serve_up ARGS...: airlock serve in the background; $ADDR host:port, $SPID, log in serve.log
serve_up() {
    : >"$T/serve.log" # there before the background shell opens it, for the reads below
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
# SIGTERM: a graceful stop with exit code 0
serve_down() {
    local src=0
    kill -TERM "$SPID"
    wait "$SPID" || src=$?
    SPID=""
    [ "$src" = 0 ] || fail "serve exited $src after SIGTERM: $(tail -5 "$T/serve.log")"
    grep -q '^stopped' "$T/serve.log" || fail "serve did not say it stopped"
}

# media/drop.tar: the multi-arch index and the busybox image
drop_tar() {
    mkdir -p media
    "$AIRLOCK" import -q "$F/multi" -o media/drop.tar
    "$AIRLOCK" import -q --name example.com/test/busybox:1.0 "$F/o.tar" -o media/drop.tar
}
# every file below a directory with its size, time and mode: nothing written by serve
snap() { find "$1" -printf '%p %s %T@ %m\n' | sort; }
sk() { skopeo inspect --tls-verify=false --raw "docker://$1" | sha256sum | cut -d' ' -f1; }
# the digest of the largest layer of the busybox image as served
big_layer() {
    curl -sf "http://$ADDR/v2/test/busybox/manifests/1.0" |
        jq -r '.layers | max_by(.size) | .digest'
}

# skopeo inspect and copy --all of the multi-arch image and the single one, from a .tar:
# digests identical to the bundle's, every blob checked by skopeo, no file written
case_skopeo_copy_all() {
    drop_tar
    local before bb
    before=$(snap media)
    bb=$("$AIRLOCK" inspect --json media/drop.tar | jq -r '.images[] | select(.ref=="example.com/test/busybox:1.0") | .digest')
    serve_up media/drop.tar
    [ "$(sk "$ADDR/multi:1")" = "$(cat "$F/multi.digest")" ] || fail "multi:1 digest differs"
    [ "sha256:$(sk "$ADDR/test/busybox:1.0")" = "$bb" ] || fail "busybox digest differs"
    skopeo inspect --tls-verify=false "docker://$ADDR/test/busybox:1.0" | jq -e '.Architecture == "amd64"' >/dev/null ||
        fail "skopeo inspect (config) failed"
    skopeo copy -q --all --src-tls-verify=false "docker://$ADDR/multi:1" oci:copy:multi ||
        fail "skopeo copy --all failed: $(tail -3 serve.log)"
    skopeo copy -q --src-tls-verify=false "docker://$ADDR/test/busybox:1.0" oci:copy:bb ||
        fail "skopeo copy failed"
    [ "$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="multi") | .digest' copy/index.json)" = "sha256:$(cat "$F/multi.digest")" ] ||
        fail "the copied index differs"
    # every platform's blobs came: both platform manifests and their layers
    for m in $(jq -r '.manifests[].digest' "$F/multi/blobs/sha256/$(cat "$F/multi.digest")"); do
        [ -f "copy/blobs/sha256/${m#sha256:}" ] || fail "platform manifest $m not copied"
    done
    grep -q '"GET /v2/multi/manifests/1 200\| GET /v2/multi/manifests/1 200' serve.log || fail "no access log line"
    serve_down
    [ "$(snap media)" = "$before" ] || fail "serve wrote into the bundle's directory"
}

# podman (Debian's) pulls both images into storage in the test's directory (vfs): the image
# digests it records are the bundle's
# (podman wants a runroot shorter than 50 characters: a directory of its own in /tmp)
podman_in() {
    [ -n "$PMRUN" ] || PMRUN=$(mktemp -d /tmp/airlock-pm.XXXXXX)
    CONTAINERS_REGISTRIES_CONF="$T/registries.conf" podman --root "$T/pm/root" \
        --runroot "$PMRUN" --storage-driver vfs "$@"
}
case_podman_pull() {
    command -v podman >/dev/null || fail "podman is not installed (.ci/install-deps)"
    drop_tar
    local before bb
    before=$(snap media)
    bb=$("$AIRLOCK" inspect --json media/drop.tar | jq -r '.images[] | select(.ref=="example.com/test/busybox:1.0") | .digest')
    printf 'unqualified-search-registries = []\n' >registries.conf
    serve_up media/drop.tar
    podman_in pull -q --tls-verify=false "$ADDR/multi:1" >/dev/null || fail "podman pull multi:1 failed"
    podman_in pull -q --tls-verify=false "$ADDR/test/busybox:1.0" >/dev/null || fail "podman pull busybox failed"
    # (both share one config, so podman keeps them as one image with two names: its
    # RepoDigests list what each name was pulled by)
    podman_in image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$ADDR/multi:1" >digs
    grep -qx "$ADDR/multi@sha256:$(cat "$F/multi.digest")" digs || fail "podman's multi:1 digest differs: $(cat digs)"
    podman_in image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$ADDR/test/busybox:1.0" >digs
    grep -qx "$ADDR/test/busybox@$bb" digs || fail "podman's busybox digest differs: $(cat digs)"
    serve_down
    [ "$(snap media)" = "$before" ] || fail "serve wrote into the bundle's directory"
}

# containerd_up: a containerd of the test's own (root, state, socket in $T), no CRI
containerd_up() {
    mkdir -p cd
    cat >cd/config.toml <<TOML
version = 2
root = "$T/cd/root"
state = "$T/cd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$T/cd/sock"
[ttrpc]
  address = "$T/cd/sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
TOML
    containerd --config cd/config.toml --root "$T/cd/root" --state "$T/cd/state" \
        --address "$T/cd/sock" >cd/log 2>&1 &
    CPID=$!
    for _ in $(seq 100); do [ -S cd/sock ] && return 0; sleep 0.1; done
    fail "containerd did not start: $(tail -5 cd/log)"
}
ctr_in() { ctr --address "$T/cd/sock" -n airlock-test "$@"; }
containerd_down() { kill "$CPID"; wait "$CPID" || true; CPID=""; }

# ctr images pull --plain-http, every platform of the index and the single image
case_ctr_pull() {
    command -v containerd >/dev/null || fail "containerd is not installed (.ci/install-deps)"
    drop_tar
    local before bb
    before=$(snap media)
    bb=$("$AIRLOCK" inspect --json media/drop.tar | jq -r '.images[] | select(.ref=="example.com/test/busybox:1.0") | .digest')
    serve_up media/drop.tar
    containerd_up
    ctr_in images pull --plain-http --all-platforms --snapshotter native "$ADDR/multi:1" >ctr.out 2>&1 ||
        fail "ctr pull multi:1 failed: $(tail -3 ctr.out)"
    ctr_in images pull --plain-http --snapshotter native "$ADDR/test/busybox:1.0" >ctr.out 2>&1 ||
        fail "ctr pull busybox failed: $(tail -3 ctr.out)"
    ctr_in images ls >imgs
    grep -q "^$ADDR/multi:1 .* sha256:$(cat "$F/multi.digest") .*linux/amd64,linux/arm64" imgs ||
        fail "ctr's multi:1 differs: $(cat imgs)"
    grep -q "^$ADDR/test/busybox:1.0 .* $bb " imgs || fail "ctr's busybox differs: $(cat imgs)"
    # every blob of both platforms is in containerd's content store, checked by it
    ctr_in content ls -q >content
    for m in $(jq -r '.manifests[].digest' "$F/multi/blobs/sha256/$(cat "$F/multi.digest")"); do
        grep -qx "$m" content || fail "platform manifest $m not pulled"
    done
    containerd_down
    serve_down
    [ "$(snap media)" = "$before" ] || fail "serve wrote into the bundle's directory"
}

# airlock export from the served bundle: the round trip gives identical digests
case_export_round_trip() {
    drop_tar
    serve_up media/drop.tar
    airlock export --plain-http -q "$ADDR/multi:1" "$ADDR/test/busybox:1.0" -o back.tar
    expect_rc 0
    airlock verify back.tar
    expect_rc 0
    "$AIRLOCK" inspect --json media/drop.tar | jq -S '[.images[] | {d: .digest, s: .size}] | sort' >a.json
    "$AIRLOCK" inspect --json back.tar | jq -S '[.images[] | {d: .digest, s: .size}] | sort' >b.json
    cmp -s a.json b.json || fail "round trip changed digests: $(diff a.json b.json)"
    serve_down
}

# the protocol by hand: /v2/, HEAD and Range on blobs (206, 416), HEAD on manifests, 405 with
# the spec's error JSON for writes, 404 with the spec's codes, a digest only in its repository
case_curl_protocol() {
    drop_tar
    serve_up media/drop.tar
    local d size h
    curl -sf "http://$ADDR/v2/" | jq -e '. == {}' >/dev/null || fail "/v2/ is not {}"
    curl -sfI "http://$ADDR/v2/" | grep -qi '^docker-distribution-api-version: registry/2.0' ||
        fail "no API version header"
    d=$(big_layer)
    size=$(curl -sf "http://$ADDR/v2/test/busybox/manifests/1.0" | jq -r '.layers | max_by(.size) | .size')
    h=$(curl -sfI "http://$ADDR/v2/test/busybox/blobs/$d" | tr -d '\r')
    grep -qix "content-length: $size" <<<"$h" || fail "HEAD blob: no Content-Length $size: $h"
    grep -qix "docker-content-digest: $d" <<<"$h" || fail "HEAD blob: no digest header"
    grep -qix "accept-ranges: bytes" <<<"$h" || fail "HEAD blob: no Accept-Ranges"
    [ "$(curl -sf "http://$ADDR/v2/test/busybox/blobs/$d" | sha256sum | cut -d' ' -f1)" = "${d#sha256:}" ] ||
        fail "GET blob: wrong content"
    # Range: 206 with Content-Range, the bytes of the blob at that offset
    curl -sf -D hdr -r 100-199 -o part "http://$ADDR/v2/test/busybox/blobs/$d"
    grep -q '^HTTP/1.1 206' hdr || fail "Range: not 206: $(cat hdr)"
    grep -qi "^content-range: bytes 100-199/$size" hdr || fail "Range: no Content-Range"
    curl -sf "http://$ADDR/v2/test/busybox/blobs/$d" -o whole
    cmp -s part <(dd if=whole bs=1 skip=100 count=100 2>/dev/null) || fail "Range: wrong bytes"
    [ "$(curl -s -r "-10" "http://$ADDR/v2/test/busybox/blobs/$d" | wc -c)" = 10 ] || fail "suffix range"
    [ "$(curl -s -o /dev/null -w '%{http_code}' -r "$size-" "http://$ADDR/v2/test/busybox/blobs/$d")" = 416 ] ||
        fail "a range past the end is not 416"
    # manifests: the stored media type, digest and length, by tag and by digest, HEAD too
    h=$(curl -sfI "http://$ADDR/v2/multi/manifests/1" | tr -d '\r')
    grep -qix "content-type: application/vnd.oci.image.index.v1+json" <<<"$h" || fail "index media type: $h"
    grep -qix "docker-content-digest: sha256:$(cat "$F/multi.digest")" <<<"$h" || fail "index digest header"
    grep -qix "content-length: $(stat -c %s "$F/multi/blobs/sha256/$(cat "$F/multi.digest")")" <<<"$h" ||
        fail "index Content-Length"
    curl -sf "http://$ADDR/v2/multi/manifests/sha256:$(cat "$F/multi.digest")" | cmp -s - "$F/multi/blobs/sha256/$(cat "$F/multi.digest")" ||
        fail "the index by digest is not the stored bytes"
    # writes: 405 with the spec's error document
    for m in POST PUT PATCH DELETE; do
        curl -s -X $m -o body -w '%{http_code}' --data-binary x "http://$ADDR/v2/test/busybox/blobs/uploads/" >code
        [ "$(cat code)" = 405 ] || fail "$m: not 405 but $(cat code)"
        jq -e '.errors[0].code == "UNSUPPORTED"' body >/dev/null || fail "$m: no spec error JSON: $(cat body)"
    done
    # unknown things: 404 with the spec's codes
    curl -s "http://$ADDR/v2/test/busybox/manifests/nope" | jq -e '.errors[0].code == "MANIFEST_UNKNOWN"' >/dev/null ||
        fail "no MANIFEST_UNKNOWN"
    curl -s "http://$ADDR/v2/test/busybox/blobs/sha256:$(printf '%064d' 0)" | jq -e '.errors[0].code == "BLOB_UNKNOWN"' >/dev/null ||
        fail "no BLOB_UNKNOWN"
    curl -s "http://$ADDR/v2/nothing/here/manifests/1" | jq -e '.errors[0].code == "NAME_UNKNOWN"' >/dev/null ||
        fail "no NAME_UNKNOWN"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/v2/nothing/tags/list")" = 404 ] || fail "tags of nothing"
    # the arm64 layer of multi is not under test/busybox: a digest only where it is reachable
    local arm
    arm=$(jq -r '.manifests[] | select(.platform.architecture=="arm64") | .digest' "$F/multi/blobs/sha256/$(cat "$F/multi.digest")")
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/v2/multi/manifests/$arm")" = 200 ] || fail "arm64 under multi"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/v2/test/busybox/manifests/$arm")" = 404 ] ||
        fail "a digest of another repository is served"
    curl -s "http://$ADDR/v2/_catalog" | jq -e '.repositories == ["multi", "test/busybox"]' >/dev/null || fail "_catalog"
    serve_down
}

# tags/list with n and last, the Link header to the next page; _catalog the same
case_tags_pagination() {
    mkdir media
    for t in 1.0 1.1 2.0 3.0 latest; do
        "$AIRLOCK" import -q --name "example.com/test/busybox:$t" "$F/o.tar" -o media/drop.tar
    done
    serve_up media/drop.tar
    curl -sf "http://$ADDR/v2/test/busybox/tags/list" | jq -e '.tags == ["1.0","1.1","2.0","3.0","latest"] and .name == "test/busybox"' >/dev/null ||
        fail "tags/list: $(curl -s "http://$ADDR/v2/test/busybox/tags/list")"
    curl -sf -D hdr "http://$ADDR/v2/test/busybox/tags/list?n=2" | jq -e '.tags == ["1.0","1.1"]' >/dev/null || fail "n=2"
    grep -qi '^link: </v2/test/busybox/tags/list?n=2&last=1.1>; rel="next"' hdr || fail "no Link: $(cat hdr)"
    curl -sf -D hdr "http://$ADDR/v2/test/busybox/tags/list?n=2&last=1.1" | jq -e '.tags == ["2.0","3.0"]' >/dev/null || fail "page 2"
    curl -sf -D hdr "http://$ADDR/v2/test/busybox/tags/list?n=2&last=3.0" | jq -e '.tags == ["latest"]' >/dev/null || fail "page 3"
    ! grep -qi '^link:' hdr || fail "a Link on the last page"
    curl -sf "http://$ADDR/v2/test/busybox/tags/list?n=0" | jq -e '.tags == []' >/dev/null || fail "n=0"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/v2/test/busybox/tags/list?n=x")" = 400 ] || fail "n=x"
    curl -sf "http://$ADDR/v2/_catalog?n=1" | jq -e '.repositories == ["test/busybox"]' >/dev/null || fail "_catalog n=1"
    serve_down
}

# a signed bundle: the .sig tags and the sha256-<hex> referrers index as tags, the referrers
# API from what the bundle carries (with the artifactType filter), and airlock verify --key
# against the served registry (it asks the referrers API first, as cosign 3 does)
case_referrers_api() {
    drop_tar
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    "$AIRLOCK" sign --key cosign.key media/drop.tar >/dev/null
    local bb hex
    bb=$("$AIRLOCK" inspect --json media/drop.tar | jq -r '.images[] | select(.ref=="example.com/test/busybox:1.0") | .digest')
    hex=${bb#sha256:}
    serve_up --key cosign.pub media/drop.tar
    curl -sf "http://$ADDR/v2/test/busybox/tags/list" | jq -e --arg h "$hex" '.tags | index("sha256-"+$h+".sig") and index("sha256-"+$h)' >/dev/null ||
        fail "no .sig or referrers tags: $(curl -s "http://$ADDR/v2/test/busybox/tags/list")"
    curl -sf -D hdr "http://$ADDR/v2/test/busybox/referrers/$bb" >refs
    grep -qi '^content-type: application/vnd.oci.image.index.v1+json' hdr || fail "referrers media type"
    jq -e '.schemaVersion == 2 and (.manifests | length) == 1 and (.manifests[0].artifactType | startswith("application/vnd.dev.sigstore.bundle"))' refs >/dev/null ||
        fail "referrers: $(cat refs)"
    local at rd
    at=$(jq -r '.manifests[0].artifactType' refs)
    rd=$(jq -r '.manifests[0].digest' refs)
    # the referrer itself is served, and its subject is the image
    curl -sf "http://$ADDR/v2/test/busybox/manifests/$rd" | jq -e --arg d "$bb" '.subject.digest == $d' >/dev/null ||
        fail "the referrer manifest is not served"
    curl -sf -D hdr -G --data-urlencode "artifactType=$at" "http://$ADDR/v2/test/busybox/referrers/$bb" | jq -e '(.manifests | length) == 1' >/dev/null ||
        fail "filter by its own type"
    grep -qi '^oci-filters-applied: artifactType' hdr || fail "no OCI-Filters-Applied"
    curl -sf "http://$ADDR/v2/test/busybox/referrers/$bb?artifactType=application/x-other" | jq -e '.manifests == []' >/dev/null ||
        fail "filter by another type"
    curl -sf "http://$ADDR/v2/test/busybox/referrers/sha256:$(printf '%064d' 0)" | jq -e '.manifests == []' >/dev/null ||
        fail "referrers of an unknown digest"
    airlock verify --plain-http --key cosign.pub "$ADDR/test/busybox:1.0"
    expect_rc 0
    err_has "sigstore-bundle"
    grep -q "GET /v2/test/busybox/referrers/$bb 200" serve.log || fail "verify did not find it through the referrers API"
    airlock verify --plain-http --key cosign.pub "$ADDR/multi:1"
    expect_rc 0
    serve_down
}

# with --key, an image without a verifying signature is not served at all; the signed one is
case_unsigned_not_served() {
    mkdir media
    "$AIRLOCK" import -q --name example.com/test/busybox:1.0 "$F/o.tar" -o media/drop.tar
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    "$AIRLOCK" sign --key cosign.key media/drop.tar >/dev/null
    "$AIRLOCK" import -q "$F/multi" -o media/drop.tar
    serve_up --key cosign.pub media/drop.tar
    grep -q "not serving 'example.com/multi:1'.*not signed" serve.log || fail "multi:1 not named as left out"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/v2/multi/manifests/1")" = 404 ] || fail "unsigned image served"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/v2/multi/manifests/sha256:$(cat "$F/multi.digest")")" = 404 ] ||
        fail "unsigned image served by digest"
    [ "$(sk "$ADDR/test/busybox:1.0")" != "" ] || fail "signed image not served"
    serve_down
    # nothing signed at all: refused to start, exit 3
    mkdir m2
    "$AIRLOCK" import -q "$F/multi" -o m2/drop.tar
    airlock serve --listen 127.0.0.1:0 --key cosign.pub m2/drop.tar
    expect_rc 3
    err_has "no image can be served"
}

# --policy: what podman would accept from the served names is what is served
case_policy_decides_what_is_served() {
    mkdir media
    "$AIRLOCK" import -q --name example.com/test/busybox:1.0 "$F/o.tar" -o media/drop.tar
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    "$AIRLOCK" sign --key cosign.key --identity registry.lan:5000/test/busybox:1.0 media/drop.tar >/dev/null
    "$AIRLOCK" import -q "$F/multi" -o media/drop.tar
    cat >policy.json <<EOF
{"default": [{"type": "reject"}],
 "transports": {"docker": {"registry.lan:5000": [{"type": "sigstoreSigned",
   "keyPath": "$PWD/cosign.pub", "signedIdentity": {"type": "matchRepoDigestOrExact"}}]}}}
EOF
    airlock serve --listen 127.0.0.1:0 --policy policy.json media/drop.tar
    expect_rc 2
    err_has "--registry-name"
    serve_up --policy policy.json --registry-name registry.lan:5000 media/drop.tar
    grep -q "not serving 'example.com/multi:1'.*policy: registry.lan:5000/multi" serve.log ||
        fail "multi:1 not named as refused by the policy: $(cat serve.log)"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/v2/multi/manifests/1")" = 404 ] ||
        fail "an image the policy refuses was served"
    [ "$(sk "$ADDR/test/busybox:1.0")" != "" ] || fail "the image the policy accepts is not served"
    serve_down
    # signed for another name: nothing passes, nothing is served
    airlock serve --listen 127.0.0.1:0 --policy policy.json --registry-name registry.lan:5000 \
        --prefix other media/drop.tar
    expect_rc 3
    err_has "none passes the policy"
}

# a split set from two directories (two sticks): every client sees the whole bundle
case_split_two_dirs() {
    drop_tar
    "$AIRLOCK" split -q --size 400K media/drop.tar
    mkdir a b
    mv media/drop.tar.001 a/
    mv media/drop.tar.0* b/
    [ -e b/drop.tar.003 ] || fail "expected three parts or more: $(ls a b)"
    local before
    before=$(snap a; snap b)
    serve_up a/drop.tar.001 b/drop.tar.002
    [ "$(sk "$ADDR/multi:1")" = "$(cat "$F/multi.digest")" ] || fail "multi:1 digest differs"
    skopeo copy -q --all --src-tls-verify=false "docker://$ADDR/multi:1" oci:copy:multi || fail "copy --all from a set"
    skopeo copy -q --src-tls-verify=false "docker://$ADDR/test/busybox:1.0" oci:copy:bb || fail "copy from a set"
    airlock export --plain-http -q "$ADDR/multi:1" "$ADDR/test/busybox:1.0" -o back.tar
    expect_rc 0
    "$AIRLOCK" inspect --json media/drop.tar | jq -S '[.images[] | .digest] | sort' >x.json
    "$AIRLOCK" inspect --json back.tar | jq -S '[.images[] | .digest] | sort' >y.json
    cmp -s x.json y.json || fail "round trip from a set changed digests"
    # podman and ctr pull every image of the set, digests the bundle's
    local bb
    bb=$("$AIRLOCK" inspect --json media/drop.tar | jq -r '.images[] | select(.ref=="example.com/test/busybox:1.0") | .digest')
    printf 'unqualified-search-registries = []\n' >registries.conf
    podman_in pull -q --tls-verify=false "$ADDR/multi:1" >/dev/null || fail "podman pull multi:1 from a set"
    podman_in pull -q --tls-verify=false "$ADDR/test/busybox:1.0" >/dev/null || fail "podman pull busybox from a set"
    podman_in image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$ADDR/multi:1" "$ADDR/test/busybox:1.0" >digs
    grep -qx "$ADDR/multi@sha256:$(cat "$F/multi.digest")" digs || fail "podman's multi:1 from a set: $(cat digs)"
    grep -qx "$ADDR/test/busybox@$bb" digs || fail "podman's busybox from a set: $(cat digs)"
    containerd_up
    ctr_in images pull --plain-http --all-platforms --snapshotter native "$ADDR/multi:1" >ctr.out 2>&1 ||
        fail "ctr pull multi:1 from a set: $(tail -3 ctr.out)"
    ctr_in images pull --plain-http --snapshotter native "$ADDR/test/busybox:1.0" >ctr.out 2>&1 ||
        fail "ctr pull busybox from a set: $(tail -3 ctr.out)"
    ctr_in images ls >imgs
    grep -q "^$ADDR/multi:1 .* sha256:$(cat "$F/multi.digest") .*linux/amd64,linux/arm64" imgs || fail "ctr's multi:1 from a set"
    grep -q "^$ADDR/test/busybox:1.0 .* $bb " imgs || fail "ctr's busybox from a set"
    containerd_down
    # a blob cut across parts is served whole
    local d
    d=$(big_layer)
    [ "$(curl -sf "http://$ADDR/v2/test/busybox/blobs/$d" | sha256sum | cut -d' ' -f1)" = "${d#sha256:}" ] ||
        fail "a cut blob is not served whole"
    serve_down
    [ "$(snap a; snap b)" = "$before" ] || fail "serve wrote beside the parts"
    # a part missing: refused
    mv b/drop.tar.003 .
    airlock serve --listen 127.0.0.1:0 a/drop.tar.001 b/drop.tar.002
    expect_rc 4
    err_has "drop.tar.003"
}

# a damaged blob found before listening: refused, exit 4, the digest named
case_damaged_at_start() {
    mkdir media
    "$AIRLOCK" import -q --format dir --name example.com/test/busybox:1.0 "$F/o.tar" -o media/drop
    local d f
    d=$(jq -r '.layers | max_by(.size) | .digest' "media/drop/blobs/sha256/$(jq -r '.manifests[0].digest' media/drop/index.json | cut -d: -f2)")
    f="media/drop/blobs/sha256/${d#sha256:}"
    printf 'X' | dd of="$f" bs=1 seek=1000 conv=notrunc 2>/dev/null
    airlock serve --listen 127.0.0.1:0 media/drop
    expect_rc 4
    err_has "$d"
    err_has "nothing is served"
    ! grep -q listening err || fail "it listened"
}

# a blob damaged after the start (the stick goes bad): the response is cut off before its
# last bytes, never delivered whole; the log names the digest; a Range of it too; the other
# blobs are still served
case_damaged_after_start() {
    mkdir media
    "$AIRLOCK" import -q --format dir --name example.com/test/busybox:1.0 "$F/o.tar" -o media/drop
    serve_up media/drop
    local d f size crc=0
    d=$(big_layer)
    f="media/drop/blobs/sha256/${d#sha256:}"
    size=$(stat -c %s "$f")
    printf 'X' | dd of="$f" bs=1 seek=$((size - 10)) conv=notrunc 2>/dev/null
    curl -sS -o got "http://$ADDR/v2/test/busybox/blobs/$d" 2>curl.err || crc=$?
    [ "$crc" != 0 ] || fail "curl saw a complete response"
    [ "$(stat -c %s got)" -lt "$size" ] || fail "the whole blob was delivered ($(stat -c %s got) of $size bytes)"
    grep -q "error: blob '$d' is corrupt" serve.log || fail "the log does not name the digest: $(tail -3 serve.log)"
    crc=0
    curl -sS -o part -r 0-99 "http://$ADDR/v2/test/busybox/blobs/$d" 2>curl.err || crc=$?
    [ "$crc" != 0 ] || fail "a range of a damaged blob was delivered"
    # skopeo refuses the image (never gets the layer whole); the config is still served
    ! skopeo copy -q --src-tls-verify=false "docker://$ADDR/test/busybox:1.0" oci:copy:bb 2>/dev/null ||
        fail "skopeo copied a damaged image"
    curl -sf "http://$ADDR/v2/test/busybox/manifests/1.0" >/dev/null || fail "manifest no longer served"
    # a manifest damaged after the start: read and checked per request, refused with 500
    local m
    m=$(jq -r '.manifests[0].digest' media/drop/index.json)
    printf 'X' | dd of="media/drop/blobs/sha256/${m#sha256:}" bs=1 seek=5 conv=notrunc 2>/dev/null
    [ "$(curl -s -o body -w '%{http_code}' "http://$ADDR/v2/test/busybox/manifests/1.0")" = 500 ] ||
        fail "a damaged manifest was served"
    ! grep -q '"schemaVersion"' body || fail "the damaged manifest's bytes were sent"
    grep -q "manifest '$m'.*corrupt" serve.log || fail "the log does not name the manifest"
    serve_down
}

# 8 clients pull the same layer at once: every copy is whole and right
case_concurrent_pulls() {
    drop_tar
    serve_up media/drop.tar
    local d pids=() i
    d=$(big_layer)
    for i in 1 2 3 4 5 6 7 8; do
        curl -sf -o "c$i" "http://$ADDR/v2/test/busybox/blobs/$d" &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || fail "a concurrent pull failed"; done
    for i in 1 2 3 4 5 6 7 8; do
        [ "$(sha256sum <"c$i" | cut -d' ' -f1)" = "${d#sha256:}" ] || fail "copy $i is wrong"
    done
    [ "$(grep -c "GET /v2/test/busybox/blobs/$d 200" serve.log)" = 8 ] || fail "not 8 log lines"
    serve_down
}

# TLS with a test CA: curl and skopeo trust it through the CA only; airlock export --ca-file
case_tls_test_ca() {
    drop_tar
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
        -out ca.pem -days 2 -subj /CN=airlock-test-ca 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key \
        -out srv.csr -subj /CN=127.0.0.1 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >ext
    openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 \
        -extfile ext 2>/dev/null
    serve_up --tls-cert srv.pem --tls-key srv.key media/drop.tar
    grep -q "^listening on https://" serve.log || fail "not https"
    curl -sf --cacert ca.pem "https://$ADDR/v2/" | jq -e '. == {}' >/dev/null || fail "curl over TLS with the CA"
    ! curl -sf "https://$ADDR/v2/" >/dev/null 2>&1 || fail "trusted without the CA"
    mkdir certs
    cp ca.pem certs/ca.crt
    [ "$(skopeo inspect --cert-dir certs --raw "docker://$ADDR/multi:1" | sha256sum | cut -d' ' -f1)" = "$(cat "$F/multi.digest")" ] ||
        fail "skopeo over TLS"
    airlock export --ca-file ca.pem -q "$ADDR/multi:1" -o back.tar
    expect_rc 0
    out_has "sha256:$(cat "$F/multi.digest")"
    serve_down
    # a key that does not belong to the certificate: refused at the start
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout other.key \
        -out other.pem -days 2 -subj /CN=other 2>/dev/null
    airlock serve --listen 127.0.0.1:0 --tls-cert srv.pem --tls-key other.key media/drop.tar
    expect_rc 1
    err_has "TLS"
}

# a .tar.zst cannot be read by offset: refused with the way out; usage errors
case_refusals() {
    mkdir media
    "$AIRLOCK" import -q --name example.com/test/busybox:1.0 "$F/o.tar" -o media/drop.tar.zst
    airlock serve --listen 127.0.0.1:0 media/drop.tar.zst
    expect_rc 2
    err_has "airlock import 'media/drop.tar.zst' -o drop.tar"
    # the same under a name that hides it: found from the content
    cp media/drop.tar.zst media/hidden.tar
    airlock serve --listen 127.0.0.1:0 media/hidden.tar
    expect_rc 2
    err_has "-o drop.tar"
    airlock serve --listen 127.0.0.1:0 --tls-cert x.pem media/drop.tar.zst
    expect_rc 2
    err_has "--tls-cert and --tls-key go together"
    airlock serve
    expect_rc 2
    airlock serve --help
    expect_rc 0
    out_has "exit codes"
}

# --json: one JSON document per access log line and per start event
case_json_log() {
    drop_tar
    : >"$T/serve.log"
    "$AIRLOCK" serve --json --listen 127.0.0.1:0 media/drop.tar 2>>"$T/serve.log" &
    SPID=$!
    for _ in $(seq 100); do ADDR=$(jq -r "select(.event == \"listening\") | .address" serve.log 2>/dev/null || true); [ -n "$ADDR" ] && break; sleep 0.1; done
    curl -sf "http://$ADDR/v2/multi/manifests/1" >/dev/null
    curl -s "http://$ADDR/v2/multi/manifests/nope" >/dev/null
    kill -TERM "$SPID"
    wait "$SPID" || fail "serve --json did not stop cleanly"
    SPID=""
    jq -e . serve.log >/dev/null || fail "a log line is not JSON: $(cat serve.log)"
    jq -se 'map(select(.path == "/v2/multi/manifests/1")) | .[0].status == 200 and (.[0].digest | startswith("sha256:"))' serve.log >/dev/null ||
        fail "no JSON access line"
    jq -se 'map(select(.path == "/v2/multi/manifests/nope")) | .[0].status == 404' serve.log >/dev/null || fail "no 404 line"
    jq -se 'map(select(.event == "listening")) | length == 1' serve.log >/dev/null || fail "no listening event"
}

# names as push maps them: --prefix P puts every repository under P/, --map SRC=DST renames
case_prefix_and_map() {
    drop_tar
    serve_up --prefix mirror --map example.com/multi=other/multi media/drop.tar
    curl -sf "http://$ADDR/v2/_catalog" | jq -e '.repositories == ["mirror/test/busybox", "other/multi"]' >/dev/null ||
        fail "names: $(curl -s "http://$ADDR/v2/_catalog")"
    [ "$(sk "$ADDR/other/multi:1")" = "$(cat "$F/multi.digest")" ] || fail "mapped name"
    [ -n "$(sk "$ADDR/mirror/test/busybox:1.0")" ] || fail "prefixed name"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/v2/test/busybox/manifests/1.0")" = 404 ] ||
        fail "the unprefixed name is served"
    grep -q "^serving  sha256:.* mirror/test/busybox:1.0" serve.log || fail "the served name is not listed"
    serve_down
}

# SIGTERM while a blob is on its way: no new connection, the download in flight completes,
# then exit 0
case_sigterm_graceful() {
    # 16 MB: more than the loopback socket buffers hold, so the server is still sending
    mkdir media
    "$PY" "$E2E_SRC/mkrandom.py" L example.com/big:1 1 16 >/dev/null
    "$AIRLOCK" import -q L -o media/drop.tar
    serve_up media/drop.tar
    local d cpid
    d=$(curl -sf "http://$ADDR/v2/big/manifests/1" | jq -r '.layers[0].digest')
    curl -sf --limit-rate 5M -o slow "http://$ADDR/v2/big/blobs/$d" &
    cpid=$!
    sleep 0.7
    kill -TERM "$SPID"
    sleep 0.3
    ! curl -sf -m 2 "http://$ADDR/v2/" >/dev/null 2>&1 || fail "a new request was served after SIGTERM"
    wait "$cpid" || fail "the download in flight was cut off"
    [ "$(sha256sum <slow | cut -d' ' -f1)" = "${d#sha256:}" ] || fail "the download in flight is wrong"
    local src=0
    wait "$SPID" || src=$?
    SPID=""
    [ "$src" = 0 ] || fail "exit $src after SIGTERM"
    grep -q "^stopping (signal 15)" serve.log || fail "no stopping line"
}

# --read-timeout: a client that connects and sends nothing is dropped
case_read_timeout() {
    drop_tar
    serve_up --read-timeout 1 media/drop.tar
    local t0 t1
    t0=$(date +%s)
    exec 3<>"/dev/tcp/${ADDR%:*}/${ADDR#*:}"
    timeout 10 cat <&3 >/dev/null || fail "the idle connection was not closed"
    exec 3<&-
    t1=$(date +%s)
    [ $((t1 - t0)) -le 5 ] || fail "closed only after $((t1 - t0)) s"
    curl -sf "http://$ADDR/v2/" >/dev/null || fail "no longer serving"
    serve_down
}

# the runtime config samples (samples/serve) as a runtime reads them: podman through the
# registries.conf mirror entry, ctr through hosts.toml, pulling by the image's own name
case_samples_mirror() {
    drop_tar
    local S="$E2E_SRC/../../samples/serve"
    serve_up media/drop.tar
    sed "s/docker\.io/example.com/; s/airlock\.internal:5000/$ADDR/" "$S/registries.conf" >registries.conf
    podman_in pull -q example.com/multi:1 >/dev/null || fail "podman did not pull through the mirror entry"
    podman_in image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' example.com/multi:1 >digs
    grep -qx "example.com/multi@sha256:$(cat "$F/multi.digest")" digs || fail "podman via the mirror: $(cat digs)"
    mkdir -p hosts/example.com
    sed "s|registry-1\.docker\.io|example.com|; s/airlock\.internal:5000/$ADDR/" \
        "$S/certs.d/docker.io/hosts.toml" >hosts/example.com/hosts.toml
    containerd_up
    ctr_in images pull --hosts-dir "$T/hosts" --snapshotter native example.com/multi:1 >ctr.out 2>&1 ||
        fail "ctr did not pull through hosts.toml: $(tail -3 ctr.out)"
    ctr_in images ls | grep -q "^example.com/multi:1 .* sha256:$(cat "$F/multi.digest") " || fail "ctr via hosts.toml"
    containerd_down
    serve_down
    grep -q "GET /v2/multi/manifests/1 200" serve.log || fail "the mirror was not asked"
}

# --max-clients: a connection beyond it is not served (it waits in the queue) while the
# others are open, and the server serves again once one is gone
case_max_clients() {
    drop_tar
    serve_up --max-clients 1 media/drop.tar
    exec 3<>"/dev/tcp/${ADDR%:*}/${ADDR#*:}"
    sleep 0.3
    ! curl -sf -m 3 "http://$ADDR/v2/" >/dev/null 2>&1 || fail "a second connection was served"
    exec 3<&-
    sleep 0.3
    curl -sf -m 3 "http://$ADDR/v2/" >/dev/null || fail "not served once the first was gone"
    serve_down
}

# a delta bundle leaves out layers the destination holds: serving it would advertise manifests
# whose layers cannot be pulled, so it is refused before listening (usage: exit 2), as a
# directory, a .tar and a split set, naming the bundle and how many blobs it leaves out
case_delta_bundle_refused() {
    mkdir media
    "$AIRLOCK" import -q --format dir --name example.com/test/busybox:1.0 "$F/o.tar" -o media/delta
    local man layer size other
    man=$(jq -r '.manifests[0].digest' media/delta/index.json)
    layer=$(jq -r '.layers[0].digest' "media/delta/blobs/sha256/${man#sha256:}")
    size=$(jq -r '.layers[0].size' "media/delta/blobs/sha256/${man#sha256:}")
    other=sha256:$(printf x | sha256sum | cut -d' ' -f1)
    rm "media/delta/blobs/sha256/${layer#sha256:}"
    "$PY" - media/delta "$layer" "$size" "$other" <<'PYEOF2'
import json, sys
root, layer, size, other = sys.argv[1:5]
j = json.load(open(root + "/index.json"))
j.setdefault("annotations", {})["dev.airlock.delta"] = json.dumps(
    {"basis": {"kind": "inventory", "digest": other}, "omitted": [{"digest": layer, "size": int(size)}]})
json.dump(j, open(root + "/index.json", "w"))
PYEOF2
    "$AIRLOCK" verify media/delta >/dev/null 2>&1 || fail "the delta bundle does not verify"
    run timeout 30 "$AIRLOCK" serve --listen 127.0.0.1:0 media/delta
    expect_rc 2
    err_has "'media/delta' is a delta bundle"
    err_has "leaves out 1 layer blob"
    ! grep -q listening "$T/err" || fail "it listened"
    "$AIRLOCK" split --size 64K media/delta -o media/parts.tar >/dev/null
    run timeout 30 "$AIRLOCK" serve --listen 127.0.0.1:0 media/parts.tar.001
    expect_rc 2
    err_has "is a delta bundle"
    err_has "leaves out 1 layer blob"
}

main "$@"
