# Attestations and SBOMs offline (issue 16): airlock attest writes in-toto statements signed as
# DSSE, in cosign's legacy .att and as cosign 3 sigstore bundle referrers; verify --attestation
# requires them per image; attestations and sbom show them. Checked against third parties: the
# official @sigstore/sign and @sigstore/verify libraries, legacy .att envelopes made by a
# python generator in both key orders cosign has written, and an independent DSSE verifier.
. "$(dirname "$0")/lib.sh"
F=$FIXTURES
. "$REGROOT/env"
CASE=$(basename "$T" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9')
SG=$E2E_SRC/sigstore
[ -d "$E2E_SRC/../node_modules/@sigstore/sign" ] ||
    fail "the sigstore JavaScript libraries are not installed: run .ci/install-deps (npm ci --prefix tests)"
export COSIGN_PASSWORD=test-password
REF=example.com/test/busybox:1.0
SPDX=https://spdx.dev/Document

# an EC P-256 key NAME.pem (PKCS#8), the same key as a cosign key pair NAME.key, NAME.pub
ec_key() {
    openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
        openssl pkcs8 -topk8 -nocrypt -out "$1.pem"
    "$AIRLOCK" import-key-pair --key "$1.pem" --output-key-prefix "$1" >/dev/null 2>&1 ||
        fail "import-key-pair $1"
}
# a directory bundle of the fixture image; $IMG is its digest
img_bundle() {
    make_bundle "$1/"
    IMG=$(jq -r '.manifests[0].digest' "$1/index.json")
}
blob() { cat "$1/blobs/sha256/${2#sha256:}"; }
# the envelope (.att layer) and bundle blob digests of the attestations airlock lists
att_layer() { # BUNDLE FORMAT
    "$AIRLOCK" attestations --json --key k.pub "$1" $REF |
        jq -r --arg f "$2" '.images[0].attestations[] | select(.format == $f) | .layer' | tail -1
}

# The bar: an SPDX SBOM attested offline in a bundle is required by verify --attestation
# spdxjson, survives push, is found by @sigstore/verify in the registry's referrer, and
# airlock sbom prints it byte for byte.
case_bar_spdx_sbom_attested_offline_pushed_and_printed_exactly() {
    ec_key k
    $PY "$E2E_SRC/mksbom.py" spdx busybox 40 >sbom.spdx.json
    make_bundle b.tar
    IMG=$("$AIRLOCK" inspect --json b.tar | jq -r '.images[0].digest')
    airlock attest --key k.key --predicate sbom.spdx.json --type spdxjson b.tar
    expect_rc 0
    out_has "$IMG	$REF	$SPDX"
    airlock verify --key k.pub --attestation spdxjson b.tar
    expect_rc 0
    err_has "Attestation $SPDX (dsse-envelope) verified against the key"
    err_has "Attestation $SPDX (sigstore-bundle) verified against the key"
    airlock verify --key k.pub --attestation spdxjson --json b.tar
    expect_rc 0
    json '[.images[0].attestations[] | select(.verified and .predicateType == "'$SPDX'")] | length == 2'
    airlock verify --key k.pub --attestation cyclonedx b.tar
    expect_rc 3
    err_has "no verified attestation of type 'cyclonedx' (https://cyclonedx.org/bom)"
    airlock sbom --key k.pub b.tar $REF
    expect_rc 0
    cmp "$T/out" sbom.spdx.json || fail "sbom is not the attested file byte for byte"
    err_has "verified with 'k.pub'"
    # inspect shows them by type, and that an SBOM travels
    airlock inspect --json b.tar
    expect_rc 0
    json '.images[0].attestationTypes["'$SPDX'"] == 2 and .images[0].sbomAttestations == 2'
    airlock inspect b.tar
    out_has "  attested: $SPDX x2"
    # an independent DSSE verifier and @sigstore/verify accept what airlock wrote
    mkdir x && tar -xf b.tar -C x
    env=$(att_layer b.tar dsse-envelope)
    bun=$(att_layer b.tar sigstore-bundle)
    blob x "$env" >env.json
    blob x "$bun" >bun.json
    [ "$($PY "$E2E_SRC/dssecheck.py" env.json k.pub "$IMG")" = "$SPDX" ] || fail "dssecheck .att"
    [ "$($PY "$E2E_SRC/dssecheck.py" bun.json k.pub "$IMG" --predicate-out=p.json)" = "$SPDX" ] ||
        fail "dssecheck bundle"
    jq -e --slurpfile a p.json --slurpfile b sbom.spdx.json -n '$a == $b' >/dev/null ||
        fail "the signed predicate is not the SBOM"
    node "$SG/verify.js" bun.json k.pub --digest "$IMG" >/dev/null ||
        fail "@sigstore/verify refuses airlock's attestation bundle"
    # push requires it too, and carries it; the registry's referrer verifies with @sigstore/verify
    airlock push --key k.pub --identity-check any --attestation cyclonedx --plain-http b.tar "$PLAIN/$CASE"
    expect_rc 3
    err_has "no verified attestation of type 'cyclonedx'"
    err_has "nothing was pushed"
    airlock push --key k.pub --identity-check any --attestation spdxjson --plain-http b.tar "$PLAIN/$CASE"
    expect_rc 0
    $PY "$E2E_SRC/regreferrer.py" "$PLAIN" "$CASE/test/busybox" "$IMG" "$SPDX" reg.json >/dev/null ||
        fail "no attestation referrer in the registry"
    node "$SG/verify.js" reg.json k.pub --digest "$IMG" >/dev/null ||
        fail "@sigstore/verify refuses the registry's attestation referrer"
    cmp reg.json bun.json || fail "the referrer's bundle changed on the way"
    # verify-attestation in the registry itself: .att and referrers both read back
    airlock verify --key k.pub --attestation spdxjson --plain-http --json "$PLAIN/$CASE/test/busybox:1.0"
    expect_rc 0
    json '[.images[0].attestations[] | select(.verified)] | map(.format) | sort == ["dsse-envelope", "sigstore-bundle"]'
    airlock verify --key k.pub --attestation cyclonedx --plain-http "$PLAIN/$CASE/test/busybox:1.0"
    expect_rc 3
    err_has "no verified attestation of type 'cyclonedx'"
    # and back out of the registry, the SBOM is still the file
    airlock export --plain-http "$PLAIN/$CASE/test/busybox:1.0" -o e.tar
    expect_rc 0
    airlock sbom --key k.pub e.tar "$PLAIN/$CASE/test/busybox:1.0"
    expect_rc 0
    cmp "$T/out" sbom.spdx.json || fail "the exported SBOM is not the file byte for byte"
}

case_sigstore_sign_attestation_bundle_is_verified_by_type() {
    ec_key up
    img_bundle b
    $PY "$E2E_SRC/mksbom.py" cyclonedx busybox 5 >bom.json
    node "$SG/attest.js" --key up.pem --digest "$IMG" --predicate bom.json \
        --predicate-type https://cyclonedx.org/bom >sb.json || fail "@sigstore/sign"
    node "$SG/verify.js" sb.json up.pub --digest "$IMG" >/dev/null || fail "@sigstore/verify"
    $PY "$SG/addreferrer.py" b $REF "$IMG" sb.json --predicate-type=https://cyclonedx.org/bom >/dev/null
    airlock verify --key up.pub --attestation cyclonedx b
    expect_rc 0
    airlock verify --key up.pub --attestation spdxjson b
    expect_rc 3
    airlock attestations --key up.pub b $REF
    expect_rc 0
    out_has "$IMG $REF https://cyclonedx.org/bom sigstore-bundle verified"
    # the predicate @sigstore/sign signed (re-serialized by JSON.stringify): the same document
    airlock sbom --key up.pub b $REF
    expect_rc 0
    jq -e --slurpfile a "$T/out" --slurpfile b bom.json -n '$a == $b' >/dev/null ||
        fail "sbom is not the signed CycloneDX document"
    airlock attestations --key up.pub --type cyclonedx b
    expect_rc 0
    jq -e --slurpfile a "$T/out" --slurpfile b bom.json -n '$a == $b' >/dev/null ||
        fail "attestations --type does not print the predicate"
    ec_key other
    airlock verify --key other.pub --attestation cyclonedx b
    expect_rc 3
    err_has "no DSSE signature (of 1) verifies with the key"
}

# cosign attest (3, --new-bundle-format) puts an in-toto v0.1 statement in its bundles
# (attestation.GenerateStatement); sigstore-go does not judge _type: neither may airlock
case_cosign3_attestation_bundle_with_a_v01_statement_verifies() {
    ec_key up
    img_bundle b
    $PY "$E2E_SRC/mksbom.py" spdx busybox 3 >sbom.json
    node "$SG/attest.js" --key up.pem --digest "$IMG" --predicate sbom.json \
        --predicate-type https://spdx.dev/Document \
        --statement-type https://in-toto.io/Statement/v0.1 >sb.json || fail "@sigstore/sign"
    node "$SG/verify.js" sb.json up.pub --digest "$IMG" >/dev/null || fail "@sigstore/verify"
    $PY "$SG/addreferrer.py" b $REF "$IMG" sb.json --predicate-type=https://spdx.dev/Document \
        >/dev/null
    airlock verify --key up.pub --attestation spdxjson b
    expect_rc 0
    airlock sbom --key up.pub b $REF
    expect_rc 0
    jq -e --slurpfile a "$T/out" --slurpfile b sbom.json -n '$a == $b' >/dev/null ||
        fail "sbom is not the signed SPDX document"
}

# verify --key checks the signatures as cosign verify does, and --attestation adds cosign
# verify-attestation's check: these images are signed (sign) and attested (mkatt.py)
case_legacy_att_envelopes_in_both_key_orders_verify() {
    ec_key k
    img_bundle b
    "$AIRLOCK" sign --key k.key b 2>/dev/null >/dev/null
    echo '{"builder":{"id":"https://ci.example/builder"},"buildType":"x"}' >prov.json
    $PY "$E2E_SRC/mkatt.py" b $REF "$IMG" k.pem prov.json https://slsa.dev/provenance/v0.2 \
        --order=type-first >/dev/null
    airlock verify --key k.pub --attestation slsaprovenance b
    expect_rc 0
    $PY "$E2E_SRC/mkatt.py" b $REF "$IMG" k.pem prov.json https://slsa.dev/provenance/v1 \
        --order=payload-first >/dev/null
    airlock verify --key k.pub --attestation slsaprovenance --attestation slsaprovenance1 --json b
    expect_rc 0
    json '[.images[0].attestations[] | select(.verified and .format == "dsse-envelope")] | length == 2'
    airlock attestations --key k.pub b
    expect_rc 0
    out_has "https://slsa.dev/provenance/v0.2 dsse-envelope verified"
    out_has "https://slsa.dev/provenance/v1 dsse-envelope verified"
    # airlock's own .att next to them: their layers are kept
    airlock attest --key k.key --predicate prov.json --type slsaprovenance1 \
        --signature-format simplesigning b
    expect_rc 0
    airlock attestations --key k.pub --json b
    json '[.images[0].attestations[] | select(.verified)] | length == 3'
    # an SBOM attestation is not there: sbom says so
    airlock sbom --key k.pub b $REF
    expect_rc 1
    err_has "carries no SBOM"
}

case_negatives_wrong_type_key_subject_and_two_signatures() {
    ec_key k
    ec_key other
    make_bundle o.tar
    "$AIRLOCK" sign --key k.key o.tar 2>/dev/null >/dev/null
    echo '{"spdxVersion":"SPDX-2.3","name":"x"}' >s.json
    # a signed image with one legacy attestation (mkatt.py ARGS...) in directory $1
    att_bundle() {
        local d=$1
        shift
        img_bundle "$d"
        "$AIRLOCK" sign --key k.key "$d" 2>/dev/null >/dev/null
        $PY "$E2E_SRC/mkatt.py" "$d" $REF "$IMG" k.pem s.json "$@" >/dev/null
    }
    # subject of another image: the statement is about another digest
    att_bundle b1 $SPDX --subject=sha256:1111111111111111111111111111111111111111111111111111111111111111
    airlock verify --key k.pub --attestation spdxjson b1
    expect_rc 3
    err_has "no verified attestation of type 'spdxjson'"
    err_has "no statement subject is '$IMG'"
    # wrong key: signed by another
    att_bundle b2 $SPDX --only-key=other.pem
    airlock verify --key k.pub --attestation spdxjson b2
    expect_rc 3
    err_has "no DSSE signature (of 1) verifies with the key"
    # wrong type: the layer claims SPDX, the signed statement says CycloneDX
    att_bundle b3 https://cyclonedx.org/bom --claim=$SPDX
    airlock verify --key k.pub --attestation spdxjson b3
    expect_rc 3
    airlock verify --key k.pub --attestation cyclonedx b3
    expect_rc 0
    # two signatures of which one is good (DSSE's threshold of one, as cosign): it verifies,
    # and only with the good key
    att_bundle c $SPDX --also-key=other.pem
    airlock verify --key k.pub --attestation spdxjson c
    expect_rc 0
    ec_key third
    airlock verify --key third.pub --attestation spdxjson --json c
    expect_rc 3
    json '.images[0].attestations[0].error | test("no DSSE signature \\(of 2\\) verifies with the key")'
    # a predicate that is not JSON for a JSON type: refused before anything is written
    printf 'SPDXVersion: SPDX-2.3\nDocumentName: x\n' >s.spdx
    cp o.tar o.before
    airlock attest --key k.key --predicate s.spdx --type spdxjson o.tar
    expect_rc 2
    err_has "s.spdx is not a JSON object, as a predicate of type 'spdxjson' must be"
    cmp o.tar o.before || fail "the bundle changed"
    # as spdx (tag-value) it goes in as a string, and sbom gives it back exactly
    airlock attest --key k.key --predicate s.spdx --type spdx o.tar
    expect_rc 0
    airlock sbom --key k.pub o.tar $REF
    expect_rc 0
    cmp "$T/out" s.spdx || fail "the tag-value SBOM is not given back exactly"
    # an SBOM attestation that does not verify is never printed
    airlock sbom --key other.pub o.tar $REF
    expect_rc 3
    out_empty
    err_has "none verified"
    airlock sbom o.tar $REF
    expect_rc 2
    out_empty
    err_has "(give --key cosign.pub)"
    airlock attest --key k.key --predicate s.json --type no-such-type o.tar
    expect_rc 2
    err_has "neither a cosign predicate type"
    airlock verify --key k.pub --attestation no-such-type o.tar
    expect_rc 2
    airlock verify --attestation spdx o.tar
    expect_rc 2
    err_has "--attestation needs --key"
}

case_replace_drops_only_this_keys_attestations_of_the_type() {
    ec_key k
    ec_key other
    make_bundle b.tar
    echo '{"spdxVersion":"SPDX-2.3","name":"one"}' >one.json
    echo '{"spdxVersion":"SPDX-2.3","name":"two"}' >two.json
    echo '{"bomFormat":"CycloneDX","specVersion":"1.5"}' >bom.json
    "$AIRLOCK" attest --key k.key --predicate one.json --type spdxjson b.tar >/dev/null
    "$AIRLOCK" attest --key other.key --predicate one.json --type spdxjson b.tar >/dev/null
    "$AIRLOCK" attest --key k.key --predicate bom.json --type cyclonedx b.tar >/dev/null
    airlock attest --key k.key --predicate two.json --type spdxjson --replace b.tar
    expect_rc 0
    # a plain tar is only appended to: the dropped referrer stays in blobs/, unlisted (push
    # does not carry it); the .att layer is gone
    airlock attestations --json b.tar
    expect_rc 0
    json '[.images[0].attestations[] | select(.unlisted | not)] | length == 6'
    airlock attestations --json --key k.pub --type spdxjson b.tar
    json '[.images[0].attestations[] | select(.verified and (.unlisted | not))] | length == 2'
    json '[.images[0].attestations[] | select(.verified and (.unlisted | not)) | .predicate.name] | unique == ["two"]'
    json '[.images[0].attestations[] | select(.unlisted) | .predicate.name] == ["one"]'
    airlock attestations --json --key other.pub --type spdxjson b.tar
    json '[.images[0].attestations[] | select(.verified)] | length == 2'
    airlock sbom --key k.pub b.tar $REF
    cmp "$T/out" two.json || fail "sbom is not the newest SBOM"
    airlock verify --key k.pub --attestation cyclonedx --attestation spdxjson b.tar
    expect_rc 0
}

# a plain referrer artifact (an SBOM attached with oras, unsigned): DIR IMAGE FILE TAG [CREATED]
plain_referrer() {
    $PY - "$@" <<'EOF'
import hashlib, json, os, sys
d, image, path, tag = sys.argv[1:5]
def put(data):
    h = hashlib.sha256(data).hexdigest()
    open(os.path.join(d, "blobs", "sha256", h), "wb").write(data)
    return "sha256:" + h
doc = open(path, "rb").read()
idx = json.load(open(os.path.join(d, "index.json")))
subj = next(m for m in idx["manifests"] if m["digest"] == image)
man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
       "artifactType": "application/spdx+json",
       "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": put(b"{}")},
       "layers": [{"mediaType": "application/spdx+json", "size": len(doc), "digest": put(doc)}],
       "subject": {"mediaType": subj["mediaType"], "size": subj["size"], "digest": image}}
if len(sys.argv) > 5:
    man["annotations"] = {"org.opencontainers.image.created": sys.argv[5]}
raw = json.dumps(man).encode()
idx["manifests"].append({"mediaType": man["mediaType"], "size": len(raw), "digest": put(raw),
                         "annotations": {"org.opencontainers.image.ref.name":
                                         "example.com/test/busybox:sha256-" + image[7:] + tag}})
json.dump(idx, open(os.path.join(d, "index.json"), "w"))
EOF
}

case_plain_sbom_is_printed_and_said_unsigned() {
    img_bundle b
    $PY "$E2E_SRC/mksbom.py" spdx busybox 3 >s.json
    plain_referrer b "$IMG" s.json .spdx
    airlock sbom b $REF
    expect_rc 0
    cmp "$T/out" s.json || fail "the plain SBOM is not printed exactly"
    err_has "the SBOM of '$REF' is not signed: not verified by any key"
    # several plain ones: the newest by the artifact's annotation, whatever their order
    img_bundle c
    echo '{"spdxVersion":"SPDX-2.3","name":"new"}' >n.json
    echo '{"spdxVersion":"SPDX-2.3","name":"old"}' >o.json
    plain_referrer c "$IMG" n.json .n 2026-06-02T00:00:00Z
    plain_referrer c "$IMG" o.json .o 2026-06-01T00:00:00Z
    airlock sbom c $REF
    expect_rc 0
    cmp "$T/out" n.json || fail "not the newest plain SBOM"
    err_has "carries 2 different unsigned SBOMs: printed the newest"
    err_has "by its org.opencontainers.image.created annotation (not signed"
    err_has "the SBOM of '$REF' is not signed: not verified by any key"
}

# --recursive: each platform manifest gets its own attestation; push carries them, the
# registry's referrers of the platform manifests verify, and export brings them back
case_recursive_platform_attestations_travel_through_push_and_export() {
    ec_key k
    "$AIRLOCK" import -q "$F/multi" -o b.tar
    "$AIRLOCK" sign --key k.key --to "$PLAIN/$CASE" b.tar >/dev/null
    echo '{"spdxVersion":"SPDX-2.3","name":"multi"}' >s.json
    airlock attest --key k.key --predicate s.json --type spdxjson --recursive b.tar
    expect_rc 0
    [ "$(wc -l <"$T/out")" = 3 ] || fail "expected the index and two platforms"
    IDX=$("$AIRLOCK" inspect --json b.tar | jq -r '.images[0].digest')
    PLAT=$(sed -n 2p "$T/out" | cut -f1)
    [ "$PLAT" != "$IDX" ] || fail "no platform attested"
    airlock push --key k.pub --attestation spdxjson --plain-http b.tar "$PLAIN/$CASE"
    expect_rc 0
    $PY "$E2E_SRC/regreferrer.py" "$PLAIN" "$CASE/multi" "$PLAT" "$SPDX" p.json >/dev/null ||
        fail "no platform attestation referrer in the registry"
    node "$SG/verify.js" p.json k.pub --digest "$PLAT" >/dev/null || fail "@sigstore/verify"
    skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$CASE/multi:sha256-${PLAT#sha256:}.att" |
        jq -e '.layers[0].annotations.predicateType == "'$SPDX'"' >/dev/null || fail "no platform .att"
    airlock export --plain-http "$PLAIN/$CASE/multi:1" -o e.tar
    expect_rc 0
    tar -xOf e.tar index.json | jq -r '.manifests[].annotations."org.opencontainers.image.ref.name"' |
        grep -c '\.att$' | grep -x >/dev/null 3 || fail "export lacks the platform attestations"
    airlock verify --key k.pub --attestation spdxjson e.tar
    expect_rc 0
    $PY "$E2E_SRC/dssecheck.py" p.json k.pub "$PLAT" >/dev/null || fail "dssecheck"
}

# a sync rule's "attestations": every image needs them, verified with the rule's keys
case_sync_rule_requires_attestations() {
    ec_key k
    mkdir in
    echo '{"spdxVersion":"SPDX-2.3","name":"x"}' >s.json
    "$AIRLOCK" import -q --name example.com/good/bb:1 "$F/o.tar" -o in/good.tar
    "$AIRLOCK" import -q --name example.com/bad/bb:1 "$F/o.tar" -o in/bad.tar
    for b in good bad; do "$AIRLOCK" sign --key k.key in/$b.tar 2>/dev/null >/dev/null; done
    "$AIRLOCK" attest --key k.key --predicate s.json --type spdxjson in/good.tar >/dev/null
    cat >sync.json <<EOC
{"inbox": "$PWD/in", "settleSeconds": 0, "report": "$PWD/run.json",
 "rules": [{"match": "*.tar", "to": "$PLAIN/$CASE", "keys": ["$PWD/k.pub"], "identityCheck": "any",
            "attestations": ["spdxjson"], "registry": {"plainHttp": true}}]}
EOC
    airlock sync --config sync.json
    [ "$rc" != 0 ] || fail "a bundle without the attestation went through"
    jq -e '.pushed == 1' run.json >/dev/null || fail "the attested bundle was not pushed"
    jq -e '[.bundles[]? // .results[]? | tostring | select(test("no verified attestation of type .spdxjson."))] | length == 1' run.json >/dev/null ||
        { cat run.json >&2; fail "the report does not say which attestation was missing"; }
    skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$CASE/good/bb:1" >/dev/null ||
        fail "good not pushed"
    ! skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$CASE/bad/bb:1" >/dev/null 2>&1 ||
        fail "bad pushed"
    # configuration errors name the rule
    sed 's/"spdxjson"/"no such type"/' sync.json >bad.json
    airlock sync --config bad.json
    expect_rc 2
    err_has "\"attestations\": 'no such type' is neither a cosign predicate type"
}

# a hostile .att manifest listing thousands of envelope layers: at most 256 are read
case_attestations_read_per_image_are_capped() {
    ec_key k
    img_bundle b
    "$AIRLOCK" sign --key k.key b 2>/dev/null >/dev/null
    echo '{"spdxVersion":"SPDX-2.3","name":"x"}' >s.json
    $PY "$E2E_SRC/mkatt.py" b $REF "$IMG" k.pem s.json $SPDX >/dev/null
    $PY - b <<'EOF'
import hashlib, json, os, sys
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
e = next(m for m in idx["manifests"]
         if m["annotations"]["org.opencontainers.image.ref.name"].endswith(".att"))
man = json.load(open(os.path.join(d, "blobs", "sha256", e["digest"][7:])))
man["layers"] = man["layers"] * 5000
raw = json.dumps(man).encode()
h = hashlib.sha256(raw).hexdigest()
open(os.path.join(d, "blobs", "sha256", h), "wb").write(raw)
e.update(digest="sha256:" + h, size=len(raw))
json.dump(idx, open(os.path.join(d, "index.json"), "w"))
EOF
    airlock verify --key k.pub --attestation spdxjson --json b
    expect_rc 0
    json '.images[0].attestations | length == 256'
}


# The type of cosign 3's signature statement is not an attestation type: such an "attestation"
# is read back as a signature (verify counts it, attestations skips it), and --replace would
# drop this key's signatures. attest refuses it before anything is written.
case_attest_refuses_the_signature_predicate_type() {
    ec_key k
    make_bundle b.tar
    "$AIRLOCK" sign --key k.key b.tar >/dev/null 2>&1 || fail "sign"
    echo '{"spdxVersion":"SPDX-2.3","name":"one"}' >one.json
    cp b.tar before.tar
    airlock attest --key k.key --predicate one.json --type https://sigstore.dev/cosign/sign/v1 \
        --replace b.tar
    expect_rc 2
    err_has "signature"
    cmp b.tar before.tar || fail "the bundle was changed"
    airlock verify --key k.pub b.tar
    expect_rc 0
}

# sbom prints byte for byte into a file or pipe; a document holding terminal controls (here an
# unsigned plain SBOM with an OSC title sequence) is never written raw to a terminal.
case_sbom_never_writes_terminal_controls_to_a_tty() {
    img_bundle b
    printf '{"spdxVersion":"SPDX-2.3","name":"\033]0;pwned\007\033[2J"}\n' >s.json
    $PY - b "$IMG" s.json <<'PYEOF'
import hashlib, json, os, sys
d, image, path = sys.argv[1:4]
def put(data):
    h = hashlib.sha256(data).hexdigest()
    open(os.path.join(d, "blobs", "sha256", h), "wb").write(data)
    return "sha256:" + h
doc = open(path, "rb").read()
idx = json.load(open(os.path.join(d, "index.json")))
subj = next(m for m in idx["manifests"] if m["digest"] == image)
man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
       "artifactType": "application/spdx+json",
       "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": put(b"{}")},
       "layers": [{"mediaType": "application/spdx+json", "size": len(doc), "digest": put(doc)}],
       "subject": {"mediaType": subj["mediaType"], "size": subj["size"], "digest": image}}
raw = json.dumps(man).encode()
idx["manifests"].append({"mediaType": man["mediaType"], "size": len(raw), "digest": put(raw),
                         "annotations": {"org.opencontainers.image.ref.name":
                                         "example.com/test/busybox:sha256-" + image[7:] + ".spdx"}})
json.dump(idx, open(os.path.join(d, "index.json"), "w"))
PYEOF
    airlock sbom b $REF
    expect_rc 0
    cmp "$T/out" s.json || fail "the SBOM is not printed exactly into a file"
    # stdout a terminal: a pty, read back by python
    run $PY - "$AIRLOCK" b $REF <<'PYEOF'
import os, pty, subprocess, sys
m, s = pty.openpty()
p = subprocess.run(sys.argv[1:2] + ["sbom"] + sys.argv[2:], stdout=s, stderr=subprocess.PIPE)
os.close(s)
out = b""
while True:
    try:
        chunk = os.read(m, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
sys.stdout.write("rc=%d\n" % p.returncode)
sys.stdout.write("esc=%d\n" % (b"\x1b" in out or b"\x07" in out))
sys.stderr.write(p.stderr.decode(errors="replace"))
PYEOF
    out_has "esc=0"
    grep -q '^rc=0$' "$T/out" && fail "sbom claimed success without printing to the terminal"
    err_has "terminal"
}

# a signed image (.sig tag) whose attestations are sigstore bundles only (no .att tag): the
# registry read-back of push and verify REF --attestation looks for the .att and finds none
case_push_and_verify_there_with_a_sig_tag_and_no_att_tag() {
    ec_key k
    img_bundle b
    "$AIRLOCK" sign --key k.key b >/dev/null 2>&1 || fail "sign"
    echo '{"spdxVersion":"SPDX-2.3","name":"x"}' >s.json
    "$AIRLOCK" attest --key k.key --predicate s.json --type spdxjson --signature-format bundle \
        b >/dev/null 2>&1 || fail "attest"
    airlock push --key k.pub --identity-check any --attestation spdxjson --plain-http b "$PLAIN/$CASE"
    expect_rc 0
    airlock verify --key k.pub --attestation spdxjson --plain-http "$PLAIN/$CASE/test/busybox:1.0"
    expect_rc 0
}

# push --attestation admits only what it carries: an attestation referrer that index.json does
# not list (cosign save leaves them so) counts for verify, but push sends only what is listed,
# so it must not let the image go up (and be tagged) on its strength.
case_push_does_not_count_an_unlisted_attestation() {
    ec_key k
    img_bundle b
    "$AIRLOCK" sign --key k.key b >/dev/null 2>&1 || fail "sign"
    echo '{"spdxVersion":"SPDX-2.3","name":"x"}' >s.json
    "$AIRLOCK" attest --key k.key --predicate s.json --type spdxjson --signature-format bundle \
        b >/dev/null 2>&1 || fail "attest"
    # the referrers index keeps the signature's referrer only: the attestation's is unlisted
    $PY - b <<'PYEOF'
import hashlib, json, os, sys
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
for e in idx["manifests"]:
    if e.get("mediaType") != "application/vnd.oci.image.index.v1+json":
        continue
    p = os.path.join(d, "blobs", "sha256", e["digest"][7:])
    ri = json.load(open(p))
    kept = [m for m in ri["manifests"] if m.get("annotations", {}).get(
        "dev.sigstore.bundle.predicateType") != "https://spdx.dev/Document"]
    if len(kept) == len(ri["manifests"]):
        continue
    ri["manifests"] = kept
    raw = json.dumps(ri).encode()
    h = hashlib.sha256(raw).hexdigest()
    open(os.path.join(d, "blobs", "sha256", h), "wb").write(raw)
    e.update(digest="sha256:" + h, size=len(raw))
json.dump(idx, open(os.path.join(d, "index.json"), "w"))
PYEOF
    airlock attestations --json --key k.pub b
    json '[.images[0].attestations[] | select(.unlisted and .verified)] | length == 1'
    airlock push --key k.pub --identity-check any --attestation spdxjson --plain-http b "$PLAIN/$CASE"
    expect_rc 3
    err_has "nothing was pushed"
    skopeo inspect --tls-verify=false --raw "docker://$PLAIN/$CASE/test/busybox:1.0" >/dev/null 2>&1 &&
        fail "the image was pushed and tagged without its attestation"
    true
}

# cosign's .att layer (static.NewAttestation in its attest command) carries the signature
# annotation with the empty string beside predicateType: the signature is inside the envelope.
# cosign's readers (Base64Signature, the duplicate detector of attest) fail on a layer without
# it, so airlock's layers carry exactly cosign's two annotations.
case_att_layer_carries_cosigns_empty_signature_annotation() {
    ec_key k
    img_bundle b
    echo '{"spdxVersion":"SPDX-2.3","name":"x"}' >s.json
    airlock attest --key k.key --predicate s.json --type spdxjson b
    expect_rc 0
    ATT=$(jq -r --arg n "example.com/test/busybox:sha256-${IMG#sha256:}.att" \
        '.manifests[] | select(.annotations."org.opencontainers.image.ref.name" == $n) | .digest' b/index.json)
    [ -n "$ATT" ] || fail "no .att manifest"
    got=$(blob b "$ATT" | jq -c '[.layers[].annotations]')
    [ "$got" = '[{"dev.cosignproject.cosign/signature":"","predicateType":"'$SPDX'"}]' ] ||
        fail "the .att layer annotations are $got"
    airlock verify --key k.pub --attestation spdxjson b
    expect_rc 0
}

# A predicate with a key given twice, at any depth, is ambiguous: Go's encoding/json keeps the
# last value, cJSON and others the first, so two verifiers would read two SBOMs. attest
# refuses it naming the file and the key, before the password; verify refuses a statement
# that has one.
case_duplicate_json_keys_are_refused_in_predicates_and_statements() {
    ec_key k
    img_bundle b
    printf '{"spdxVersion":"SPDX-2.3","name":"a","name":"b"}' >top.json
    printf '{"spdxVersion":"SPDX-2.3","packages":[{"name":"a","versionInfo":"1","versionInfo":"2"}]}' >deep.json
    for f in top.json deep.json; do
        airlock attest --key k.key --predicate $f --type spdxjson b
        expect_rc 2
        err_has "$f"
        case $f in top.json) err_has "duplicate JSON key 'name'" ;;
                   deep.json) err_has "duplicate JSON key 'versionInfo'" ;; esac
    done
    "$AIRLOCK" attestations b $REF >n.txt
    [ ! -s n.txt ] || fail "attest wrote an attestation of an ambiguous predicate"
    # a legacy .att whose signed statement holds the duplicate: verify refuses it
    "$AIRLOCK" sign --key k.key b 2>/dev/null >/dev/null
    $PY "$E2E_SRC/mkatt.py" b $REF "$IMG" k.pem deep.json $SPDX --raw-predicate=1 >/dev/null
    airlock verify --key k.pub --attestation spdxjson b
    expect_rc 3
    err_has "duplicate JSON key 'versionInfo'"
    airlock sbom --key k.pub b $REF
    expect_rc 3
}

# Several SBOMs: sbom prints the newest by the time each says it was made (SPDX
# creationInfo.created, CycloneDX metadata.timestamp, inside the signed statement; else the
# referrer's org.opencontainers.image.created), whatever order they were attested in, the
# same every run, and says on stderr by which rule.
case_sbom_prints_the_newest_of_several_by_the_time_each_says() {
    ec_key k
    img_bundle b
    echo '{"spdxVersion":"SPDX-2.3","name":"new","creationInfo":{"created":"2026-06-01T00:00:00Z"}}' >new.json
    echo '{"spdxVersion":"SPDX-2.3","name":"old","creationInfo":{"created":"2026-06-01T01:00:00+02:00"}}' >old.json
    "$AIRLOCK" attest --key k.key --predicate new.json --type spdxjson b >/dev/null
    "$AIRLOCK" attest --key k.key --predicate old.json --type spdxjson b >/dev/null
    airlock sbom --key k.pub b $REF
    expect_rc 0
    cmp "$T/out" new.json || fail "not the newest SBOM"
    err_has "'$REF' carries 2 different SBOMs that verify with the key: printed the newest"
    err_has "by its creation time in the signed document: 2026-06-01T00:00:00Z"
    cp "$T/err" first.err
    airlock sbom --key k.pub b $REF
    cmp "$T/out" new.json && cmp -s "$T/err" first.err || fail "not the same choice again"
    # a CycloneDX one made an hour later (in another time zone) is newer still
    echo '{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"timestamp":"2026-06-01T03:00:00+02:00"}}' >cdx.json
    "$AIRLOCK" attest --key k.key --predicate cdx.json --type cyclonedx b >/dev/null
    airlock sbom --key k.pub b $REF
    expect_rc 0
    cmp "$T/out" cdx.json || fail "not the newest (CycloneDX) SBOM"
    err_has "carries 3 different SBOMs"
    # documents that say no time, in bundles: the referrers' annotations decide
    img_bundle c
    echo '{"spdxVersion":"SPDX-2.3","name":"first"}' >a.json
    echo '{"spdxVersion":"SPDX-2.3","name":"second"}' >z.json
    "$AIRLOCK" attest --key k.key --predicate a.json --type spdxjson --signature-format bundle c >/dev/null
    sleep 1.1
    "$AIRLOCK" attest --key k.key --predicate z.json --type spdxjson --signature-format bundle c >/dev/null
    airlock sbom --key k.pub c $REF
    expect_rc 0
    cmp "$T/out" z.json || fail "not the newer referrer's SBOM"
    err_has "by its org.opencontainers.image.created annotation (not signed"
    # no time anywhere (legacy .att only): the last one attested, said so
    img_bundle d
    "$AIRLOCK" attest --key k.key --predicate z.json --type spdxjson --signature-format simplesigning d >/dev/null
    "$AIRLOCK" attest --key k.key --predicate a.json --type spdxjson --signature-format simplesigning d >/dev/null
    airlock sbom --key k.pub d $REF
    expect_rc 0
    cmp "$T/out" a.json || fail "not the last attested SBOM"
    err_has "none says when it was made: printed the last one in the bundle"
    # a statement whose subject is annotated with its creation time (signed) is judged by it
    img_bundle s
    "$AIRLOCK" sign --key k.key s 2>/dev/null >/dev/null
    $PY "$E2E_SRC/mkatt.py" s $REF "$IMG" k.pem a.json $SPDX \
        --subject-created=2026-06-02T00:00:00Z --raw-predicate=1 >/dev/null
    "$AIRLOCK" attest --key k.key --predicate new.json --type spdxjson s >/dev/null
    airlock sbom --key k.pub s $REF
    expect_rc 0
    [ "$(cat "$T/out")" = "$(cat a.json)" ] || fail "not the SBOM whose statement is newest"
    err_has "by its statement's org.opencontainers.image.created annotation (signed): 2026-06-02T00:00:00Z"
    # one SBOM in both formats is one SBOM: no note
    img_bundle e
    "$AIRLOCK" attest --key k.key --predicate new.json --type spdxjson e >/dev/null
    airlock sbom --key k.pub e $REF
    expect_rc 0
    ! grep -q "note:" "$T/err" || fail "a note for one SBOM in two formats"
}

# attest --recursive attests each platform manifest: attestations and sbom find them by the
# platform manifest's digest (REPO@sha256:..., REF:tag@sha256:..., or the bare digest),
# attestations lists them under the index, and inspect shows them per platform.
case_platform_manifest_attestations_are_found_by_digest_and_listed() {
    ec_key k
    "$AIRLOCK" import -q "$F/multi" -o b.tar
    echo '{"spdxVersion":"SPDX-2.3","name":"multi"}' >s.json
    airlock attest --key k.key --predicate s.json --type spdxjson --recursive b.tar
    expect_rc 0
    IDX=$(sed -n 1p "$T/out" | cut -f1)
    PLAT=$(sed -n 2p "$T/out" | cut -f1)
    PLAT2=$(sed -n 3p "$T/out" | cut -f1)
    R=example.com/multi
    for want in "$R@$PLAT" "$R:1@$PLAT" "$PLAT"; do
        airlock attestations --key k.pub b.tar "$want"
        expect_rc 0
        out_has "$PLAT $R@$PLAT $SPDX dsse-envelope verified"
        out_has "$PLAT $R@$PLAT $SPDX sigstore-bundle verified"
        out_lacks "$IDX"
        out_lacks "$PLAT2"
        airlock sbom --key k.pub b.tar "$want"
        expect_rc 0
        cmp "$T/out" s.json || fail "sbom of the platform manifest ($want)"
        err_has "the SBOM of '$R@$PLAT'"
    done
    airlock attestations --key k.pub --type spdxjson b.tar "$R@$PLAT2"
    expect_rc 0
    [ "$(sort -u "$T/out")" = "$(cat s.json)" ] || fail "the platform's verified predicates"
    # every image: the index's and each platform manifest's
    airlock attestations --key k.pub b.tar
    expect_rc 0
    [ "$(grep -c " verified " "$T/out")" = 6 ] || fail "expected 2 attestations each of 3"
    out_has "$PLAT2 $R@$PLAT2 $SPDX dsse-envelope verified"
    airlock attestations --key k.pub --json b.tar
    expect_rc 0
    json '.images | length == 1'
    json '.images[0].platforms | length == 2'
    json '[.images[0].platforms[] | .attestations[] | select(.verified)] | length == 4'
    json '[.images[0].platforms[].digest] | sort == (["'$PLAT'","'$PLAT2'"] | sort)'
    json '.images[0].platforms[0].platform | startswith("linux/")'
    # inspect: per platform manifest too
    airlock inspect b.tar
    expect_rc 0
    [ "$(grep -c "^  platform linux/.* attested: $SPDX x2" "$T/out")" = 2 ] ||
        fail "inspect lacks the platform attestations"
    airlock inspect --json b.tar
    expect_rc 0
    json '.images[0].platformAttestations | length == 2'
    json '[.images[0].platformAttestations[] | .attestationTypes["'$SPDX'"]] == [2,2]'
    json '[.images[0].platformAttestations[].digest] | sort == (["'$PLAT'","'$PLAT2'"] | sort)'
}

# attest takes the cosign flags sign takes, from the same table: --tlog-upload=false,
# --use-signing-config=false and -y/--yes said and accepted, the values asking for Rekor or a
# signing config refused; --new-bundle-format=true writes only the referrer, =false only .att.
case_attest_takes_cosigns_compatibility_flags_as_sign_does() {
    ec_key k
    echo '{"spdxVersion":"SPDX-2.3","name":"x"}' >s.json
    img_bundle b
    airlock attest --key k.key --predicate s.json --type spdxjson --tlog-upload=false \
        --use-signing-config=false -y --yes b
    expect_rc 0
    [ "$(grep -c 'airlock never uses a transparency log' "$T/err")" = 2 ] ||
        fail "not one line per flag"
    for f in --tlog-upload --tlog-upload=true --use-signing-config=True; do
        airlock attest --key k.key --predicate s.json --type spdxjson $f b
        expect_rc 2
        err_has "only ${f%%=*}=false is accepted"
    done
    for v in false true; do
        img_bundle b$v
        airlock attest --key k.key --predicate s.json --type spdxjson --new-bundle-format=$v b$v
        expect_rc 0
        err_has "--new-bundle-format=$v: writing only the"
        "$AIRLOCK" attestations --key k.pub --json b$v | jq -r '[.images[0].attestations[].format] | join(",")' >f.txt
        case $v in
        false) [ "$(cat f.txt)" = dsse-envelope ] || fail "--new-bundle-format=false wrote '$(cat f.txt)'" ;;
        true) [ "$(cat f.txt)" = sigstore-bundle ] || fail "--new-bundle-format=true wrote '$(cat f.txt)'" ;;
        esac
    done
    # the last of --signature-format and --new-bundle-format wins, as for sign
    img_bundle c
    airlock attest --key k.key --predicate s.json --type spdxjson --new-bundle-format=true \
        --signature-format both c
    expect_rc 0
    "$AIRLOCK" attestations --key k.pub c | grep -c verified | grep -qx 2 || fail "not both formats"
}

main "$@"
