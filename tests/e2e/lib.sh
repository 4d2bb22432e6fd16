# Shared helpers for the end-to-end cases. Each test_*.sh defines case_<name> functions;
# ctest runs "bash test_x.sh <name>". stdout and stderr of airlock are captured separately.
set -euo pipefail
: "${AIRLOCK:?AIRLOCK must point at the airlock binary}"
: "${FIXTURES:?}" "${E2E_TMP:?}" "${E2E_SRC:?}"
mkdir -p "$E2E_TMP"
T=$(mktemp -d "$E2E_TMP/case.XXXXXX")
cleanup() { [ -n "${KEEP_E2E:-}" ] && return 0; chmod -R u+w "$T" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

fail() {
    echo "FAIL: $*" >&2
    echo "--- stdout" >&2
    cat "$T/out" >&2 2>/dev/null || true
    echo "--- stderr" >&2
    cat "$T/err" >&2 2>/dev/null || true
    exit 1
}

# run CMD...: runs it, keeping stdout in $T/out, stderr in $T/err, exit code in $rc.
run() {
    set +e
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    set -e
}
airlock() { run "$AIRLOCK" "$@"; }
expect_rc() { [ "$rc" = "$1" ] || fail "expected exit code $1, got $rc (line ${BASH_LINENO[0]})"; }
out_has() { grep -qF -- "$1" "$T/out" || fail "stdout lacks '$1'"; }
err_has() { grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1'"; }
out_lacks() { ! grep -qF -- "$1" "$T/out" || fail "stdout has '$1'"; }
err_empty() { [ ! -s "$T/err" ] || fail "stderr is not empty"; }
out_empty() { [ ! -s "$T/out" ] || fail "stdout is not empty"; }
json() { jq -e "$1" "$T/out" >/dev/null || fail "stdout JSON fails: $1"; }
# no temporary or partial output beside a path
no_leftovers() { ! ls -A "$1" | grep >/dev/null 'airlock-' || fail "temporary files left in $1"; }

# A fresh bundle of the fixture image, in the form given by its path.
make_bundle() {
    "$AIRLOCK" import -q --name example.com/test/busybox:1.0 "$FIXTURES/o.tar" -o "$1"
}

# proxy RULES_JSON: faultproxy.py in front of the plain registry (RULES_JSON written to
# rules.json, each request logged in proxy.log), $PROXY its host:port; stopped when the case
# ends
proxy() {
    printf '%s\n' "$1" >rules.json
    local port
    port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$PY" "$E2E_SRC/faultproxy.py" "$port" "$PLAIN" rules.json proxy.log 2>proxy.err &
    PROXY_PID=$!
    trap 'kill $PROXY_PID 2>/dev/null; cleanup' EXIT
    for _ in $(seq 1 50); do
        curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break
        sleep 0.1
    done
    PROXY=127.0.0.1:$port
}

main() {
    local name=${1:?case name}
    declare -F "case_$name" >/dev/null || { echo "no case '$name'" >&2; exit 2; }
    cd "$T"
    "case_$name"
    echo "ok: $name"
}
