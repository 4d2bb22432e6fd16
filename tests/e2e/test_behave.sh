# One behaviour everywhere (issue 15): -q, --json on failure, the exit code table, Ctrl-C,
# the free space check, the progress bar. Registry cases use the ctest fixture's registries.
. "$(dirname "$0")/lib.sh"
F=$FIXTURES
. "$REGROOT/env"
CASE=$(basename "$T" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9')
PY=/usr/bin/python3

# proxy RULES_JSON: see lib.sh

# a bundle of one image of random layers (LAYERS x MB)
big_bundle() { # OUT LAYERS MB
    "$PY" "$E2E_SRC/mkrandom.py" L "example.com/big:1" "$2" "$3" >/dev/null
    "$AIRLOCK" import -q L -o "$1" >/dev/null
}

# rc_of EXPECTED CMD...: the exit code of airlock CMD is EXPECTED
rc_of() {
    local want=$1
    shift
    airlock "$@"
    [ "$rc" = "$want" ] || fail "airlock $*: exit $rc, expected $want (stderr: $(head -c 300 "$T/err"))"
}

case_exit_codes_one_table() {
    make_bundle b.tar
    echo "not a bundle" >plain.txt
    cp b.tar bad.tar
    "$PY" - bad.tar <<'PY'
import sys, tarfile, io
# flip a byte inside the largest layer: a digest mismatch
data = bytearray(open(sys.argv[1], "rb").read())
with tarfile.open(sys.argv[1]) as t:
    m = max(t.getmembers(), key=lambda m: m.size)
    off = m.offset_data + m.size // 2
data[off] ^= 0xff
open(sys.argv[1], "wb").write(data)
PY
    "$AIRLOCK" push --no-verify --plain-http b.tar "$PLAIN/$CASE" >/dev/null 2>&1 ||
        fail "push for the setup failed"
    local ref=$PLAIN/$CASE/test/busybox:1.0
    # usage: 2
    for c in import inspect verify split export push digest tags sign; do
        rc_of 2 $c --no-such-option
    done
    # a destination that exists and is not a bundle: 1 from import and export alike
    rc_of 1 import "$F/o.tar" -o plain.txt
    err_has "exists and is not a bundle"
    rc_of 1 export --plain-http "$ref" -o plain.txt
    err_has "exists and is not a bundle"
    # a bundle that is not there: 1
    for c in inspect verify; do rc_of 1 $c nothere.tar; done
    rc_of 1 split --size 1M nothere.tar
    rc_of 1 push --no-verify --plain-http nothere.tar "$PLAIN/$CASE"
    # damaged content: 4
    rc_of 4 verify bad.tar
    rc_of 4 push --no-verify --plain-http bad.tar "$PLAIN/$CASE-bad"
    rc_of 4 split --size 300K bad.tar -o bad-split.tar
    # a registry refusing the credentials (401): 5, not the usage code
    for c in digest tags; do
        rc_of 5 $c --ca-file "$CA" "$TLSREG/$CASE/x$([ $c = digest ] && echo :1)"
    done
    rc_of 5 export --ca-file "$CA" "$TLSREG/$CASE/x:1" -o e.tar
    rc_of 5 push --no-verify --ca-file "$CA" b.tar "$TLSREG/$CASE"
    # the table is in --help
    airlock --help
    out_has "5  authentication"
    out_has "130 interrupted"
}

case_json_on_failure_every_command() {
    make_bundle b.tar
    echo "not a bundle" >plain.txt
    local c
    # each command with --json on an input that fails: one JSON object, ok false, the exit
    # code and the error, on stdout
    while IFS='|' read -r want c; do
        [ -n "$c" ] || continue
        # shellcheck disable=SC2086
        airlock $c
        [ "$rc" = "$want" ] || fail "airlock $c: exit $rc, expected $want"
        jq -e . "$T/out" >/dev/null || fail "airlock $c: stdout is not JSON: $(head -c 300 "$T/out")"
        [ "$(jq -s length "$T/out")" = 1 ] || fail "airlock $c: more than one JSON document"
        jq -e ".ok == false and .exit == $want and (.error | type == \"object\" or type == \"string\")" \
            "$T/out" >/dev/null || fail "airlock $c: $(cat "$T/out")"
    done <<LIST
1|inspect --json nothere.tar
1|verify --json nothere.tar
4|verify --json plain.txt
1|import --json $F/o.tar -o plain.txt
1|split --json --size 1M nothere.tar
2|split --json b.tar
1|push --json --no-verify --plain-http nothere.tar $PLAIN/$CASE
1|export --json --plain-http $PLAIN/$CASE/nothere:1 -o e.tar
2|export --json
1|digest --json --plain-http $PLAIN/$CASE/nothere:1
1|tags --json --plain-http $PLAIN/$CASE/nothere
1|sign --json --key nothere.key b.tar
2|sync --json --key nothere.pub --to $PLAIN/$CASE nothere-inbox
2|pkcs11 --json --no-such-option
2|inspect --json --no-such-option
1|attest --json --key nothere.key --predicate nothere.json --type spdxjson b.tar
1|attestations --json nothere.tar
2|verify --json --attestation spdxjson b.tar
1|inventory --json --plain-http $PLAIN/$CASE -o have.json --repo nothere
2|export --json --have nothere.json --plain-http $PLAIN/$CASE/x:1 -o e.tar
2|version --json --no-such-option
LIST
    # success: the command's own object, with "ok": true
    airlock inspect --json b.tar
    expect_rc 0
    json '.ok == true'
    airlock version --json
    expect_rc 0
    json '.ok == true and (.libraries | length) > 5'
    # a failure after the command began its JSON: still one document
    airlock export --json --plain-http "$PLAIN/$CASE/nothere:1" --dry-run -o e.tar
    jq -e '.ok == false' "$T/out" >/dev/null || fail "dry-run failure: $(cat "$T/out")"
}

case_quiet_means_the_same_everywhere() {
    airlock import -q "$F/o.tar" --name example.com/q/busybox:1 -o b.tar
    expect_rc 0
    err_empty
    out_has "sha256:" # the result stays on stdout
    airlock split -q --size 300K b.tar -o s.tar
    expect_rc 0
    err_empty
    out_has "s.tar.001"
    airlock verify -q b.tar
    expect_rc 0
    err_empty
    airlock inspect -q b.tar
    expect_rc 0
    err_empty
    airlock push -q --no-verify --plain-http b.tar "$PLAIN/$CASE"
    expect_rc 0
    err_has "WARNING" # a decision is said even with -q
    out_has "sha256:"
    airlock export -q --plain-http "$PLAIN/$CASE/q/busybox:1" -o e.tar
    expect_rc 0
    err_empty
    out_has "sha256:"
    # errors stay with -q
    airlock verify -q nothere.tar
    expect_rc 1
    err_has "airlock: error:"
}

case_ctrl_c_push_keeps_what_went_up() {
    big_bundle big.tar 3 4
    # every blob PATCH/PUT body is slow: the push is still busy when the signal comes
    proxy '[{"method":"PATCH","nth":[5,6,7,8,9,10,11,12],"path":"/blobs/uploads/","action":"status","code":503,"retry_after":30}]'
    "$AIRLOCK" push --no-verify --plain-http --chunk-size 256K big.tar "$PROXY/$CASE" \
        >p.out 2>p.err &
    local pid=$!
    sleep 2
    kill -INT $pid || fail "the push ended before the signal: $(cat p.err)"
    local t0=$SECONDS
    wait $pid && rc=0 || rc=$?
    [ $((SECONDS - t0)) -le 5 ] || fail "the push took $((SECONDS - t0)) s to stop (a retry wait)"
    cp p.out "$T/out"
    cp p.err "$T/err"
    expect_rc 130
    err_has "airlock: interrupted; "
    err_has "run the same command again to continue"
    [ "$(grep -c interrupted p.err)" = 1 ] || fail "more than one line about the interruption"
    no_leftovers .
    airlock push --no-verify --plain-http big.tar "$PLAIN/$CASE"
    expect_rc 0
}

case_ctrl_c_sync_keeps_the_bundle_in_the_inbox() {
    export COSIGN_PASSWORD=test-password
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    proxy '[{"method":"PATCH","nth":[5],"path":"/blobs/uploads/","action":"status","code":503,"retry_after":30}]'
    mkdir inbox
    big_bundle inbox/big.tar 3 4
    "$AIRLOCK" sign --key cosign.key --to "$PROXY/$CASE" inbox/big.tar >/dev/null
    touch -d '-5 minutes' inbox/big.tar
    "$AIRLOCK" sync --key cosign.pub --to "$PROXY/$CASE" --plain-http --chunk-size 256K inbox \
        >y.out 2>y.err &
    local pid=$!
    sleep 2
    kill -INT $pid || fail "the sync ended before the signal: $(cat y.err)"
    wait $pid && rc=0 || rc=$?
    cp y.err "$T/err"
    expect_rc 130
    err_has "airlock: interrupted; the bundle being pushed stays in the inbox"
    [ -f inbox/big.tar ] || fail "the interrupted bundle left the inbox: $(ls -R inbox)"
    [ ! -e inbox/failed/big.tar ] || fail "the interrupted bundle was filed as failed"
    airlock sync --key cosign.pub --to "$PROXY/$CASE" --plain-http inbox
    expect_rc 0
    err_has "1 pushed, 0 failed"
}

case_ctrl_c_export_leaves_no_half_bundle() {
    big_bundle big.tar 2 4
    "$AIRLOCK" push -q --no-verify --plain-http big.tar "$PLAIN/$CASE" >/dev/null 2>&1 ||
        fail "setup push failed"
    proxy '[{"method":"GET","path":"/blobs/","action":"slow","rate":300000}]'
    "$AIRLOCK" export --plain-http "$PROXY/$CASE/big:1" -o e.tar >x.out 2>x.err &
    local pid=$!
    sleep 2
    kill -INT $pid
    wait $pid && rc=0 || rc=$?
    cp x.err "$T/err"
    expect_rc 130
    err_has "airlock: interrupted; 'e.tar' was not changed"
    [ ! -e e.tar ] || fail "e.tar was created by an interrupted export"
    airlock export --plain-http "$PLAIN/$CASE/big:1" -o e.tar
    expect_rc 0
    airlock verify e.tar
    expect_rc 0
    no_leftovers .
}

case_ctrl_c_split_removes_its_parts() {
    big_bundle big.tar 4 8
    "$AIRLOCK" split --size 4M big.tar -o s.tar >s.out 2>s.err &
    local pid=$!
    # as soon as the first part appears
    for _ in $(seq 1 100); do ls -A | grep -q '^s\.tar\|airlock' && break; sleep 0.02; done
    kill -INT $pid
    wait $pid && rc=0 || rc=$?
    cp s.err "$T/err"
    [ "$rc" = 0 ] && { echo "split finished before the signal: nothing to check"; return 0; }
    expect_rc 130
    err_has "airlock: interrupted; nothing half-written was left"
    ! ls s.tar.0* >/dev/null 2>&1 || fail "parts left: $(ls s.tar.0*)"
    no_leftovers .
    airlock split --size 4M big.tar -o s.tar
    expect_rc 0
}

# a small file system for the free space check (root: a private mount namespace)
in_small_fs() { # SCRIPT: runs it with $SMALL a 2 MiB tmpfs
    [ "$(id -u)" = 0 ] && command -v unshare >/dev/null ||
        { echo "skipped: needs root and unshare for a private tmpfs"; return 1; }
    mkdir -p small
    unshare -m bash -c "mount -t tmpfs -o size=2m tmpfs small && SMALL=$PWD/small && $1" \
        >"$T/out" 2>"$T/err"
    rc=$?
}

case_free_space_is_checked_first() {
    big_bundle big.tar 1 4
    "$AIRLOCK" push -q --no-verify --plain-http big.tar "$PLAIN/$CASE" >/dev/null 2>&1 ||
        fail "setup push failed"
    in_small_fs "'$AIRLOCK' export --plain-http '$PLAIN/$CASE/big:1' -o \$SMALL/e.tar; \
        echo rc=\$? >&2; ls -A \$SMALL >&2" || return 0
    err_has "rc=1"
    err_has "not enough free space"
    err_has "small"
    ! grep -q "e.tar\|airlock" <(sed -n '/^rc=/,$p' "$T/err" | tail -n +2) ||
        fail "something was created: $(cat "$T/err")"
    # a delta leaves out what the destination has: it is not asked room for it
    "$AIRLOCK" inventory -q --plain-http "$PLAIN/$CASE" -o have.json >/dev/null ||
        fail "inventory failed"
    in_small_fs "'$AIRLOCK' export -q --plain-http --have have.json '$PLAIN/$CASE/big:1' \
        -o \$SMALL/d.tar; echo rc=\$? >&2" || return 0
    err_has "rc=0"
    in_small_fs "'$AIRLOCK' split --size 1M big.tar -o \$SMALL/s.tar; echo rc=\$? >&2; \
        ls -A \$SMALL >&2" || return 0
    err_has "rc=1"
    err_has "not enough free space"
    ! grep -q "s.tar\|airlock" <(sed -n '/^rc=/,$p' "$T/err" | tail -n +2) ||
        fail "something was created: $(cat "$T/err")"
}

case_progress_bar_on_a_terminal_only() {
    big_bundle big.tar 2 2
    # under a pseudo-terminal: the bar, ending with the final counts
    "$PY" "$E2E_SRC/ptyrun.py" "$AIRLOCK" push --no-verify --plain-http big.tar "$PLAIN/$CASE" \
        >tty.log
    grep -q '\[#' tty.log || fail "no bar on a terminal: $(cat -v tty.log | head -c 500)"
    grep -qE '\[#+\] 3/3 blobs, .*manifests, in [0-9]+:' tty.log ||
        fail "the bar does not end with the final counts: $(cat -v tty.log | tail -c 500)"
    # not a terminal: only the summary
    airlock push --no-verify --plain-http big.tar "$PLAIN/$CASE-2"
    expect_rc 0
    ! grep -q $'\r\|\[#' "$T/err" || fail "a bar without a terminal"
    err_has "pushed 1 images"
    # the commands that write or check blobs without a registry draw the same bar
    local cmd
    for cmd in "import L -o again.tar" "split --size 1M big.tar -o s.tar" "verify big.tar"; do
        # shellcheck disable=SC2086
        "$PY" "$E2E_SRC/ptyrun.py" "$AIRLOCK" $cmd >tty.log
        grep -qE '\[#+\] [0-9]+/[0-9]+ blobs, .*(write|check) ' tty.log ||
            fail "$cmd: no bar on a terminal: $(cat -v tty.log | head -c 500)"
        grep -qE '\[#+\] ([0-9]+)/\1 blobs, [^,]*, [^,]*, in [0-9]+:' tty.log ||
            fail "$cmd: the bar does not end with the final counts: $(cat -v tty.log | tail -c 500)"
        # shellcheck disable=SC2086
        airlock $cmd
        expect_rc 0
        ! grep -q $'\r\|\[#' "$T/err" || fail "$cmd: a bar without a terminal"
    done
}

main "$@"
