# The parts of one split set named one by one, as they sit on different media: every command
# that reads a bundle (verify, inspect, import, push, split) takes them the same way, in any
# order, and still finds a part's siblings beside it; parts of different sets are refused and a
# missing part is named. sign refuses a part: a set cannot be signed in place.
. "$(dirname "$0")/lib.sh"
F=$FIXTURES
export COSIGN_PASSWORD=test-password

# drop.tar split in three parts of 400 KiB: a/drop.tar.001 on one stick, b/drop.tar.002 and
# b/drop.tar.003 on the other; the whole bundle stays as drop.tar
two_sticks() {
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    make_bundle drop.tar
    "$AIRLOCK" import -q "$F/multi" -o drop.tar
    "$AIRLOCK" sign --key cosign.key --no-recursive drop.tar >/dev/null
    "$AIRLOCK" split -q --size 400K drop.tar
    [ -e drop.tar.003 ] && [ ! -e drop.tar.004 ] || fail "expected three parts: $(ls)"
    mkdir a b
    mv drop.tar.001 a/
    mv drop.tar.002 drop.tar.003 b/
}

case_verify_parts_in_two_dirs() {
    two_sticks
    airlock verify --key cosign.pub a/drop.tar.001 b/drop.tar.003 b/drop.tar.002
    expect_rc 0
    err_has "in a set of 3 parts (0 parts missing)"
    # the part not named is found beside a named one (b/drop.tar.003 beside b/drop.tar.002)
    airlock verify --key cosign.pub --json a/drop.tar.001 b/drop.tar.002
    expect_rc 0
    json '.ok and .split.parts == 3 and .split.missingParts == []'
    # --part-only checks the one part named, so it takes one (others were ignored before)
    airlock verify --part-only a/drop.tar.001 b/drop.tar.002
    expect_rc 2
    err_has "--part-only checks one part"
}

case_inspect_parts_in_two_dirs() {
    two_sticks
    "$AIRLOCK" inspect --json drop.tar >whole.json
    airlock inspect --json a/drop.tar.001 b/drop.tar.002
    expect_rc 0
    json '(.images | length) == 2'
    jq -e --slurpfile w whole.json '.images == $w[0].images' out >/dev/null ||
        fail "the set inspects unlike the whole bundle"
    airlock inspect b/drop.tar.003 a/drop.tar.001
    expect_rc 0
    out_has "example.com/test/busybox:1.0"
    out_has "example.com/multi:1"
}

case_import_parts_in_two_dirs() {
    two_sticks
    airlock import a/drop.tar.001 b/drop.tar.002 -o whole.tar
    expect_rc 0
    out_has "example.com/test/busybox:1.0"
    airlock verify --key cosign.pub whole.tar
    expect_rc 0
    err_has "0 missing, 0 corrupt"
    # the parts of a set among other inputs, in any order: the set is one input
    airlock import --json b/drop.tar.003 "$F/d.tar" a/drop.tar.001 b/drop.tar.002 -o more.tar
    expect_rc 0
    json '[.images[].ref] | index("example.com/test/busybox:1.0") != null'
    json '[.images[].ref] | index("example.com/multi:1") != null'
    json '(.images | length) >= 5'
    airlock verify --key cosign.pub --allow-unsigned more.tar
    expect_rc 0
}

case_push_parts_in_two_dirs() {
    . "$REGROOT/env"
    local case_repo
    case_repo=parts$(basename "$T" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9')
    two_sticks
    airlock push --identity-check any --key cosign.pub --plain-http --json a/drop.tar.001 b/drop.tar.002 "$PLAIN/$case_repo"
    expect_rc 0
    json '.images | length == 2'
    json '.signatures_verified == 4'
    airlock verify --key cosign.pub --plain-http "$PLAIN/$case_repo/test/busybox:1.0"
    expect_rc 0
}

case_split_parts_in_two_dirs() {
    two_sticks
    # split again for other media, from the parts on two sticks
    airlock split --size 1M --json a/drop.tar.001 b/drop.tar.002 -o re.tar
    expect_rc 0
    json '(.parts | length) == 2'
    airlock verify --key cosign.pub re.tar.001
    expect_rc 0
    err_has "in a set of 2 parts (0 parts missing)"
}

case_sign_part_refused() {
    two_sticks
    "$AIRLOCK" keygen --output-key-prefix k2 2>/dev/null
    cp b/drop.tar.002 b/drop.tar.003 a/
    sum=$(cat a/drop.tar.00* | sha256sum)
    # signing one part would give it an index.json the other parts do not have
    airlock sign --key k2.key a/drop.tar.001
    expect_rc 2
    err_has "'a/drop.tar.001' is part 1 of a split set of 3"
    err_has "cannot be signed in place"
    # said before the key's password is asked for
    run env -u COSIGN_PASSWORD "$AIRLOCK" sign --key k2.key b/drop.tar.002 </dev/null
    expect_rc 2
    err_has "'b/drop.tar.002' is part 2 of a split set of 3"
    grep -qi password err && fail "asked for a password first"
    [ "$(cat a/drop.tar.00* | sha256sum)" = "$sum" ] || fail "a part was changed"
    airlock verify a/drop.tar.002
    expect_rc 0
}

case_parts_of_different_sets_refused() {
    two_sticks
    "$AIRLOCK" split -q --size 500K drop.tar -o other.tar
    for cmd in verify inspect; do
        airlock $cmd a/drop.tar.001 other.tar.002
        expect_rc 2
        err_has "'other.tar.002' is not another part of the set of 'a/drop.tar.001'"
        err_has "another split set"
        out_empty
    done
    airlock push --no-verify --plain-http b/drop.tar.002 other.tar.001 127.0.0.1:9/x
    expect_rc 2
    err_has "'other.tar.001' is not another part of the set of 'b/drop.tar.002'"
    # a bundle that is no part at all, among parts
    airlock verify a/drop.tar.001 drop.tar
    expect_rc 2
    err_has "'drop.tar' is not a part of a split set"
    # the same part twice, from two places
    mkdir c
    cp a/drop.tar.001 c/
    airlock verify a/drop.tar.001 c/drop.tar.001 b/drop.tar.002
    expect_rc 2
    err_has "both part 1 of the set"
    # import takes two sets as two inputs
    airlock import -q other.tar.002 a/drop.tar.001 b/drop.tar.002 -o two.tar
    expect_rc 0
}

case_missing_part_named() {
    two_sticks
    mv b/drop.tar.003 gone
    airlock verify a/drop.tar.001 b/drop.tar.002
    expect_rc 4
    err_has "part 3 of 3 'a/drop.tar.003' is missing"
    airlock import a/drop.tar.001 b/drop.tar.002 -o whole.tar
    expect_rc 4
    err_has "part 3 'a/drop.tar.003' is missing"
    [ ! -e whole.tar ] || fail "an incomplete import was written"
    airlock push --no-verify --plain-http a/drop.tar.001 b/drop.tar.002 127.0.0.1:9/x
    expect_rc 4
    err_has "part 3 'a/drop.tar.003' is missing"
    # inspect reads only metadata, which every part carries: it works, and says what is not here
    airlock inspect a/drop.tar.001 b/drop.tar.002
    expect_rc 0
    out_has "example.com/multi:1"
    err_has "part 3 of 3 'a/drop.tar.003' is missing"
    airlock split --size 1M a/drop.tar.001 b/drop.tar.002 -o re.tar
    expect_rc 4
    err_has "part 3 'a/drop.tar.003' is missing"
    # a named part that is not there
    airlock verify a/drop.tar.001 b/drop.tar.003
    expect_rc 1
    err_has "'b/drop.tar.003'"
}

main "$@"
