# Image sets against a real Distribution registry (the ctest fixture's plain one): airlock
# tags with pagination and filters, airlock digest, export --images / --set with semver,
# regex, latest-N and explicit digests, the record in the bundle and inspect --lock. The
# repositories are filled with skopeo (one image) and fill_tags.py (that image under many
# tags, each a distinct manifest).
. "$(dirname "$0")/lib.sh"
F=$FIXTURES
. "$REGROOT/env"
CASE=$(basename "$T" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9')

# fill REPO TAG...: the fixture image under each tag of $PLAIN/$CASE/REPO; "TAG DIGEST" lines
# appended to $T/digests
fill() {
    local repo=$1
    shift
    skopeo copy -q --dest-tls-verify=false oci:"$F/L":latest "docker://$PLAIN/$CASE/$repo:seed" ||
        fail "skopeo copy to $repo"
    "$PY" "$E2E_SRC/fill_tags.py" "$PLAIN" "$CASE/$repo" seed "$@" | sed "s|^|$repo |" >> "$T/digests" ||
        fail "fill $repo"
}
# want REPO TAG: the digest fill gave
want() { awk -v r="$1" -v t="$2" '$1 == r && $2 == t {print $3}' "$T/digests"; }
k8s_tags() {
    for m in 27 28 29 30; do for p in 0 1 2 3 4 5 6 7 8 9 10; do echo "v1.$m.$p"; done; done
    echo v1.30.0-rc.1 v1.29.11-rc.0 latest
}

case_tags_pages_and_filters() {
    fill kube $(k8s_tags)
    # Distribution pages with ?n=: 48 tags (47 and seed) in pages of 5 follow the Link headers to the end
    airlock tags --plain-http --page-size 5 "$PLAIN/$CASE/kube"
    expect_rc 0
    [ "$(wc -l < "$T/out")" = 48 ] || fail "want 48 tags, got $(wc -l < "$T/out")"
    airlock tags --plain-http "$PLAIN/$CASE/kube"
    expect_rc 0
    [ "$(wc -l < "$T/out")" = 48 ] || fail "unpaged: want 48 tags"
    airlock tags --plain-http --page-size 7 --semver '>=1.29 <1.30' "$PLAIN/$CASE/kube"
    expect_rc 0
    [ "$(tr '\n' ' ' < "$T/out")" = "v1.29.0 v1.29.1 v1.29.2 v1.29.3 v1.29.4 v1.29.5 v1.29.6 v1.29.7 v1.29.8 v1.29.9 v1.29.10 " ] ||
        fail "semver order"
    airlock tags --plain-http --semver '~1.29' --latest 3 --json "$PLAIN/$CASE/kube"
    expect_rc 0
    json '.order == "semver" and .tags == ["v1.29.8","v1.29.9","v1.29.10"]'
    airlock tags --plain-http --semver '>=1.30.0-rc.1 <1.31' "$PLAIN/$CASE/kube"
    expect_rc 0
    out_has v1.30.0-rc.1
    out_lacks v1.29.11-rc.0
    airlock tags --plain-http --filter '^v1\.2[78]\.1' --deny '\.1[0-9]$' --filter '^latest$' --json "$PLAIN/$CASE/kube"
    expect_rc 0
    json '.order == "registry" and (.tags | sort) == ["latest","v1.27.1","v1.28.1"]'
    airlock digest --plain-http "$PLAIN/$CASE/kube:v1.29.3"
    expect_rc 0
    [ "$(cut -f1 "$T/out")" = "$(want kube v1.29.3)" ] || fail "digest differs"
    [ "$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$PLAIN/$CASE/kube:v1.29.3")" = "$(want kube v1.29.3)" ] ||
        fail "skopeo sees another digest"
}

case_tags_nothing_matches_names_repository() {
    fill app 1.0.0 1.1.0
    airlock tags --plain-http --semver '>=2' "$PLAIN/$CASE/app"
    expect_rc 1
    err_has "no tag of '$PLAIN/$CASE/app' (3 listed) passes the filters: semver '>=2'"
    out_empty
    airlock tags --plain-http "$PLAIN/$CASE/nosuch"
    expect_rc 1
    err_has "repository '$PLAIN/$CASE/nosuch' does not exist"
    airlock tags --plain-http --semver '>=1 <' "$PLAIN/$CASE/app"
    expect_rc 2
    err_has "bad semver range '>=1 <'"
    airlock tags --plain-http --filter '(' "$PLAIN/$CASE/app"
    expect_rc 2
    err_has "bad allow regex '('"
    airlock digest --plain-http "$PLAIN/$CASE/app:9.9"
    expect_rc 1
    err_has "'$PLAIN/$CASE/app:9.9' is not in the registry"
}

# paging MODE: starts pagingserver.py, sets $PAGING (host:port); stopped when the case ends
paging() {
    local port
    port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$PY" "$E2E_SRC/pagingserver.py" "$port" "$1" 2>paging.err &
    PAGING_PID=$!
    trap 'kill $PAGING_PID 2>/dev/null; cleanup' EXIT
    for _ in $(seq 1 300); do
        curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break
        sleep 0.1
    done
    curl -s -o /dev/null "http://127.0.0.1:$port/v2/" || fail "pagingserver.py did not start"
    PAGING=127.0.0.1:$port
}

case_tags_hostile_pagination() {
    cd "$T"
    paging offhost
    airlock tags --plain-http "$PAGING/r"
    expect_rc 4
    err_has "the registry's Link header points to 'http://127.0.0.2:"
    err_has "not to this registry: refused"
    out_empty
    kill $PAGING_PID; wait $PAGING_PID 2>/dev/null || true
    paging loop
    airlock tags --plain-http "$PAGING/r"
    expect_rc 4
    err_has "is listed twice (the pages loop)"
    kill $PAGING_PID; wait $PAGING_PID 2>/dev/null || true
    paging empty
    airlock tags --plain-http "$PAGING/r"
    expect_rc 4
    err_has "a page lists no tag but links to another"
}

# digests of a bundle's image entries, "NAME DIGEST" sorted
entries() { "$AIRLOCK" inspect --json "$1" | jq -r '.images[] | "\(.ref) \(.digest)"' | sort; }

case_set_semver_regex_latest_digests_and_lock() {
    cd "$T"
    fill kube $(k8s_tags)
    fill app 1.0.0 2.0.0 2.1.0 2.2.0-beta 2.3.0 3.0.0
    cat > site.yaml <<EOS
# what the site needs
apiVersion: airlock.dev/v1
kind: ImageSet
registries:
  - host: $PLAIN
    repositories:
      - name: $CASE/kube
        semver: '>=1.29 <1.30'
        latest: 3
      - name: $CASE/app
        allow: ['^2\.']
        deny: [beta]
        digests: ['$(want app 1.0.0)']
        attachments: false
images:
  - $PLAIN/$CASE/kube:v1.27.1
  - ref: $PLAIN/$CASE/app:3.0.0
    attachments: false
EOS
    airlock export --plain-http --set site.yaml -o drop.tar
    expect_rc 0
    # the plan came first, on stderr
    err_has "plan: 9 images"
    err_has "$PLAIN/$CASE/kube:v1.29.10 ($PLAIN/$CASE/kube semver '>=1.29 <1.30' latest 3)"
    entries drop.tar > got
    { for t in v1.29.8 v1.29.9 v1.29.10 v1.27.1; do echo "$PLAIN/$CASE/kube:$t $(want kube $t)"; done
      for t in 2.0.0 2.1.0 2.3.0 3.0.0; do echo "$PLAIN/$CASE/app:$t $(want app $t)"; done
      echo "$PLAIN/$CASE/app@$(want app 1.0.0) $(want app 1.0.0)"; } | sort > expected
    diff expected got >&2 || fail "the set took other images"
    # the filters applied by hand with skopeo give the same digests
    for t in $(skopeo list-tags --tls-verify=false "docker://$PLAIN/$CASE/app" | jq -r '.Tags[]' |
               grep '^2\.' | grep -v beta); do
        echo "$PLAIN/$CASE/app:$t $(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$PLAIN/$CASE/app:$t")"
    done | sort > by-hand
    grep "/app:2" got > ours
    diff by-hand ours >&2 || fail "skopeo's filter differs"
    # the record: which set, which resolution
    jq -r '.annotations."dev.airlock.set.record"' < <(tar -xOf drop.tar index.json) > record.json
    jq -e --arg d "sha256:$(sha256sum < site.yaml | cut -d' ' -f1)" \
        '.exports | length == 1 and .[0].set.path == "site.yaml" and .[0].set.digest == $d and
         (.[0].images | length == 9) and (.[0].time | test("Z$"))' record.json >/dev/null ||
        fail "record lacks the set"
    jq -e '.exports[0].images[] | select(.tag == "v1.29.9") | .requested | test("semver")' record.json >/dev/null ||
        fail "record lacks the request"
    # verify and push leave the record alone; it never becomes an image or a repository
    airlock verify drop.tar
    expect_rc 0
    airlock push --plain-http --no-verify drop.tar "$PLAIN/$CASE-dst"
    expect_rc 0
    curl -s "http://$PLAIN/v2/_catalog?n=1000" | jq -r '.repositories[]' | grep "^$CASE-dst/" | sort > repos
    printf '%s\n' "$CASE-dst/$CASE/app" "$CASE-dst/$CASE/kube" > want-repos
    diff want-repos repos >&2 || fail "push made other repositories"
    # the lock round trip: the same digests, whatever the tags do meanwhile
    airlock inspect --lock drop.tar
    expect_rc 0
    cp "$T/out" drop.lock.json
    json '.kind == "ImageSetLock" and (.images | length == 9) and (.images | all(.ref | test("@sha256:")))'
    "$PY" "$E2E_SRC/fill_tags.py" "$PLAIN" "$CASE/kube" seed v1.29.10-moved > /dev/null
    "$PY" - "$PLAIN" "$CASE/kube" <<'EOP'
import http.client, json, sys
c = http.client.HTTPConnection(sys.argv[1])
mt = "application/vnd.oci.image.manifest.v1+json"
c.request("GET", f"/v2/{sys.argv[2]}/manifests/v1.29.10-moved", headers={"Accept": mt})
b = c.getresponse().read()
c.request("PUT", f"/v2/{sys.argv[2]}/manifests/v1.29.10", body=b, headers={"Content-Type": mt})
assert c.getresponse().status == 201
EOP
    airlock export --plain-http --set drop.lock.json -o again.tar
    expect_rc 0
    err_has "tag 'v1.29.10' now points to"
    err_has "not $(want kube v1.29.10): exported by digest $(want kube v1.29.10)"
    entries again.tar > again
    diff got again >&2 || fail "the lock took other digests"
}

case_set_json_equals_yaml_and_dry_run() {
    cd "$T"
    fill app 1.0.0 1.1.0 1.2.0
    printf 'registries:\n  - host: %s\n    repositories:\n      - {name: %s/app, semver: "^1.1"}\n' "$PLAIN" "$CASE" > s.yaml
    printf '{"registries": [{"host": "%s", "repositories": [{"name": "%s/app", "semver": "^1.1"}]}]}\n' "$PLAIN" "$CASE" > s.json
    airlock export --plain-http --set s.yaml --dry-run -o y.tar
    expect_rc 0
    [ ! -e y.tar ] || fail "dry run wrote the bundle"
    no_leftovers .
    out_has "$(want app 1.1.0)"
    out_has "plan: 2 images"
    airlock export --plain-http --set s.json --dry-run --json -o j.tar
    expect_rc 0
    jq -e --arg d "$(want app 1.1.0) $(want app 1.2.0)" '[.images[].digest] | sort == ($d | split(" ") | sort)' "$T/out" >/dev/null ||
        fail "JSON set differs"
    airlock export --plain-http --set s.json -o j.tar -q
    expect_rc 0
    airlock export --plain-http --set s.yaml -o j.tar --dry-run
    expect_rc 0
    out_has "[in bundle]"
    out_has "plan: 2 images, 0 blobs to fetch"
    # --images: one reference a line, comments
    printf '# a drop\n%s  # pinned below\n\n  %s\n' "$PLAIN/$CASE/app:1.0.0" "$PLAIN/$CASE/app@$(want app 1.2.0)" > list.txt
    airlock export --plain-http --images list.txt -o l.tar --json
    expect_rc 0
    json '.images | length == 2'
    tar -xOf l.tar index.json | jq -r '.annotations."dev.airlock.set.record"' | jq -e '.exports[0].set.path == "list.txt"' >/dev/null ||
        fail "no record for --images"
}

case_set_record_survives_sign_split_and_verify() {
    cd "$T"
    fill app 1.0.0 1.1.0
    printf 'images: [%s, %s]\n' "$PLAIN/$CASE/app:1.0.0" "$PLAIN/$CASE/app:1.1.0" > s.yaml
    airlock export --plain-http --set s.yaml -o b.tar -q
    expect_rc 0
    "$AIRLOCK" inspect --lock b.tar > before.json
    export COSIGN_PASSWORD=test-password
    "$AIRLOCK" keygen --output-key-prefix k 2>/dev/null
    airlock sign --key k.key b.tar
    expect_rc 0
    airlock verify --key k.pub b.tar
    expect_rc 0
    # signing added entries (signatures) but the record and the lock are the same
    "$AIRLOCK" inspect --lock b.tar > after.json
    diff <(jq .images before.json) <(jq .images after.json) >&2 || fail "sign changed the lock"
    airlock split --size 400k b.tar -o parts
    expect_rc 0
    airlock inspect --lock parts.001
    expect_rc 0
    jq -e '.images | length == 2' "$T/out" >/dev/null || fail "the split set lost the record"
    airlock verify --key k.pub parts.001
    expect_rc 0
    # export straight into parts records it too; a bundle without a record says so
    airlock export --plain-http --set s.yaml --split 400k -o sp.tar -q
    expect_rc 0
    airlock inspect --lock sp.tar.001
    expect_rc 0
    json '.images | length == 2'
    make_bundle plain.tar
    airlock inspect --lock plain.tar
    expect_rc 1
    err_has "holds no record of an export"
}

case_set_errors_name_the_repository() {
    cd "$T"
    fill app 1.0.0
    printf 'registries:\n  - host: %s\n    repositories:\n      - {name: %s/app, semver: ">=5"}\n' "$PLAIN" "$CASE" > none.yaml
    airlock export --plain-http --set none.yaml -o x.tar
    expect_rc 1
    err_has "no tag of '$PLAIN/$CASE/app' (2 listed) passes the filters: semver '>=5'"
    [ ! -e x.tar ] || fail "wrote a bundle"
    printf 'registries:\n  - host: %s\n    repositories:\n      - {name: %s/gone, allow: ".*"}\n' "$PLAIN" "$CASE" > gone.yaml
    airlock export --plain-http --set gone.yaml -o x.tar
    expect_rc 1
    err_has "repository '$PLAIN/$CASE/gone' does not exist"
    printf 'registries:\n  - host: %s\n    repositories:\n      - {name: %s/app, semvr: "1"}\n' "$PLAIN" "$CASE" > typo.yaml
    airlock export --plain-http --set typo.yaml -o x.tar
    expect_rc 2
    err_has "'typo.yaml': repository '$PLAIN/$CASE/app': unknown member 'semvr'"
    printf 'registries:\n  - host: %s\n    repositories:\n      - {name: %s/app}\n' "$PLAIN" "$CASE" > bare.yaml
    airlock export --plain-http --set bare.yaml -o x.tar
    expect_rc 2
    err_has "names no tags, digests, semver, allow or latest"
    printf 'images: [*a]\n' > alias.yaml
    airlock export --plain-http --set alias.yaml -o x.tar
    expect_rc 2
    err_has "'alias.yaml': line 1:"
    printf '{"kind": "ImageSetLock", "images": ["%s"]}\n' "$PLAIN/$CASE/app:1.0.0" > lock.json
    airlock export --plain-http --set lock.json -o x.tar
    expect_rc 2
    err_has "has no digest: a lock pins every image"
}

case_set_200_images_one_run() {
    cd "$T"
    local tags
    tags=$(seq -f '1.%g.0' 0 49)
    for r in a b c d; do fill "r$r" $tags; done
    {
        echo "registries:"
        echo "  - host: $PLAIN"
        echo "    repositories:"
        for r in a b; do echo "      - {name: $CASE/r$r, semver: '>=1.0 <2'}"; done
        for r in c d; do echo "      - {name: $CASE/r$r, allow: ['^1\\.'], attachments: false}"; done
    } > big.yaml
    local t0=$SECONDS
    airlock export --plain-http --set big.yaml -o big.tar -q --json
    expect_rc 0
    json '.images | length == 200'
    echo "200 images in $((SECONDS - t0)) s" >&2
    jq -r '.images[] | "\(.ref) \(.digest)"' "$T/out" | sed "s|^$PLAIN/$CASE/||; s|:| |" | sort > got
    sed 's/^/r/' /dev/null > /dev/null
    awk '$2 != "seed" {print}' "$T/digests" | sort > expected
    diff expected got >&2 || fail "200-image set took other digests"
    airlock inspect --lock big.tar
    expect_rc 0
    cp "$T/out" big.lock.json
    airlock export --plain-http --set big.lock.json -o again.tar -q
    expect_rc 0
    [ "$(entries big.tar)" = "$(entries again.tar)" ] || fail "lock round trip differs"
}

main "$@"
