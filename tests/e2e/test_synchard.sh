# sync against a hostile inbox: whoever fills it (a stick's cp -a) may plant symbolic links,
# FIFOs and devices where sync keeps its own files, and the config file must be checked
# member by member. Runs against the plain registry of the ctest fixture (registry_up.sh).
. "$(dirname "$0")/lib.sh"
F=$FIXTURES
. "$REGROOT/env"
export COSIGN_PASSWORD=test-password
CASE=$(basename "$T" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9')

keys() { "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null; }
# signed NAME IN: a signed bundle IN/NAME of the fixture image, settled
signed() {
    "$AIRLOCK" import -q --name "example.com/$CASE/${1%%.*}:1" "$F/o.tar" -o "$2/$1"
    "$AIRLOCK" sign --key cosign.key --to "$PLAIN/$CASE" "$2/$1" >/dev/null
    touch -h -d '-5 minutes' "$2/$1"
}
# an unsigned (so failing) bundle, settled
unsigned() {
    "$AIRLOCK" import -q --name "example.com/$CASE/${1%%.*}:1" "$F/o.tar" -o "$2/$1"
    touch -d '-5 minutes' "$2/$1"
}
sync_plain() { run timeout 30 "$AIRLOCK" sync --key cosign.pub --to "$PLAIN/$CASE" --plain-http "$@"; }
# victim DIR: a directory outside the inbox with an old file, a fresh one and a subdirectory
victim() {
    mkdir -p "$1/sub"
    echo keep > "$1/old" && echo keep > "$1/sub/old" && echo keep > "$1/new"
    touch -d '-100 days' "$1/old" "$1/sub/old" "$1/sub"
}
victim_intact() {
    [ "$(cat "$1/old" "$1/sub/old" "$1/new" 2>/dev/null)" = "$(printf 'keep\nkeep\nkeep')" ] ||
        fail "a file outside the inbox was touched: $(ls -lR "$1")"
    [ "$(find "$1" | wc -l)" = 5 ] || fail "a file appeared outside the inbox: $(ls -lR "$1")"
}

# ---- item 2: symbolic links where sync keeps its own files ------------------------------------
case_symlinked_failed_dir() {
    keys
    mkdir inbox && victim outside
    ln -s ../outside inbox/failed
    unsigned bad.tar inbox
    sync_plain inbox
    expect_rc 4
    err_has "failed"
    err_has "symbolic link"
    victim_intact outside
    [ -f inbox/bad.tar ] || fail "the bundle was moved"
}

case_symlinked_done_dir_keepdays() {
    keys
    mkdir inbox && victim outside
    ln -s ../outside inbox/done
    cat > sync.json <<EOC
{"inbox": "$PWD/inbox", "settleSeconds": 0, "keepDays": 1,
 "rules": [{"to": "$PLAIN/$CASE", "keys": ["$PWD/cosign.pub"], "registry": {"plainHttp": true}}]}
EOC
    run timeout 30 "$AIRLOCK" sync --config sync.json
    expect_rc 4
    err_has "done"
    err_has "symbolic link"
    victim_intact outside
}

# keepDays inside a real done/: old entries go, but a symlink in it is removed as a link,
# never followed, and a directory's symlinks are not followed either
case_keepdays_never_follows_links() {
    keys
    mkdir -p inbox/done/olddir && victim outside
    echo x > inbox/done/old.tar && echo x > inbox/done/new.tar
    ln -s ../../outside inbox/done/olddir/link
    ln -s ../outside/old inbox/done/oldlink
    ln -s ../outside inbox/done/olddirlink
    touch -d '-3 days' inbox/done/old.tar inbox/done/olddir
    touch -h -d '-3 days' inbox/done/oldlink inbox/done/olddirlink inbox/done/olddir/link
    cat > sync.json <<EOC
{"inbox": "$PWD/inbox", "settleSeconds": 0, "keepDays": 1,
 "rules": [{"to": "$PLAIN/$CASE", "keys": ["$PWD/cosign.pub"], "registry": {"plainHttp": true}}]}
EOC
    run timeout 30 "$AIRLOCK" sync --config sync.json
    expect_rc 0
    victim_intact outside
    [ ! -e inbox/done/old.tar ] && [ ! -e inbox/done/olddir ] || fail "old entries were kept"
    [ ! -L inbox/done/oldlink ] && [ ! -L inbox/done/olddirlink ] || fail "old links were kept"
    [ -f inbox/done/new.tar ] || fail "a new entry was removed"
}

case_symlinked_audit_log() {
    keys
    mkdir inbox && echo keep > victim.txt
    ln -s ../victim.txt inbox/airlock-audit.log
    unsigned bad.tar inbox
    sync_plain inbox
    expect_rc 4
    err_has "airlock-audit.log"
    err_has "symbolic link"
    [ "$(cat victim.txt)" = keep ] || fail "the audit log's link target was appended to"
    [ -f inbox/bad.tar ] || fail "the bundle was handled without an audit log"
}

case_symlinked_lock() {
    keys
    mkdir inbox
    ln -s ../created-by-sync inbox/.airlock-sync.lock
    unsigned bad.tar inbox
    sync_plain inbox
    expect_rc 4
    err_has ".airlock-sync.lock"
    err_has "symbolic link"
    [ ! -e created-by-sync ] || fail "the lock's link target was created"
}

case_symlinked_report() {
    keys
    mkdir inbox && echo keep > victim.txt
    ln -s victim.txt run.json
    cat > sync.json <<EOC
{"inbox": "$PWD/inbox", "settleSeconds": 0, "report": "$PWD/run.json",
 "rules": [{"to": "$PLAIN/$CASE", "keys": ["$PWD/cosign.pub"], "registry": {"plainHttp": true}}]}
EOC
    # a stale temporary name planted as a link must not be written through either
    ln -s victim.txt run.json.tmp
    run timeout 30 "$AIRLOCK" sync --config sync.json
    expect_rc 4
    err_has "run.json"
    err_has "symbolic link"
    [ "$(cat victim.txt)" = keep ] || fail "the report's link target was written"
    # a report that is a real file is replaced; the planted .tmp link is not followed
    rm run.json
    run timeout 30 "$AIRLOCK" sync --config sync.json
    expect_rc 0
    jq -e '.pushed == 0' run.json >/dev/null || fail "no report"
    [ "$(cat victim.txt)" = keep ] || fail "the report's temporary link was written through"
}

# a hard link is as bad as a symbolic one for a file sync writes into: the lock is truncated
# (its record) and the audit log appended to
case_hardlinked_lock_and_log() {
    keys
    mkdir inbox && echo keep > victim.txt
    ln victim.txt inbox/.airlock-sync.lock
    unsigned bad.tar inbox
    sync_plain inbox
    expect_rc 4
    err_has ".airlock-sync.lock"
    err_has "hard link"
    [ "$(cat victim.txt)" = keep ] || fail "the lock's other name was written"
    rm inbox/.airlock-sync.lock
    ln victim.txt inbox/airlock-audit.log
    sync_plain inbox
    expect_rc 4
    err_has "airlock-audit.log"
    [ "$(cat victim.txt)" = keep ] || fail "the audit log's other name was appended to"
    [ -f inbox/bad.tar ] || fail "the bundle was handled without an audit log"
}

# per-bundle reports in done/ and failed/: a planted NAME.report.json link is not followed
case_planted_report_link_in_failed() {
    keys
    mkdir -p inbox/failed && echo keep > victim.txt
    ln -s ../../victim.txt inbox/failed/bad.tar.report.json
    ln -s ../../victim.txt inbox/failed/bad.tar.report.json.tmp
    unsigned bad.tar inbox
    sync_plain inbox
    expect_rc 1
    [ "$(cat victim.txt)" = keep ] || fail "a report was written through a planted link"
    [ -f inbox/failed/bad.tar ] || fail "the bundle is not in failed/"
}

# a bundle that is itself a symbolic link (to a file or a directory bundle outside the inbox)
# is not followed: skipped with a reason, left where it is, nothing pushed
case_symlinked_bundle_skipped() {
    keys
    mkdir inbox elsewhere
    signed evil.tar elsewhere
    "$AIRLOCK" import -q --name "example.com/$CASE/evildir:1" "$F/o.tar" -o elsewhere/evildir/
    "$AIRLOCK" sign --key cosign.key elsewhere/evildir >/dev/null
    ln -s ../elsewhere/evil.tar inbox/evil.tar
    ln -s ../elsewhere/evildir inbox/evildir
    ln -s ../elsewhere/evil.tar inbox/evilset.tar.001
    touch -h -d '-5 minutes' inbox/evil.tar inbox/evildir inbox/evilset.tar.001
    sync_plain --json inbox
    expect_rc 0
    json '.pushed == 0 and .skipped == 3'
    json '[.bundles[] | select(.bundle == "evil.tar")][0].reason | test("symbolic link")'
    json '[.bundles[] | select(.bundle == "evildir")][0].status == "skipped"'
    json '[.bundles[] | select(.bundle == "evilset.tar")][0].status == "skipped"'
    [ -L inbox/evil.tar ] && [ -f elsewhere/evil.tar ] && [ -d elsewhere/evildir ] ||
        fail "a link or its target was moved"
    skopeo inspect --tls-verify=false "docker://$PLAIN/$CASE/evil:1" >/dev/null 2>&1 &&
        fail "a bundle was pushed through a symbolic link"
    true
}

# ---- item 3: FIFOs, devices and sockets in the inbox; a lock held too long -------------------
case_fifo_entries_do_not_block() {
    keys
    mkdir inbox
    mkfifo inbox/pipe.tar inbox/pset.tar.001
    "$PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' inbox/sock.tar
    signed good.tar inbox
    touch -h -d '-5 minutes' inbox/pipe.tar inbox/pset.tar.001 inbox/sock.tar
    sync_plain --json inbox
    [ "$rc" != 124 ] || fail "sync hung on a FIFO"
    expect_rc 0
    json '.pushed == 1 and .skipped == 3'
    json '[.bundles[] | select(.bundle == "pipe.tar")][0].reason | test("not a regular file or directory")'
    json '[.bundles[] | select(.bundle == "sock.tar")][0].status == "skipped"'
    json '[.bundles[] | select(.bundle == "pset.tar")][0].status == "skipped"'
    [ -p inbox/pipe.tar ] || fail "the FIFO was moved"
}

# a lock held longer than any run can take is an error naming the lock and its holder
case_lock_held_too_long() {
    keys
    mkdir inbox
    signed one.tar inbox
    printf 'pid 4242\nstarted %s\nhost elsewhere\n' $(( $(date +%s) - 7 * 3600 )) > inbox/.airlock-sync.lock
    # this shell holds the lock (fd 9) as a hung run would; released by closing it
    exec 9<>inbox/.airlock-sync.lock
    flock -n 9 || fail "could not take the lock"
    sync_plain inbox
    expect_rc 1
    err_has ".airlock-sync.lock"
    err_has "pid 4242 on elsewhere"
    [ -f inbox/one.tar ] || fail "moved by a run without the lock"
    jq -e 'select(.event == "lock-stale")' inbox/airlock-audit.log >/dev/null ||
        fail "no lock-stale event in the audit log"
    # with a shorter configured limit: a lock with no holder recorded is judged by its age
    : > inbox/.airlock-sync.lock
    cat > sync.json <<EOC
{"inbox": "$PWD/inbox", "lockTimeoutSeconds": 1,
 "rules": [{"to": "$PLAIN/$CASE", "keys": ["$PWD/cosign.pub"], "registry": {"plainHttp": true}}]}
EOC
    sleep 2.2
    run timeout 30 "$AIRLOCK" sync --config sync.json --json
    expect_rc 1
    err_has ".airlock-sync.lock"
    err_has "lockTimeoutSeconds"
    json '.busy == true and .lockStale == true'
    # a lock held for less than the limit: the old quiet answer, exit 0
    cat > sync.json <<EOC
{"inbox": "$PWD/inbox", "lockTimeoutSeconds": 3600,
 "rules": [{"to": "$PLAIN/$CASE", "keys": ["$PWD/cosign.pub"], "registry": {"plainHttp": true}}]}
EOC
    run timeout 30 "$AIRLOCK" sync --config sync.json
    expect_rc 0
    err_has "another run holds the inbox"
    exec 9>&-
    # the run that takes the lock records who holds it
    sync_plain inbox
    expect_rc 0
    grep -q "^pid [0-9]" inbox/.airlock-sync.lock && grep -q "^started [0-9]" inbox/.airlock-sync.lock ||
        fail "the lock does not name its holder: $(cat inbox/.airlock-sync.lock)"
}

# ---- item 11: every member of the config checked for its type; unknown members named ---------
bad_config() { # JSON WORDS...: exit 2 naming the file and each word
    local js=$1
    shift
    printf '%s\n' "$js" > bad.json
    run timeout 30 "$AIRLOCK" sync --config bad.json
    [ "$rc" = 2 ] || fail "config $js: expected exit code 2, got $rc"
    grep -qF "bad.json" "$T/err" || fail "config $js: the error does not name the file"
    for w in "$@"; do
        grep -qF -- "$w" "$T/err" || fail "config $js: the error lacks '$w'"
    done
}

case_config_member_types() {
    keys
    mkdir inbox
    local K="\"keys\": [\"$PWD/cosign.pub\"]" R="\"to\": \"$PLAIN/$CASE\""
    local I="\"inbox\": \"$PWD/inbox\""
    bad_config "{$I, \"rules\": [{$R, $K, \"annotations\": [\"env=prod\"]}]}" "rule 1" '"annotations"'
    bad_config "{$I, \"rules\": [{$R, $K}, {$R, $K, \"annotations\": {\"env\": 1}}]}" "rule 2" '"annotations"' '"env"'
    bad_config "{$I, \"keepdays\": 3, \"rules\": [{$R, $K}]}" '"keepdays"' "unknown"
    bad_config "{$I, \"rules\": [{$R, $K, \"mach\": \"*\"}]}" "rule 1" '"mach"' "unknown"
    bad_config "{$I, \"rules\": [{$R, $K, \"registry\": {\"plainHTTP\": true}}]}" "rule 1" '"plainHTTP"' "unknown"
    bad_config "{\"inbox\": 5, \"rules\": [{$R, $K}]}" '"inbox"'
    bad_config "{$I, \"done\": [], \"rules\": [{$R, $K}]}" '"done"'
    bad_config "{$I, \"settleSeconds\": \"30\", \"rules\": [{$R, $K}]}" '"settleSeconds"'
    bad_config "{$I, \"settleSeconds\": -1, \"rules\": [{$R, $K}]}" '"settleSeconds"'
    bad_config "{$I, \"keepDays\": 1.5, \"rules\": [{$R, $K}]}" '"keepDays"'
    bad_config "{$I, \"keepDays\": 1e30, \"rules\": [{$R, $K}]}" '"keepDays"'
    bad_config "{$I, \"lockTimeoutSeconds\": 0, \"rules\": [{$R, $K}]}" '"lockTimeoutSeconds"'
    bad_config "{$I, \"rules\": [\"x\"]}" "rule 1"
    bad_config "{$I, \"rules\": {}}" '"rules"'
    bad_config "{$I, \"rules\": [{$R, \"keys\": \"$PWD/cosign.pub\"}]}" "rule 1" '"keys"'
    bad_config "{$I, \"rules\": [{$R, \"keys\": [1]}]}" "rule 1" '"keys"'
    bad_config "{$I, \"rules\": [{\"to\": 1, $K}]}" "rule 1" '"to"'
    bad_config "{$I, \"rules\": [{$R, $K, \"match\": 1}]}" "rule 1" '"match"'
    bad_config "{$I, \"rules\": [{$R, $K, \"identity\": true}]}" "rule 1" '"identity"'
    bad_config "{$I, \"rules\": [{$R, $K, \"map\": [\"a=b\"]}]}" "rule 1" '"map"'
    bad_config "{$I, \"rules\": [{$R, $K, \"map\": {\"a\": null}}]}" "rule 1" '"map"' '"a"'
    bad_config "{$I, \"rules\": [{$R, $K, \"registry\": \"plain\"}]}" "rule 1" '"registry"'
    bad_config "{$I, \"rules\": [{$R, $K, \"registry\": {\"plainHttp\": \"true\"}}]}" "rule 1" '"plainHttp"'
    bad_config "{$I, \"rules\": [{$R, $K, \"registry\": {\"parallel\": 0}}]}" "rule 1" '"parallel"'
    bad_config "{$I, \"rules\": [{$R, $K, \"registry\": {\"retries\": 1000}}]}" "rule 1" '"retries"'
    bad_config "{$I, \"rules\": [{$R, $K, \"registry\": {\"caFile\": 7}}]}" "rule 1" '"caFile"'
    bad_config "{$I, \"inbox\": \"$PWD/x\", \"rules\": [{$R, $K}]}" '"inbox"' "twice"
    # a good config with every member still loads and runs
    cat > good.json <<EOC
{"inbox": "$PWD/inbox", "done": "$PWD/inbox/done", "failed": "$PWD/inbox/failed",
 "settleSeconds": 0, "keepDays": 0, "lockTimeoutSeconds": 60, "report": "$PWD/run.json",
 "auditLog": "$PWD/audit.log",
 "rules": [{"match": "*", "to": "$PLAIN/$CASE", "keys": ["$PWD/cosign.pub"], "identity": "x",
            "annotations": {"env": "prod"}, "map": {"a": "b"},
            "registry": {"plainHttp": true, "insecure": false, "parallel": 2, "retries": 3}}]}
EOC
    run timeout 30 "$AIRLOCK" sync --config good.json
    expect_rc 0
}
main "$@"
