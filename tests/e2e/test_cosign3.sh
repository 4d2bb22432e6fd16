# cosign 3 signatures: sigstore bundles (DSSE around an in-toto statement) attached as OCI 1.1
# referrers. Made, attached and checked by the official sigstore JavaScript libraries
# (@sigstore/sign, @sigstore/oci, @sigstore/verify from tests/package-lock.json, installed by
# .ci/install-deps), verified by airlock in bundles and in the real Distribution registry
# (no referrers API there: the sha256-<hex> fallback tag).
. "$(dirname "$0")/lib.sh"
F=$FIXTURES
. "$REGROOT/env"
CASE=$(basename "$T" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9')
SG=$E2E_SRC/sigstore
[ -d "$E2E_SRC/../node_modules/@sigstore/sign" ] ||
    fail "the sigstore JavaScript libraries are not installed: run .ci/install-deps (npm ci --prefix tests)"

# an EC P-256 key pair: KEY.pem (PKCS#8) and KEY.pub (SPKI PEM, what cosign.pub is)
ec_key() {
    openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
        openssl pkcs8 -topk8 -nocrypt -out "$1.pem"
    openssl pkey -in "$1.pem" -pubout -out "$1.pub"
}
jsign() { node "$SG/sign.js" "$@"; }
jverify() { node "$SG/verify.js" "$@"; }
# a directory bundle of the fixture image; $IMG is its digest
img_bundle() {
    make_bundle "$1/"
    IMG=$(jq -r '.manifests[0].digest' "$1/index.json")
}
ref_of() { echo example.com/test/busybox:1.0; }
# one bundle referrer made by @sigstore/sign for the image, listed under the fallback tag
signed_bundle() { # DIR [sign.js args...] ; also [--bare] [--extra-layer] via ADD
    local d=$1
    shift
    img_bundle "$d"
    jsign --key up.pem --digest "$IMG" "$@" >sb.json
    $PY "$SG/addreferrer.py" "$d" "$(ref_of)" "$IMG" sb.json ${ADD:-} >/dev/null
}

case_sigstore_js_bundle_referrer_verifies_in_a_bundle() {
    ec_key up
    signed_bundle b -a env=prod
    jverify sb.json up.pub --digest "$IMG" >/dev/null || fail "@sigstore/verify refuses its own bundle"
    airlock verify --key up.pub b
    expect_rc 0
    out_has "ok       $IMG example.com/test/busybox:1.0"
    err_has "Signature 1: sigstore-bundle (predicateType https://sigstore.dev/cosign/sign/v1)"
    airlock verify --key up.pub -a env=prod --json b
    expect_rc 0
    json '.signatures.ok == true'
    json '.images[0].signatures[0].format == "sigstore-bundle"'
    json '.images[0].signatures[0].predicateType == "https://sigstore.dev/cosign/sign/v1"'
    json '.images[0].signatures[0].annotations.env == "prod"'
    json '.images[1].role == "referrers" and .images[1].admitted == true'
    airlock verify --key up.pub -a env=test b
    expect_rc 3
    err_has "annotation env=test not signed (has prod)"
    # the same bundle as a tar (random access) verifies the same
    (cd b && tar -cf ../b.tar oci-layout index.json blobs)
    airlock verify --key up.pub b.tar
    expect_rc 0
}

case_both_formats_are_counted_and_reported() {
    ec_key up
    export COSIGN_PASSWORD=test-password
    "$AIRLOCK" import-key-pair --key up.pem --output-key-prefix imported >/dev/null 2>&1 ||
        fail "import-key-pair"
    signed_bundle b
    "$AIRLOCK" sign --key imported.key b >/dev/null
    # the same key signed both: cosign 3 reads the bundle, cosign 2 the .sig; airlock counts both
    airlock verify --key up.pub --json b
    expect_rc 0
    json '[.images[0].signatures[].format] | sort == ["sigstore-bundle", "simplesigning"]'
    json '.images[0].signature_errors == []'
    airlock verify --key up.pub b
    expect_rc 0
    err_has ": simplesigning"
    err_has ": sigstore-bundle (predicateType https://sigstore.dev/cosign/sign/v1)"
    err_has "Signature 2: "
    # another key: both are reported, each with its reason
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    airlock verify --key cosign.pub --json b
    expect_rc 3
    json '.images[0].signature_errors | length == 2'
    json '[.images[0].signature_errors[] | select(contains("no DSSE signature (of 1) verifies with the key"))] | length == 1'
}

# push carries only what index.json lists: an image signed only by an unlisted referrer is
# refused before any manifest goes up (verify in the registry could not find the signature)
case_push_refuses_an_image_signed_only_by_an_unlisted_referrer() {
    ec_key up
    ADD=--bare signed_bundle b
    airlock push --identity-check any --key up.pub --plain-http b "$PLAIN/$CASE"
    expect_rc 3
    err_has "referrer manifests that index.json does not list"
    err_has "nothing was pushed"
    d=$(jq -r '.manifests[0].digest' b/index.json)
    ! skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$CASE/test/busybox@$d" >/dev/null 2>&1 ||
        fail "the image went up"
}

case_import_lists_a_bare_referrer_under_the_fallback_tag() {
    ec_key up
    img_bundle b
    jsign --key up.pem --digest "$IMG" -a env=prod >sb.json
    r=$($PY "$SG/addreferrer.py" b "$(ref_of)" "$IMG" sb.json --bare)
    (cd b && tar -cf ../b.tar oci-layout index.json blobs)
    zstd -q b.tar -o b.tar.zst
    for src in b b.tar b.tar.zst; do
        rm -rf "i-$src"
        airlock import -o "i-$src/" "$src"
        expect_rc 0
        fb=$(jq -r --arg t "example.com/test/busybox:sha256-${IMG#sha256:}" \
            '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' \
            "i-$src/index.json")
        [ -n "$fb" ] || fail "$src: no fallback tag entry in the imported index.json"
        jq -e --arg r "$r" '.manifests | length == 1 and .[0].digest == $r and
            .[0].artifactType == "application/vnd.dev.sigstore.bundle.v0.3+json" and
            .[0].annotations["dev.sigstore.bundle.predicateType"] != null' \
            "i-$src/blobs/sha256/${fb#sha256:}" >/dev/null || fail "$src: the fallback index does not list the referrer"
        airlock verify --key up.pub --json "i-$src"
        expect_rc 0
        json '.images[0].signatures[0].format == "sigstore-bundle"'
        json '.images[1].role == "referrers" and .images[1].admitted == true'
    done
    # a second bare referrer beside a listed one: merged into the fallback index already there
    jsign --key up.pem --digest "$IMG" -a env=test >s2.json
    $PY "$SG/addreferrer.py" b "$(ref_of)" "$IMG" sb.json >/dev/null
    r2=$($PY "$SG/addreferrer.py" b "$(ref_of)" "$IMG" s2.json --bare)
    airlock import -o m/ b
    expect_rc 0
    fb=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] |
        test(":sha256-")) | .digest' m/index.json)
    [ "$(echo "$fb" | wc -l)" = 1 ] || fail "more than one fallback entry"
    jq -e --arg r "$r" --arg r2 "$r2" '[.manifests[].digest] | sort == ([$r, $r2] | sort)' \
        "m/blobs/sha256/${fb#sha256:}" >/dev/null || fail "the fallback index is not the merge"
    airlock verify --key up.pub --json m
    expect_rc 0
    json '.images[0].signatures | length == 2'
    # and push carries it: cosign 3 finds it at the registry's fallback tag
    airlock push --identity-check any --key up.pub --plain-http i-b "$PLAIN/$CASE"
    expect_rc 0
    airlock verify --key up.pub --plain-http --json "$PLAIN/$CASE/test/busybox:1.0"
    expect_rc 0
    json '.images[0].signatures[0].format == "sigstore-bundle"'
}

case_import_leaves_bare_referrers_it_cannot_keep() {
    ec_key up
    # one whose bundle is missing: left out with a warning, the image imported
    img_bundle b
    jsign --key up.pem --digest "$IMG" >sb.json
    r=$($PY "$SG/addreferrer.py" b "$(ref_of)" "$IMG" sb.json --bare)
    l=$(jq -r '.layers[0].digest' "b/blobs/sha256/${r#sha256:}")
    rm "b/blobs/sha256/${l#sha256:}"
    airlock import -o i/ b
    expect_rc 0
    err_has "referrer '$r' (left unlisted in blobs/ by cosign save) is not kept"
    [ "$(jq '.manifests | length' i/index.json)" = 1 ] || fail "a broken referrer got listed"
    # one of an image the layout does not hold: not kept
    img_bundle c
    $PY - c sb.json <<'EOF'
import hashlib, json, os, sys
d, b = sys.argv[1], open(sys.argv[2], "rb").read()
def put(x):
    h = hashlib.sha256(x).hexdigest(); open(os.path.join(d, "blobs/sha256", h), "wb").write(x); return h
m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": "sha256:" + put(b"{}")},
     "layers": [{"mediaType": json.loads(b)["mediaType"], "size": len(b), "digest": "sha256:" + put(b)}],
     "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1,
                 "digest": "sha256:" + hashlib.sha256(b"x").hexdigest()}}
put(json.dumps(m).encode())
EOF
    airlock import -o j/ c
    expect_rc 0
    [ "$(jq '.manifests | length' j/index.json)" = 1 ] || fail "another image's referrer got listed"
}

case_bare_referrer_counts_but_is_not_admitted() {
    ec_key up
    ADD=--bare signed_bundle b
    [ "$(jq '.manifests | length' b/index.json)" = 1 ] || fail "the referrer got listed"
    airlock verify --key up.pub --json b
    expect_rc 0
    json '.images | length == 1'
    json '.images[0].signatures[0].format == "sigstore-bundle"'
    (cd b && tar -cf ../b.tar oci-layout index.json blobs)
    airlock verify --key up.pub b.tar
    expect_rc 0
    zstd -q b.tar -o b.tar.zst
    airlock verify --key up.pub b.tar.zst
    expect_rc 0
    # a bare referrer of another image counts for nothing
    ec_key k2
    jsign --key up.pem --digest "sha256:$(printf x | sha256sum | cut -d' ' -f1)" >o.json
    img_bundle c
    $PY - c o.json <<'EOF'
import hashlib, json, os, sys
d, b = sys.argv[1], open(sys.argv[2], "rb").read()
def put(x):
    h = hashlib.sha256(x).hexdigest(); open(os.path.join(d, "blobs/sha256", h), "wb").write(x); return h
m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": "sha256:" + put(b"{}")},
     "layers": [{"mediaType": json.loads(b)["mediaType"], "size": len(b), "digest": "sha256:" + put(b)}],
     "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1,
                 "digest": "sha256:" + hashlib.sha256(b"x").hexdigest()}}
put(json.dumps(m).encode())
EOF
    airlock verify --key up.pub c
    expect_rc 3
    err_has "no signatures found"
}

# each refusal names why
refused() { # DIR WHY...
    airlock verify --key up.pub "$1"
    expect_rc 3
    shift
    for w in "$@"; do err_has "$w"; done
}

case_wrong_key_is_refused() {
    ec_key up
    ec_key other
    signed_bundle b
    airlock verify --key other.pub b
    expect_rc 3
    err_has "no DSSE signature (of 1) verifies with the key"
    ! jverify sb.json other.pub >/dev/null 2>&1 || fail "@sigstore/verify accepts the wrong key"
}

case_tampered_payload_is_refused() {
    ec_key up
    img_bundle b
    jsign --key up.pem --digest "$IMG" -a env=prod >sb.json
    # the same signature over another statement: env=prod becomes env=test
    jq -c '.dsseEnvelope.payload |= (@base64d | sub("prod"; "test") | @base64)' sb.json >t.json
    ! jverify t.json up.pub >/dev/null 2>&1 || fail "@sigstore/verify accepts the tampered bundle"
    $PY "$SG/addreferrer.py" b "$(ref_of)" "$IMG" t.json >/dev/null
    refused b "no DSSE signature (of 1) verifies with the key"
}

case_statement_about_another_image_is_refused() {
    ec_key up
    img_bundle b
    other="sha256:$(printf other | sha256sum | cut -d' ' -f1)"
    jsign --key up.pem --digest "$other" >sb.json
    jverify sb.json up.pub >/dev/null || fail "@sigstore/verify refuses a good signature"
    $PY "$SG/addreferrer.py" b "$(ref_of)" "$IMG" sb.json >/dev/null
    refused b "no statement subject is '$IMG'" "signs $other"
}

case_referrer_with_two_layers_is_refused() {
    ec_key up
    ADD=--extra-layer signed_bundle b
    refused b "2 layers (a sigstore bundle referrer has exactly one)"
}

case_message_signature_bundle_is_refused_by_name() {
    ec_key up
    # @sigstore/sign writes it as v0.2; as v0.3 the content is what is refused
    signed_bundle b --message --media-type application/vnd.dev.sigstore.bundle.v0.3+json
    refused b "messageSignature bundle" "not verifiable with a key"
    signed_bundle c --message
    airlock verify --key up.pub c
    expect_rc 3
    err_has "sigstore bundle v0.2 is not supported (v0.3 or later needed)"
}

case_v01_bundle_is_refused_by_name() {
    ec_key up
    signed_bundle b --media-type "application/vnd.dev.sigstore.bundle+json;version=0.1"
    refused b "sigstore bundle v0.1 is not supported (v0.3 or later needed)"
}

case_keyless_bundle_is_named_and_not_a_bad_signature() {
    ec_key up
    openssl req -x509 -key up.pem -out up.crt -days 2 -subj /CN=keyless-test 2>/dev/null
    signed_bundle b --cert up.crt
    refused b "keyless bundle (verification material is a certificate): not verifiable with a key"
    # it is a signature a key cannot check, not a bad one: --allow-unsigned admits the image
    airlock verify --key up.pub --allow-unsigned --json b
    expect_rc 0
    json '.images[0].unsignedAllowed == true'
    json '.images[0].signature_errors[0] | contains("keyless bundle")'
    # a bad bundle still fails under --allow-unsigned
    ec_key other
    airlock verify --key other.pub --allow-unsigned b
    expect_rc 0
    signed_bundle c
    airlock verify --key other.pub --allow-unsigned c
    expect_rc 3
    err_has "no DSSE signature (of 1) verifies with the key"
}

case_fallback_index_listing_a_missing_referrer() {
    ec_key up
    img_bundle b
    jsign --key up.pem --digest "$IMG" >sb.json
    man=$($PY "$SG/addreferrer.py" b "$(ref_of)" "$IMG" sb.json)
    rm "b/blobs/sha256/${man#sha256:}"
    # the signature check fails first (exit 3), the missing manifest is named too
    airlock verify --key up.pub b
    expect_rc 3
    err_has "blob '$man' (manifest 1 of"
    err_has "image 'example.com/test/busybox:1.0': no signature verified"
    airlock verify b
    expect_rc 4
}

# --- the registry: @sigstore/oci attaches, airlock finds it there, exports it, verifies it ---

# the fixture image in the plain registry as $1:1; $IMG its digest
reg_image() {
    skopeo copy -q --dest-tls-verify=false "oci-archive:$F/o.tar" "docker://$PLAIN/$1:1" ||
        fail "skopeo copy"
    IMG=sha256:$(skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$1:1" | sha256sum | cut -d' ' -f1)
}

case_sigstore_oci_attached_bundle_verifies_in_registry_and_export() {
    ec_key up
    reg_image "$CASE/app"
    jsign --key up.pem --digest "$IMG" -a env=prod >sb.json
    ref=$(node "$SG/attach.js" "$PLAIN/$CASE/app" "$IMG" sb.json) || fail "@sigstore/oci attach"
    # no referrers API on Distribution 2.8: @sigstore/oci wrote the fallback tag
    skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$CASE/app:sha256-${IMG#sha256:}" |
        jq -e --arg d "$ref" '.manifests[0].digest == $d' >/dev/null || fail "no fallback index"
    airlock verify --key up.pub --plain-http -a env=prod --json "$PLAIN/$CASE/app:1"
    expect_rc 0
    json '.images[0].signatures[0].format == "sigstore-bundle"'
    json '.images[0].signatures[0].annotations.env == "prod"'
    airlock verify --key up.pub --plain-http "$PLAIN/$CASE/app:1"
    expect_rc 0
    err_has "Signature 1: sigstore-bundle"
    ec_key other
    airlock verify --key other.pub --plain-http "$PLAIN/$CASE/app:1"
    expect_rc 3
    err_has "no DSSE signature (of 1) verifies with the key"
    # export carries it; the bundle's verify counts it
    airlock export --plain-http "$PLAIN/$CASE/app:1" -o e.tar
    expect_rc 0
    airlock verify --key up.pub --json e.tar
    expect_rc 0
    json '.images[0].signatures[0].format == "sigstore-bundle"'
    json '[.images[] | select(.role == "referrers")] | length == 1'
}

case_registry_referrer_refusals_name_why() {
    ec_key up
    reg_image "$CASE/app"
    # a statement about another image, and a v0.1 bundle, both attached by @sigstore/oci
    other="sha256:$(printf other | sha256sum | cut -d' ' -f1)"
    jsign --key up.pem --digest "$other" >o.json
    node "$SG/attach.js" "$PLAIN/$CASE/app" "$IMG" o.json >/dev/null || fail "attach"
    jsign --key up.pem --digest "$IMG" --media-type "application/vnd.dev.sigstore.bundle+json;version=0.1" >v1.json
    node "$SG/attach.js" "$PLAIN/$CASE/app" "$IMG" v1.json >/dev/null || fail "attach"
    airlock verify --key up.pub --plain-http "$PLAIN/$CASE/app:1"
    expect_rc 3
    err_has "no statement subject is '$IMG'"
    err_has "sigstore bundle v0.1 is not supported"
    # a good one next to them counts
    jsign --key up.pem --digest "$IMG" >g.json
    node "$SG/attach.js" "$PLAIN/$CASE/app" "$IMG" g.json >/dev/null || fail "attach"
    airlock verify --key up.pub --plain-http --json "$PLAIN/$CASE/app:1"
    expect_rc 0
    json '.images[0].signatures | length == 1'
    json '.images[0].signature_errors | length == 2'
}

# front [CONTENT_TYPE]: starts referrersfront.py before the plain registry (it answers the
# referrers API from the registry's storage), sets $FRONT (host:port); stopped when the case ends
front() {
    local port
    port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$PY" "$E2E_SRC/referrersfront.py" "$port" "$PLAIN" "$REGROOT/plain-data" front.log "$@" 2>front.err &
    FRONT_PID=$!
    trap 'kill $FRONT_PID 2>/dev/null; cleanup' EXIT
    for _ in $(seq 1 50); do
        curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break
        sleep 0.1
    done
    FRONT=127.0.0.1:$port
}

case_referrers_api_is_used_when_the_registry_serves_it() {
    ec_key up
    reg_image "$CASE/app"
    front
    jsign --key up.pem --digest "$IMG" >sb.json
    node "$SG/attach.js" "$FRONT/$CASE/app" "$IMG" sb.json >/dev/null || fail "@sigstore/oci attach"
    # with the API there is no fallback tag: only the API finds the signature
    ! skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$CASE/app:sha256-${IMG#sha256:}" \
        >/dev/null 2>&1 || fail "@sigstore/oci wrote a fallback tag although the API is there"
    airlock verify --key up.pub --plain-http --json "$FRONT/$CASE/app:1"
    expect_rc 0
    json '.images[0].signatures[0].format == "sigstore-bundle"'
    grep -q "GET /v2/$CASE/app/referrers/$IMG (referrers)" front.log || fail "the API was not asked"
    # straight to the registry (no API): nothing found
    airlock verify --key up.pub --plain-http "$PLAIN/$CASE/app:1"
    expect_rc 3
    err_has "no signatures found"
}

case_referrers_answer_of_another_type_is_not_the_api() {
    ec_key up
    reg_image "$CASE/app"
    jsign --key up.pem --digest "$IMG" >sb.json
    node "$SG/attach.js" "$PLAIN/$CASE/app" "$IMG" sb.json >/dev/null || fail "@sigstore/oci attach"
    # 200 but application/json: cosign 3 does not take it for the API, and reads the tag
    front application/json
    airlock verify --key up.pub --plain-http --json "$FRONT/$CASE/app:1"
    expect_rc 0
    json '.images[0].signatures[0].format == "sigstore-bundle"'
    grep -q "GET /v2/$CASE/app/manifests/sha256-${IMG#sha256:}" front.log || fail "the fallback tag was not read"
}

case_bundle_signed_only_by_a_bundle_referrer_pushes_and_verifies_there() {
    ec_key up
    signed_bundle b -a env=prod
    airlock push --identity-check any --key up.pub --plain-http --json b "$PLAIN/$CASE"
    expect_rc 0
    airlock verify --key up.pub --plain-http -a env=prod --json "$PLAIN/$CASE/test/busybox:1.0"
    expect_rc 0
    json '.images[0].signatures[0].format == "sigstore-bundle"'
    # and @sigstore/verify agrees on what the registry holds
    idx=$(skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$CASE/test/busybox:sha256-${IMG#sha256:}")
    man=$(echo "$idx" | jq -r '.manifests[0].digest')
    layer=$(skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$CASE/test/busybox@$man" | jq -r '.layers[0].digest')
    curl -sf "http://$PLAIN/v2/$CASE/test/busybox/blobs/$layer" -o there.json || fail "bundle blob"
    jverify there.json up.pub --digest "$IMG" >/dev/null || fail "@sigstore/verify refuses the pushed bundle"
}

# --- push and export with and without the referrers API (FORMATS.md sections 4-5) ---

case_export_through_the_referrers_api_carries_the_referrer() {
    ec_key up
    reg_image "$CASE/app"
    front
    jsign --key up.pem --digest "$IMG" -a env=prod >sb.json
    ref=$(node "$SG/attach.js" "$FRONT/$CASE/app" "$IMG" sb.json) || fail "@sigstore/oci attach"
    ! skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$CASE/app:sha256-${IMG#sha256:}" \
        >/dev/null 2>&1 || fail "@sigstore/oci wrote a fallback tag although the API is there"
    airlock export --plain-http "$FRONT/$CASE/app:1" -o e/
    expect_rc 0
    grep -q "GET /v2/$CASE/app/referrers/$IMG (referrers)" front.log || fail "the API was not asked"
    # listed under the fallback tag's name, as an index of the referrers' descriptors
    tag="$FRONT/$CASE/app:sha256-${IMG#sha256:}"
    idx=$(jq -r --arg t "$tag" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' e/index.json)
    [ -n "$idx" ] || fail "no entry '$tag' in index.json"
    jq -e --arg d "$ref" '.manifests | length == 1 and .[0].digest == $d and
        .[0].artifactType == "application/vnd.dev.sigstore.bundle.v0.3+json" and
        .[0].annotations["dev.sigstore.bundle.content"] == "dsse-envelope"' \
        "e/blobs/sha256/${idx#sha256:}" >/dev/null || fail "the referrers index does not list it"
    airlock verify --key up.pub -a env=prod --json e
    expect_rc 0
    json '.images[0].signatures[0].format == "sigstore-bundle"'
    json '[.images[] | select(.role == "referrers" and .admitted == true)] | length == 1'
}

case_push_through_the_referrers_api_writes_no_fallback_tag() {
    ec_key up
    signed_bundle b -a env=prod
    front
    airlock push --identity-check any --key up.pub --plain-http --json b "$FRONT/$CASE"
    expect_rc 0
    repo=$CASE/test/busybox
    man=$(jq -r '.manifests[0].digest' "b/blobs/sha256/$(jq -r '.manifests[1].digest' b/index.json | cut -c8-)")
    grep -q "PUT /v2/$repo/manifests/$man" front.log || fail "the referrer was not PUT by digest"
    grep -q "GET /v2/$repo/referrers/$IMG (referrers)" front.log || fail "the API was not asked"
    ! grep -q "PUT /v2/$repo/manifests/sha256-" front.log || fail "a fallback tag was written"
    ! skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$repo:sha256-${IMG#sha256:}" \
        >/dev/null 2>&1 || fail "a fallback tag is there"
    airlock verify --key up.pub --plain-http -a env=prod --json "$FRONT/$repo:1.0"
    expect_rc 0
    json '.images[0].signatures[0].format == "sigstore-bundle"'
    # straight to the registry (no API) nothing is found: no fallback tag was written
    airlock verify --key up.pub --plain-http "$PLAIN/$repo:1.0"
    expect_rc 3
}

case_push_without_the_api_keeps_their_referrers_and_describes_ours() {
    ec_key up
    ec_key their
    repo=$CASE/test/busybox
    reg_image "$repo"
    jsign --key their.pem --digest "$IMG" -a n=1 >t1.json
    jsign --key their.pem --digest "$IMG" -a n=2 >t2.json
    r1=$(node "$SG/attach.js" "$PLAIN/$repo" "$IMG" t1.json) || fail "attach"
    r2=$(node "$SG/attach.js" "$PLAIN/$repo" "$IMG" t2.json) || fail "attach"
    signed_bundle b
    # a producer that lists the referrer by mediaType, size and digest only
    $PY - b <<'EOF'
import hashlib, json, os, sys
d = sys.argv[1]
ip = os.path.join(d, "index.json"); idx = json.load(open(ip))
e = idx["manifests"][1]; p = os.path.join(d, "blobs/sha256", e["digest"][7:])
ri = json.load(open(p))
ri["manifests"] = [{k: m[k] for k in ("mediaType", "size", "digest")} for m in ri["manifests"]]
raw = json.dumps(ri).encode(); h = hashlib.sha256(raw).hexdigest()
open(os.path.join(d, "blobs/sha256", h), "wb").write(raw)
e["digest"], e["size"] = "sha256:" + h, len(raw)
json.dump(idx, open(ip, "w"))
EOF
    airlock verify --key up.pub b
    expect_rc 0
    ours=$(jq -r '.manifests[0].digest' "b/blobs/sha256/$(jq -r '.manifests[1].digest' b/index.json | cut -c8-)")
    airlock push --identity-check any --key up.pub --plain-http b "$PLAIN/$CASE"
    expect_rc 0
    skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$repo:sha256-${IMG#sha256:}" >idx.json ||
        fail "no fallback index"
    for d in "$r1" "$r2" "$ours"; do
        jq -e --arg d "$d" '[.manifests[] | select(.digest == $d)] | length == 1' idx.json >/dev/null ||
            fail "'$d' is not listed in the fallback index"
    done
    jq -e '.manifests | length == 3' idx.json >/dev/null || fail "the fallback index is not theirs + ours"
    # ours carries artifactType and the manifest's annotations (distribution-spec 1.1)
    skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$repo@$ours" >m.json || fail "referrer"
    jq -e --arg d "$ours" --slurpfile m m.json '.manifests[] | select(.digest == $d) |
        .artifactType == $m[0].artifactType and .annotations == $m[0].annotations' idx.json \
        >/dev/null || fail "our descriptor lacks artifactType or the manifest's annotations"
    airlock verify --key their.pub --plain-http --json "$PLAIN/$repo:1.0"
    expect_rc 0
    json '.images[0].signatures | length == 2'
    airlock verify --key up.pub --plain-http --json "$PLAIN/$repo:1.0"
    expect_rc 0
    json '.images[0].signatures | length == 1'
}

case_export_carries_a_platform_manifests_bundle_referrer() {
    ec_key up
    skopeo copy -q --all --dest-tls-verify=false "oci:$F/multi:example.com/multi:1" \
        "docker://$PLAIN/$CASE/multi:1" || fail "skopeo copy"
    MI=sha256:$(cat "$F/multi.digest")
    P=$(skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$CASE/multi:1" |
        jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest')
    front
    jsign --key up.pem --digest "$MI" >i.json
    jsign --key up.pem --digest "$P" >p.json
    node "$SG/attach.js" "$FRONT/$CASE/multi" "$MI" i.json >/dev/null || fail "attach"
    pref=$(node "$SG/attach.js" "$FRONT/$CASE/multi" "$P" p.json) || fail "attach"
    airlock export --plain-http "$FRONT/$CASE/multi:1" -o e/
    expect_rc 0
    tag="$FRONT/$CASE/multi:sha256-${P#sha256:}"
    idx=$(jq -r --arg t "$tag" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' e/index.json)
    [ -n "$idx" ] || fail "the platform manifest's referrer is not carried"
    jq -e --arg d "$pref" '.manifests[0].digest == $d' "e/blobs/sha256/${idx#sha256:}" >/dev/null ||
        fail "the platform's referrers index does not list it"
    [ -f "e/blobs/sha256/${pref#sha256:}" ] || fail "the referrer manifest is missing"
    airlock verify --key up.pub --json e
    expect_rc 0
    json '[.images[] | select(.role == "referrers" and .admitted == true)] | length == 2'
    # one platform of an index signed only by a bundle (the other platform): said, as for .sig
    airlock export --plain-http --platform linux/amd64 "$FRONT/$CASE/multi:1" -o a.tar
    expect_rc 0
    err_has "is signed as an index"
}

case_push_behind_an_api_that_never_lists_the_referrer_fails() {
    ec_key up
    signed_bundle b
    front application/vnd.oci.image.index.v1+json forget
    repo=$CASE/test/busybox
    airlock push --identity-check any --key up.pub --plain-http b "$FRONT/$CASE"
    expect_rc 1
    err_has "serves the referrers API but does not list the referrer"
    ! skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$repo:sha256-${IMG#sha256:}" \
        >/dev/null 2>&1 || fail "a fallback tag was written"
    ! skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$repo:1.0" >/dev/null 2>&1 ||
        fail "the image was tagged although its signature is not reachable"
}

case_export_leaves_behind_what_a_fallback_index_lists_that_is_no_referrer() {
    ec_key up
    reg_image "$CASE/app"
    jsign --key up.pem --digest "$IMG" >sb.json
    node "$SG/attach.js" "$PLAIN/$CASE/app" "$IMG" sb.json >/dev/null || fail "@sigstore/oci attach"
    # the fallback index also lists the image itself (no subject: not a referrer of it)
    tag=sha256-${IMG#sha256:}
    size=$(skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$CASE/app:1" | wc -c)
    skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$CASE/app:$tag" |
        jq -c --arg d "$IMG" --argjson s "$size" \
            '.manifests += [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": $d, "size": $s}]' >idx.json
    curl -sf -X PUT -H "Content-Type: application/vnd.oci.image.index.v1+json" --data-binary @idx.json \
        "http://$PLAIN/v2/$CASE/app/manifests/$tag" || fail "PUT fallback index"
    airlock export --plain-http "$PLAIN/$CASE/app:1" -o e.tar
    expect_rc 0
    err_has "lists '$IMG', whose subject is not '$IMG': left behind"
    airlock verify --key up.pub --json e.tar
    expect_rc 0
    json '[.images[] | select(.role == "referrers" and .admitted == true)] | length == 1'
}

# --- airlock sign writes cosign 3's bundle referrer (and the .sig as before) ---

# our_key: an EC key pair up.pem/up.pub, imported as airlock's (cosign's) key file up.key
our_key() {
    ec_key "${1:-up}"
    COSIGN_PASSWORD=test-password "$AIRLOCK" import-key-pair --key "${1:-up}.pem" \
        --output-key-prefix "${1:-up}.imp" >/dev/null 2>&1 || fail "import-key-pair"
    mv "${1:-up}.imp.key" "${1:-up}.key"
    cmp -s "${1:-up}.imp.pub" "${1:-up}.pub" || fail "import-key-pair: another public key"
}
asign() { COSIGN_PASSWORD=test-password airlock sign "$@"; }
# the digest of the index.json entry DIR lists under REPO:sha256-<hex of $2>[$3]
tagged() {
    jq -r --arg t "sha256-${2#sha256:}${3:-}" \
        '.manifests[] | select((.annotations."org.opencontainers.image.ref.name" // "") | endswith(":" + $t)) | .digest' \
        "$1/index.json"
}
blob() { cat "$1/blobs/sha256/${2#sha256:}"; }
# the bundles of the referrers listed in DIR's fallback index of $2, one file each: rb.N.json
referrer_bundles() {
    local idx n=0 m
    idx=$(tagged "$1" "$2")
    [ -n "$idx" ] || fail "no fallback index REPO:sha256-${2#sha256:} in $1/index.json"
    for m in $(blob "$1" "$idx" | jq -r '.manifests[].digest'); do
        n=$((n + 1))
        blob "$1" "$(blob "$1" "$m" | jq -r '.layers[0].digest')" >"rb.$n.json"
    done
    echo "$n"
}

case_airlock_bundle_referrer_is_cosign3s_and_verifies() {
    our_key
    img_bundle b
    asign --key up.key -a env=prod b
    expect_rc 0
    out_has "$IMG	example.com/test/busybox:1.0"
    idx=$(tagged b "$IMG")
    [ -n "$idx" ] || fail "no fallback index listed in index.json"
    [ "$(tagged b "$IMG" .sig)" != "" ] || fail "no .sig written by default"
    blob b "$idx" >idx.json
    jq -e '.schemaVersion == 2 and .mediaType == "application/vnd.oci.image.index.v1+json" and (.manifests | length == 1)' idx.json >/dev/null ||
        fail "fallback index: $(cat idx.json)"
    man=$(jq -r '.manifests[0].digest' idx.json)
    blob b "$man" >man.json
    [ "sha256:$(sha256sum <man.json | cut -d' ' -f1)" = "$man" ] || fail "referrer digest"
    jq -e '[keys_unsorted[]] == ["schemaVersion","mediaType","config","layers","annotations","subject","artifactType"]' man.json >/dev/null ||
        fail "referrer member order: $(jq -c '[keys_unsorted[]]' man.json)"
    jq -e --arg img "$IMG" --argjson size "$(jq '.manifests[0].size' b/index.json)" '
        .mediaType == "application/vnd.oci.image.manifest.v1+json" and
        .config == {"mediaType":"application/vnd.oci.empty.v1+json","size":2,
                    "digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
                    "artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json"} and
        (.layers | length == 1) and .layers[0].mediaType == "application/vnd.dev.sigstore.bundle.v0.3+json" and
        .annotations."dev.sigstore.bundle.content" == "dsse-envelope" and
        .annotations."dev.sigstore.bundle.predicateType" == "https://sigstore.dev/cosign/sign/v1" and
        (.annotations."org.opencontainers.image.created" | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")) and
        .subject == {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":$size,"digest":$img} and
        .artifactType == "application/vnd.dev.sigstore.bundle.v0.3+json"' man.json >/dev/null ||
        fail "referrer manifest: $(cat man.json)"
    [ "$(blob b sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a)" = "{}" ] || fail "empty config blob"
    # the index's descriptor: artifactType and the manifest's annotations (distribution-spec 1.1)
    jq -e --slurpfile m man.json --argjson n "$(stat -c %s man.json)" '.manifests[0] |
        .mediaType == $m[0].mediaType and .size == $n and .artifactType == $m[0].artifactType and
        .annotations == $m[0].annotations' idx.json >/dev/null || fail "index descriptor: $(cat idx.json)"
    # the bundle: as cosign 3 writes it, and @sigstore/verify accepts it with the public key
    [ "$(referrer_bundles b "$IMG")" = 1 ] || fail "one bundle"
    hint=$(openssl pkey -pubin -in up.pub -outform DER | openssl dgst -sha256 -binary | base64)
    jq -e --arg h "$hint" '.mediaType == "application/vnd.dev.sigstore.bundle.v0.3+json" and
        .verificationMaterial == {"publicKey":{"hint":$h}} and
        .dsseEnvelope.payloadType == "application/vnd.in-toto+json" and
        (.dsseEnvelope.signatures | length == 1) and (.dsseEnvelope.signatures[0] | keys == ["sig"])' rb.1.json >/dev/null ||
        fail "bundle: $(cat rb.1.json)"
    jq -r .dsseEnvelope.payload rb.1.json | base64 -d >st.json
    jq -e --arg h "${IMG#sha256:}" '. == {"_type":"https://in-toto.io/Statement/v1",
        "subject":[{"digest":{"sha256":$h},"annotations":{"env":"prod"}}],
        "predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}' st.json >/dev/null ||
        fail "statement: $(cat st.json)"
    jverify rb.1.json up.pub --digest "$IMG" >/dev/null || fail "@sigstore/verify refuses airlock's bundle"
    ec_key other
    ! jverify rb.1.json other.pub >/dev/null 2>&1 || fail "@sigstore/verify accepts another key"
    # airlock counts both formats; the independent checker still finds the .sig
    airlock verify --key up.pub -a env=prod --json b
    expect_rc 0
    json '[.images[0].signatures[].format] | sort == ["sigstore-bundle", "simplesigning"]'
    json '[.images[] | select(.role == "referrers")] | length == 1'
    "$PY" "$E2E_SRC/cosign_check.py" b up.pub >check.out || fail "cosign_check.py: $(cat check.out)"
    grep -q "^ok $IMG " check.out || fail "cosign_check.py output: $(cat check.out)"
}

case_airlock_sign_again_adds_nothing_another_key_adds_a_referrer() {
    our_key
    our_key k2
    img_bundle b
    asign --key up.key b
    expect_rc 0
    before=$(ls b/blobs/sha256 | wc -l)
    sum=$(sha256sum <b/index.json)
    asign --key up.key b
    expect_rc 0
    err_has "was already signed with this key"
    [ "$(ls b/blobs/sha256 | wc -l)" = "$before" ] || fail "the same key added blobs"
    [ "$(sha256sum <b/index.json)" = "$sum" ] || fail "the same key changed index.json"
    asign --key k2.key b
    expect_rc 0
    [ "$(referrer_bundles b "$IMG")" = 2 ] || fail "a second key must add a second referrer"
    jverify rb.1.json up.pub --digest "$IMG" >/dev/null || fail "first bundle"
    jverify rb.2.json k2.pub --digest "$IMG" >/dev/null || fail "second bundle"
    [ "$(jq '[.manifests[] | select(.annotations."org.opencontainers.image.ref.name" // "" | endswith(":sha256-'"${IMG#sha256:}"'"))] | length' b/index.json)" = 1 ] ||
        fail "one fallback index entry"
    for k in up k2; do
        airlock verify --key $k.pub --json b
        expect_rc 0
        json '[.images[0].signatures[].format] | sort == ["sigstore-bundle", "simplesigning"]'
    done
    # another annotation is another statement: signed again
    asign --key up.key -a env=prod b
    expect_rc 0
    [ "$(referrer_bundles b "$IMG")" = 3 ] || fail "another statement must add a referrer"
    airlock verify --key up.pub -a env=prod --json b
    expect_rc 0
    json '[.images[0].signatures[].format] | sort == ["sigstore-bundle", "simplesigning"]'
}

case_signature_format_chooses_what_is_written() {
    our_key
    img_bundle s
    asign --key up.key --signature-format simplesigning s
    expect_rc 0
    [ -z "$(tagged s "$IMG")" ] || fail "simplesigning wrote a fallback index"
    [ -n "$(tagged s "$IMG" .sig)" ] || fail "simplesigning wrote no .sig"
    ! grep -l '"subject"' s/blobs/sha256/* >/dev/null 2>&1 || fail "simplesigning wrote a referrer"
    img_bundle b
    asign --key up.key --signature-format bundle b
    expect_rc 0
    [ -z "$(tagged b "$IMG" .sig)" ] || fail "bundle wrote a .sig"
    [ "$(referrer_bundles b "$IMG")" = 1 ] || fail "bundle wrote no referrer"
    # signed only by the bundle: the catalog takes it as the image's referrers index
    airlock verify --key up.pub --json b
    expect_rc 0
    json '[.images[0].signatures[].format] == ["sigstore-bundle"]'
    json '.images[1].role == "referrers" and .images[1].admitted == true'
    # both afterwards: the .sig is added, the bundle is not signed twice
    asign --key up.key --signature-format both b
    expect_rc 0
    [ "$(referrer_bundles b "$IMG")" = 1 ] || fail "the bundle was signed twice"
    airlock verify --key up.pub --json b
    json '[.images[0].signatures[].format] | sort == ["sigstore-bundle", "simplesigning"]'
    asign --key up.key --signature-format cosign3 b
    expect_rc 2
    err_has "--signature-format"
}

case_tar_sign_appends_both_formats() {
    our_key
    make_bundle b.tar
    IMG=$(tar xOf b.tar index.json | jq -r '.manifests[0].digest')
    end() { # where the last entry of the tar ends (what an append must leave as it was)
        "$PY" -c 'import tarfile,sys
with tarfile.open(sys.argv[1]) as t:
    m = t.getmembers()[-1]
print(m.offset_data + (m.size + 511) // 512 * 512)' "$1"
    }
    e=$(end b.tar)
    pre=$(head -c "$e" b.tar | sha256sum)
    asign --key up.key b.tar
    expect_rc 0
    [ "$(head -c "$e" b.tar | sha256sum)" = "$pre" ] || fail "the tar was rewritten, not appended to"
    airlock verify --key up.pub --json b.tar
    expect_rc 0
    json '[.images[0].signatures[].format] | sort == ["sigstore-bundle", "simplesigning"]'
    mkdir x && tar -xf b.tar -C x
    [ "$(referrer_bundles x "$IMG")" = 1 ] || fail "no referrer in the tar"
    jverify rb.1.json up.pub --digest "$IMG" >/dev/null || fail "@sigstore/verify refuses the tar's bundle"
    "$PY" "$E2E_SRC/cosign_check.py" b.tar up.pub >/dev/null || fail "cosign_check.py on the tar"
    # a second key appends again
    our_key k2
    e=$(end b.tar)
    pre=$(head -c "$e" b.tar | sha256sum)
    asign --key k2.key b.tar
    expect_rc 0
    [ "$(head -c "$e" b.tar | sha256sum)" = "$pre" ] || fail "the second sign rewrote the tar"
    airlock verify --key k2.pub b.tar
    expect_rc 0
    skopeo inspect --raw "oci-archive:b.tar:example.com/test/busybox:1.0" >/dev/null || fail "skopeo cannot read it"
}

case_recursive_signs_platforms_in_both_formats() {
    our_key
    "$AIRLOCK" import -q "$F/multi" -o m/
    asign --key up.key --recursive m
    expect_rc 0
    [ "$(wc -l <"$T/out")" = 3 ] || fail "the index and two platforms"
    for d in $(cut -f1 "$T/out"); do
        [ -n "$(tagged m "$d" .sig)" ] || fail "no .sig for $d"
        [ "$(referrer_bundles m "$d")" = 1 ] || fail "no bundle referrer for $d"
        jverify rb.1.json up.pub --digest "$d" >/dev/null || fail "@sigstore/verify: $d"
        jq -r .subject.digest "m/blobs/sha256/$(blob m "$(tagged m "$d")" | jq -r '.manifests[0].digest' | cut -c8-)" |
            grep -qx "$d" || fail "subject of the referrer of $d"
    done
    airlock verify --key up.pub m
    expect_rc 0
}

case_airlock_signed_bundle_pushes_both_formats() {
    our_key
    img_bundle b
    asign --key up.key b
    expect_rc 0
    airlock push --identity-check any --key up.pub --plain-http b "$PLAIN/$CASE"
    expect_rc 0
    airlock verify --key up.pub --plain-http --json "$PLAIN/$CASE/test/busybox:1.0"
    expect_rc 0
    json '[.images[0].signatures[].format] | sort == ["sigstore-bundle", "simplesigning"]'
    # what the registry holds: the fallback index and the referrer, @sigstore/verify agrees
    idx=$(skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$CASE/test/busybox:sha256-${IMG#sha256:}")
    man=$(echo "$idx" | jq -r '.manifests[0].digest')
    echo "$idx" | jq -e '.manifests[0].artifactType == "application/vnd.dev.sigstore.bundle.v0.3+json"' >/dev/null ||
        fail "pushed index: $idx"
    layer=$(skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$CASE/test/busybox@$man" | jq -r '.layers[0].digest')
    curl -sf "http://$PLAIN/v2/$CASE/test/busybox/blobs/$layer" -o there.json || fail "bundle blob"
    jverify there.json up.pub --digest "$IMG" >/dev/null || fail "@sigstore/verify refuses the pushed bundle"
    # a second key signs the bundle and pushes again: the registry keeps both referrers
    our_key k2
    asign --key k2.key b
    airlock push --identity-check any --key k2.pub --plain-http b "$PLAIN/$CASE"
    expect_rc 0
    for k in up k2; do
        airlock verify --key $k.pub --plain-http --json "$PLAIN/$CASE/test/busybox:1.0"
        expect_rc 0
        json '[.images[0].signatures[].format] | sort == ["sigstore-bundle", "simplesigning"]'
    done
    # signed by the bundle referrer alone: push admits it and the registry verifies it
    img_bundle c
    asign --key up.key --signature-format bundle c
    airlock push --identity-check any --key up.pub --plain-http c "$PLAIN/$CASE/bo"
    expect_rc 0
    airlock verify --key up.pub --plain-http --json "$PLAIN/$CASE/bo/test/busybox:1.0"
    expect_rc 0
    json '[.images[0].signatures[].format] == ["sigstore-bundle"]'
}

case_airlock_sign_keeps_the_referrers_already_listed() {
    ec_key theirs
    our_key
    img_bundle b
    jsign --key theirs.pem --digest "$IMG" >sb.json
    m1=$($PY "$SG/addreferrer.py" b "$(ref_of)" "$IMG" sb.json)
    asign --key up.key b
    expect_rc 0
    idx=$(tagged b "$IMG")
    blob b "$idx" | jq -e --arg m "$m1" '(.manifests | length == 2) and .manifests[0].digest == $m' >/dev/null ||
        fail "theirs not kept first: $(blob b "$idx")"
    for k in theirs up; do
        airlock verify --key $k.pub --json b
        expect_rc 0
        json '[.images[0].signatures[].format] | index("sigstore-bundle") != null'
    done
    # a listed referrer the bundle lacks: its descriptor is kept as it is, ours added
    img_bundle c
    jsign --key theirs.pem --digest "$IMG" >sc.json
    m2=$($PY "$SG/addreferrer.py" c "$(ref_of)" "$IMG" sc.json)
    rm "c/blobs/sha256/${m2#sha256:}"
    asign --key up.key c
    expect_rc 0
    blob c "$(tagged c "$IMG")" | jq -e --arg m "$m2" '(.manifests | length == 2) and .manifests[0].digest == $m' >/dev/null ||
        fail "the missing one's descriptor was dropped"
    # something else under the tag is refused by name, never replaced
    img_bundle d
    jq --arg t "$(ref_of | sed 's/:1.0$//'):sha256-${IMG#sha256:}" \
        '.manifests += [.manifests[0] | .annotations = {"org.opencontainers.image.ref.name": $t}]' d/index.json >i.json &&
        mv i.json d/index.json
    asign --key up.key --signature-format bundle d
    expect_rc 4
    err_has "referrers index 'example.com/test/busybox:sha256-${IMG#sha256:}' is listed in index.json as '$IMG', which is not an index"
    # a referrers index the bundle lacks: named, not replaced by ours alone
    img_bundle e
    jsign --key theirs.pem --digest "$IMG" >se.json
    $PY "$SG/addreferrer.py" e "$(ref_of)" "$IMG" se.json >/dev/null
    gone=$(tagged e "$IMG")
    rm "e/blobs/sha256/${gone#sha256:}"
    asign --key up.key e
    expect_rc 4
    err_has "referrers index 'example.com/test/busybox:sha256-${IMG#sha256:}' ('$gone'): "
    [ "$(tagged e "$IMG")" = "$gone" ] || fail "the entry was replaced"
}

main "$@"
