#!/usr/bin/env bash
# airlock benchmarks. Run by hand, not by the tests: it makes its own data (random layers, so
# nothing compresses), runs each measurement several times and prints medians.
#
#   bench/bench.sh [--size-mb N] [--runs N] [--work DIR]
#
# verify: a bundle of four layers of N/4 MB each, as .tar, .tar.zst and a directory; wall time
# against single-core `openssl dgst -sha256` over the same bytes, peak RSS, and a flipped
# byte in each blob of the .tar must give exit code 4.
# sign: the time to sign that .tar (it appends; the time must not depend on the bundle).
# BENCH=verify or BENCH=sign runs one part.
set -euo pipefail
SIZE_MB=1024
RUNS=3
WORK=${TMPDIR:-/var/tmp}/airlock-bench
while [ $# -gt 0 ]; do
    case $1 in
    --size-mb) SIZE_MB=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    *) echo "usage: bench/bench.sh [--size-mb N] [--runs N] [--work DIR]" >&2; exit 2 ;;
    esac
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
AIRLOCK=${AIRLOCK:-$ROOT/build/cli/airlock}
if [ ! -x "$AIRLOCK" ]; then
    cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$ROOT/build" -j"$(nproc)" >/dev/null
fi
mkdir -p "$WORK"
cd "$WORK"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# timed CMD...: prints "seconds maxrss_kib" for one run (exit code in $TIMED_RC)
timed() {
    set +e
    /usr/bin/time -f "%e %M" -o time.out "$@" >/dev/null 2>cmd.err
    TIMED_RC=$?
    set -e
    cat time.out
}

make_data() {
    [ -f "data-$SIZE_MB/done" ] && return
    rm -rf "data-$SIZE_MB"
    mkdir -p "data-$SIZE_MB/L/blobs/sha256"
    local per=$((SIZE_MB / 4))
    /usr/bin/python3 - "data-$SIZE_MB/L" "$per" <<'PY'
import hashlib, json, os, sys
root, per = sys.argv[1], int(sys.argv[2])
def blob(d):
    h = hashlib.sha256(d).hexdigest()
    open(f"{root}/blobs/sha256/{h}", "wb").write(d)
    return "sha256:" + h
layers = []
for i in range(4):
    d = os.urandom(per << 20)
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": blob(d), "size": len(d)})
cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}}).encode()
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": blob(cfg), "size": len(cfg)},
    "layers": layers}).encode()
md = blob(man)
open(f"{root}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
open(f"{root}/index.json", "w").write(json.dumps({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(man), "annotations": {"org.opencontainers.image.ref.name": "example.com/bench:1"}}]}))
PY
    "$AIRLOCK" import -q "data-$SIZE_MB/L" -o "data-$SIZE_MB/b.tar"
    "$AIRLOCK" import -q "data-$SIZE_MB/L" -o "data-$SIZE_MB/b.tar.zst"
    "$AIRLOCK" import -q "data-$SIZE_MB/L" -o "data-$SIZE_MB/b.dir/"
    touch "data-$SIZE_MB/done"
}

row() { printf '%-44s %10s %10s %12s\n' "$@"; }

bench_verify() {
    make_data
    local d=data-$SIZE_MB
    cat "$d/b.tar" "$d/b.tar.zst" > /dev/null # file cache
    local base
    base=$(for _ in $(seq "$RUNS"); do timed openssl dgst -sha256 "$d/b.tar" | cut -d' ' -f1; done | median)
    local zbase
    zbase=$(for _ in $(seq "$RUNS"); do
        timed bash -c "zstd -dc '$d/b.tar.zst' | openssl dgst -sha256" | cut -d' ' -f1; done | median)
    local mb
    mb=$(( $(stat -c %s "$d/b.tar") / 1000000 ))
    echo "verify, $mb MB bundle, 4 layers, $(nproc) cores, median of $RUNS runs"
    row "work" "seconds" "MB/s" "peak RSS"
    row "openssl dgst -sha256 b.tar (1 core)" "$base" "$(echo "$mb / $base" | bc)" "-"
    row "zstd -dc b.tar.zst | openssl dgst" "$zbase" "$(echo "$mb / $zbase" | bc)" "-"
    for form in b.tar b.tar.zst b.dir; do
        local times="" rss=0
        for _ in $(seq "$RUNS"); do
            timed "$AIRLOCK" verify -q "$d/$form" >/dev/null
            read -r t m < time.out
            [ "$TIMED_RC" = 0 ] || { echo "verify $form failed: $(cat cmd.err)" >&2; exit 1; }
            times+="$t"$'\n'
            [ "$m" -gt "$rss" ] && rss=$m
        done
        local t
        t=$(printf '%s' "$times" | median)
        row "airlock verify $form" "$t" "$(echo "$mb / $t" | bc)" "$((rss / 1024)) MiB"
    done
    echo
    echo "flipped byte in each blob of $d/b.tar:"
    /usr/bin/python3 - "$d/b.tar" > offsets <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    for m in t.getmembers():
        if m.isfile() and m.name.startswith("blobs/sha256/"):
            print(m.name[13:], m.offset_data + m.size // 2)
PY
    while read -r blob off; do
        orig=$(dd if="$d/b.tar" bs=1 skip="$off" count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
        printf "\\x$(printf %02x $(((orig + 1) % 256)))" | dd of="$d/b.tar" bs=1 seek="$off" conv=notrunc 2>/dev/null
        set +e
        "$AIRLOCK" verify -q "$d/b.tar"
        rc=$?
        set -e
        printf "\\x$(printf %02x "$orig")" | dd of="$d/b.tar" bs=1 seek="$off" conv=notrunc 2>/dev/null
        echo "  blob ${blob:0:12}: exit $rc $([ $rc = 4 ] && echo '(caught)' || echo '(MISSED)')"
    done < offsets
}

# sign: time and bytes appended for signing the 1 GB tar (scrypt included), with a new key
# each run so that every run really adds a signature
bench_sign() {
    make_data
    local d=data-$SIZE_MB
    export COSIGN_PASSWORD=bench
    local times=""
    local before after
    before=$(stat -c %s "$d/b.tar")
    for i in $(seq "$RUNS"); do
        rm -f k$i.key k$i.pub
        "$AIRLOCK" keygen --output-key-prefix k$i 2>/dev/null
        timed "$AIRLOCK" sign --key k$i.key "$d/b.tar" >/dev/null
        [ "$TIMED_RC" = 0 ] || { echo "sign failed: $(cat cmd.err)" >&2; exit 1; }
        read -r t m < time.out
        times+="$t"$'\n'
    done
    after=$(stat -c %s "$d/b.tar")
    echo
    echo "sign, $(( before / 1000000 )) MB tar bundle, median of $RUNS runs (scrypt N=65536 included)"
    row "work" "seconds" "appended" ""
    row "airlock sign b.tar" "$(printf '%s' "$times" | median)" "$(( (after - before) / RUNS )) B/run" ""
    "$AIRLOCK" verify -q --key k1.pub "$d/b.tar" && echo "  verify --key after signing: ok"
}

case ${BENCH:-all} in
verify) bench_verify ;;
sign) bench_sign ;;
*) bench_verify; bench_sign ;;
esac
