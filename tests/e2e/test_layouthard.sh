# Hardening of bundles on disk (security review, issue 10): special files never block a
# reader, one lock per destination from the first read to the last rename, split sets that
# survive a kill at any point, bounded memory for streamed bundles, stale temporaries
# removed by the next run, and unreferenced blobs hashed too.
. "$(dirname "$0")/lib.sh"
F=$FIXTURES
export COSIGN_PASSWORD=test-password

# the syscalls a rename may use
RENAMES=rename,renameat,renameat2
# kill_at_rename N CMD...: runs CMD and kills it with SIGKILL on entry to its Nth rename
kill_at_rename() {
    local n=$1
    shift
    run timeout 60 strace -f -qq -o /dev/null -e trace=$RENAMES \
        -e inject=$RENAMES:signal=SIGKILL:when=$n "$@"
}
# hidden temporaries of airlock's own naming (".NAME.airlock-XXXXXX")
temps() { ls -A "${1:-.}" | grep -E '^\..*\.airlock-[A-Za-z0-9]{6}$' || true; }

# ---- 3: FIFOs and devices never block a reader ----------------------------------------------

case_fifo_layout_files_refused() {
    for f in index.json oci-layout; do
        rm -rf d
        make_bundle d/
        rm "d/$f"
        mkfifo "d/$f"
        for cmd in verify inspect; do
            run timeout 30 "$AIRLOCK" $cmd d
            [ "$rc" != 124 ] || fail "$cmd blocked on a FIFO named $f"
            expect_rc 4
            err_has "'d/$f': not a regular file"
        done
    done
}

case_fifo_blob_refused() {
    make_bundle d/
    blob=$(ls d/blobs/sha256 | head -1)
    rm "d/blobs/sha256/$blob"
    mkfifo "d/blobs/sha256/$blob"
    for cmd in verify inspect; do
        run timeout 30 "$AIRLOCK" $cmd d
        [ "$rc" != 124 ] || fail "$cmd blocked on a FIFO blob"
        expect_rc 4
        err_has "blobs/sha256/$blob': not a regular file"
    done
    if [ "$(id -u)" = 0 ]; then # a device in place of a blob
        rm "d/blobs/sha256/$blob"
        mknod "d/blobs/sha256/$blob" c 1 3
        run timeout 30 "$AIRLOCK" verify d
        expect_rc 4
        err_has "blobs/sha256/$blob': not a regular file"
    fi
}

case_fifo_bundle_path_refused() {
    mkfifo p p.tar p.tar.zst
    for path in p p.tar p.tar.zst; do
        for cmd in verify inspect; do
            run timeout 30 "$AIRLOCK" $cmd "$path"
            [ "$rc" != 124 ] || fail "$cmd blocked on the FIFO '$path'"
            expect_rc 4
            err_has "'$path': not a regular file or directory"
        done
    done
    # through a symbolic link too, and as an import's destination
    ln -s p l.tar
    run timeout 30 "$AIRLOCK" verify l.tar
    expect_rc 4
    run timeout 30 "$AIRLOCK" import -q "$F/o.tar" -o p.tar
    [ "$rc" != 124 ] || fail "import blocked on a FIFO destination"
    [ "$rc" != 0 ] || fail "import replaced a FIFO"
}

# sync over an inbox holding a FIFO bundle and a directory bundle with a FIFO index.json:
# neither blocks the run; the directory bundle fails naming the file (nothing is pushed: the
# registry address is a closed port)
case_fifo_in_sync_inbox_does_not_block() {
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    mkdir inbox
    make_bundle inbox/d.dir/
    rm inbox/d.dir/index.json
    mkfifo inbox/d.dir/index.json inbox/x.tar
    find inbox -exec touch -h -d '-5 minutes' {} +
    run timeout 30 "$AIRLOCK" sync --json --key cosign.pub --to 127.0.0.1:9/x --plain-http inbox
    [ "$rc" != 124 ] || fail "sync blocked on a FIFO"
    expect_rc 1
    json '[.bundles[] | select(.bundle == "d.dir")][0].status == "failed"'
    jq -e '.error | test("index.json.*not a regular file")' inbox/failed/d.dir.report.json >/dev/null ||
        fail "the report does not name the FIFO: $(cat inbox/failed/d.dir.report.json)"
}

# ---- 8: one lock from the first read to the last rename --------------------------------------

case_import_refused_while_destination_locked() {
    make_bundle b.tar
    sum=$(sha256sum b.tar)
    flock .b.tar.airlock-lock sleep 3 &
    holder=$!
    sleep 0.5
    run timeout 30 "$AIRLOCK" import -q "$F/multi" -o b.tar
    expect_rc 2
    err_has "another airlock is writing 'b.tar'"
    [ "$(sha256sum b.tar)" = "$sum" ] || fail "import changed a locked bundle"
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    run timeout 30 "$AIRLOCK" sign --key cosign.key b.tar
    expect_rc 2
    err_has "another airlock is writing 'b.tar'"
    [ "$(sha256sum b.tar)" = "$sum" ] || fail "sign changed a locked bundle"
    wait $holder
    airlock import -q "$F/multi" -o b.tar
    expect_rc 0
    [ ! -e .b.tar.airlock-lock ] || fail "lock file left behind"
}

# A sign and an import of the same .tar at once: neither is lost. Each either refuses (the
# other holds the lock) or its change is in the final bundle.
kinds() { tar xOf b.tar index.json | jq -r '[.manifests[].annotations.kind] | join(" ")'; }
case_sign_and_import_at_once_lose_nothing() {
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    for i in 1 2 3 4 5 6 7 8; do
        rm -f b.tar
        make_bundle b.tar
        ( "$AIRLOCK" sign --key cosign.key b.tar >/dev/null 2>sign.err; echo $? >sign.rc ) &
        s=$!
        ( "$AIRLOCK" import -q "$F/multi" -o b.tar 2>imp.err; echo $? >imp.rc ) &
        m=$!
        wait $s $m
        k=$(kinds)
        if [ "$(cat imp.rc)" = 0 ]; then
            [[ $k == *imageIndex* ]] || fail "run $i: the import is lost ($k)"
        else
            grep -q "another airlock is writing" imp.err || fail "run $i: import: $(cat imp.err)"
        fi
        if [ "$(cat sign.rc)" = 0 ]; then
            [[ $k == *sigs* ]] || fail "run $i: the signature is lost ($k)"
        else
            grep -q "another airlock is writing" sign.err || fail "run $i: sign: $(cat sign.err)"
        fi
        airlock verify b.tar
        expect_rc 0
    done
    no_leftovers .
}

# ---- 9: a split killed at any point leaves a whole set ----------------------------------------

# which set the parts beside b.tar make: "old", "new" or "broken"
set_state() {
    run timeout 30 "$AIRLOCK" verify --json b.tar.001
    [ "$rc" = 0 ] || { echo broken; return; }
    jq -r '.images | length' "$T/out"
}

# kill_at SYSCALLS N CMD...: runs CMD and kills it with SIGKILL on entry to its Nth call of
# one of SYSCALLS
# (NOLINK=1: link fails with EPERM, as on FAT media, so parts are moved aside instead)
kill_at() {
    local calls=$1 n=$2 nolink=()
    shift 2
    [ -z "${NOLINK:-}" ] || nolink=(-e trace=$calls,link,linkat -e inject=link,linkat:error=EPERM)
    run timeout 60 strace -f -qq -o /dev/null -e trace=$calls "${nolink[@]}" \
        -e inject=$calls:signal=SIGKILL:when=$n "$@"
}

# One round: the old set in place, a split into a new set killed at the Nth call of
# SYSCALLS; then a whole set must verify from any part, and the next run must finish cleanly.
split_killed_round() {
    rm -f b.tar.0* .b.tar.0*
    cp old.tar b.tar
    "$AIRLOCK" split -q --size 400K b.tar
    cp new.tar b.tar
    kill_at "$1" "$2" "$AIRLOCK" split -q --size 400K b.tar
    st=$(set_state)
    [ "$st" != broken ] || fail "killed at $1 #$2: no whole set ($(ls -A | tr '\n' ' '))"
    for p in b.tar.0*; do # any part named opens the same whole set
        run timeout 30 "$AIRLOCK" verify "$p"
        expect_rc 0
    done
    airlock split -q --size 400K b.tar
    expect_rc 0
    [ -z "$(temps)" ] || fail "temporaries left after a rerun: $(temps)"
    no_leftovers .
    [ "$(set_state)" = "$new" ] || fail "rerun after a kill at $1 #$2: not the new set"
    airlock verify --key cosign.pub b.tar.002
    expect_rc 0
}

case_split_killed_at_every_rename_keeps_a_set() {
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    make_bundle old.tar
    cp old.tar b.tar
    "$AIRLOCK" split -q --size 400K b.tar
    old=$(set_state)
    [ "$old" != broken ] || fail "the first split does not verify"
    # the new set has more images (and more parts)
    cp old.tar new.tar
    "$AIRLOCK" import -q "$F/multi" -o new.tar
    "$AIRLOCK" sign --key cosign.key new.tar >/dev/null
    cp new.tar b.tar
    "$AIRLOCK" split -q --size 400K b.tar
    new=$(set_state)
    [ "$new" != broken ] && [ "$new" != "$old" ] || fail "the sets do not differ"
    for n in 1 2 3 4 5 6 7 8 9; do
        split_killed_round rename,renameat,renameat2 $n
    done
    for n in 1 2 3 4 5; do
        split_killed_round link,linkat $n
    done
    for n in 1 2 3 4 5 6 7 8 9 10 11 12; do # without hard links: P moved aside, then replaced
        NOLINK=1 split_killed_round rename,renameat,renameat2 $n
    done
    for n in 1 2 3 4 5 6 7 8; do
        split_killed_round unlink,unlinkat $n
    done
}

# ---- 12: a small .tar.zst cannot make verify hold its inflated metadata ------------------------

# what airlock holds, not what a sanitizer build keeps of freed memory (ignored without ASan)
NOQUARANTINE=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0

case_streamed_metadata_memory_bounded() {
    make_bundle good.tar
    "$PY" "$E2E_SRC/mkbloat.py" good.tar bloat.tar 60 # 240 MiB of JSON-looking blobs
    zstd -q --rm -19 bloat.tar -o bloat.tar.zst
    [ "$(stat -c %s bloat.tar.zst)" -lt 3000000 ] || fail "bloat.tar.zst is not small"
    for cmd in verify inspect; do
        run /usr/bin/time -f '%M' -o rss timeout 60 env "ASAN_OPTIONS=$NOQUARANTINE" "$AIRLOCK" $cmd bloat.tar.zst
        expect_rc 0
        kb=$(tail -1 rss)
        [ "$kb" -lt 100000 ] || fail "$cmd held $kb kB for a $(stat -c %s bloat.tar.zst)-byte bundle"
    done
    airlock verify --json bloat.tar.zst
    expect_rc 0
    json '(.blobs.unreferenced | length) == 60'
    # what the walk needs is still there: the image verifies and imports
    airlock import -q bloat.tar.zst -o back.tar
    expect_rc 0
    airlock verify back.tar
    expect_rc 0
}

# The same with the bloat first: the referenced manifests, configs and signatures are found
# by a later pass, and a signed bundle still verifies with its key.
case_streamed_metadata_found_after_bloat() {
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    make_bundle good.tar
    "$AIRLOCK" import -q "$F/multi" -o good.tar
    "$AIRLOCK" sign --key cosign.key good.tar >/dev/null
    "$PY" "$E2E_SRC/mkbloat.py" good.tar bloat.tar 40 first
    zstd -q --rm -19 bloat.tar -o bloat.tar.zst
    run /usr/bin/time -f '%M' -o rss timeout 60 env "ASAN_OPTIONS=$NOQUARANTINE" "$AIRLOCK" verify --key cosign.pub bloat.tar.zst
    expect_rc 0
    kb=$(tail -1 rss)
    [ "$kb" -lt 100000 ] || fail "verify held $kb kB"
    airlock inspect --json bloat.tar.zst
    expect_rc 0
    json '(.images | length) >= 2'
    airlock import -q bloat.tar.zst -o back.tar
    expect_rc 0
    airlock verify --key cosign.pub back.tar
    expect_rc 0
}

# ---- 13: stale temporaries are removed by the next run ----------------------------------------

case_killed_import_temporary_removed_by_rerun() {
    for dest in b.tar b.tar.zst d/; do
        make_bundle "$dest"
        kill_at_rename 1 "$AIRLOCK" import -q "$F/multi" -o "$dest"
        [ -n "$(temps)" ] || fail "$dest: the kill left no temporary (test is not testing)"
        airlock import -q "$F/multi" -o "$dest"
        expect_rc 0
        [ -z "$(temps)" ] || fail "$dest: stale temporaries after a rerun: $(temps)"
        airlock verify "$dest"
        expect_rc 0
    done
    no_leftovers .
}

case_stale_temporary_kept_while_locked_and_partial_kept() {
    make_bundle b.tar
    head -c 1000 /dev/zero > .b.tar.airlock-Ab12Cd
    mkdir .b.tar.airlock-partial # resumable: never removed by import
    flock .b.tar.airlock-lock sleep 3 &
    holder=$!
    sleep 0.5
    airlock import -q "$F/multi" -o b.tar
    expect_rc 2
    [ -e .b.tar.airlock-Ab12Cd ] || fail "a temporary of a live run was removed"
    wait $holder
    # someone else's name or kind is left alone
    head -c 10 /dev/zero > .b.tar.airlock-notours
    head -c 10 /dev/zero > .c.tar.airlock-Ab12Cd
    airlock import -q "$F/multi" -o b.tar
    expect_rc 0
    [ ! -e .b.tar.airlock-Ab12Cd ] || fail "stale temporary not removed"
    [ -d .b.tar.airlock-partial ] || fail "resumable partial removed"
    [ -e .b.tar.airlock-notours ] && [ -e .c.tar.airlock-Ab12Cd ] || fail "removed what is not ours"
}

case_killed_split_temporaries_removed_by_rerun() {
    make_bundle b.tar
    "$AIRLOCK" import -q "$F/multi" -o b.tar
    kill_at_rename 1 "$AIRLOCK" split -q --size 400K b.tar
    [ -n "$(temps)" ] || fail "the kill left no temporary (test is not testing)"
    airlock split -q --size 400K b.tar
    expect_rc 0
    [ -z "$(temps)" ] || fail "stale temporaries after a rerun: $(temps)"
    no_leftovers .
    airlock verify b.tar.001
    expect_rc 0
}

# ---- 14: unreferenced blobs are hashed too ----------------------------------------------------

case_unreferenced_blob_content_mismatch_fails() {
    make_bundle base.tar
    mkdir x.d
    tar -C x.d -xf base.tar
    echo "something else" > x.d/blobs/sha256/$(echo "named content" | sha256sum | cut -d' ' -f1)
    bad=sha256:$(echo "named content" | sha256sum | cut -d' ' -f1)
    tar -C x.d -cf x.tar oci-layout index.json blobs
    tar -C x.d -cf - oci-layout index.json blobs | zstd -q -o x.tar.zst
    for target in x.d x.tar x.tar.zst; do
        airlock verify --json "$target"
        expect_rc 4
        json ".blobs.corrupt == [\"$bad\"]"
        json ".blobs.unreferenced == [\"$bad\"]"
        airlock verify "$target"
        expect_rc 4
        err_has "blob '$bad' is corrupt (content hashes to 'sha256:"
    done
    # a matching unreferenced blob is only listed
    rm x.d/blobs/sha256/*"${bad#sha256:}"
    echo "named content" > x.d/blobs/sha256/${bad#sha256:}
    airlock verify --json x.d
    expect_rc 0
    json ".blobs.unreferenced == [\"$bad\"] and .blobs.corrupt == []"
}

main "$@"
