# Image sets against a real Distribution registry (the ctest fixture's plain one): airlock
# tags with pagination and filters, airlock digest, export --images / --set with semver,
# regex, latest-N and explicit digests, the record in the bundle and inspect --lock. The
# repositories are filled with skopeo (one image) and fill_tags.py (that image under many
# tags, each a distinct manifest).
. "$(dirname "$0")/lib.sh"
F=$FIXTURES
. "$REGROOT/env"
CASE=$(basename "$T" | tr -cd 'a-z0-9' | tr 'A-Z' 'a-z')

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
    for _ in $(seq 1 50); do
        curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break
        sleep 0.1
    done
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

main "$@"
