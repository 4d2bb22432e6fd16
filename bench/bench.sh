#!/usr/bin/env bash
# airlock benchmarks. Run by hand, not by the tests: it makes its own data (random layers, so
# nothing compresses), runs each measurement several times and prints medians.
#
#   bench/bench.sh [--size-mb N] [--big-mb N] [--runs N] [--work DIR]
#
# verify: a bundle of four layers of N/4 MB each, as .tar, .tar.zst and a directory; wall time
# against single-core `openssl dgst -sha256` over the same bytes, peak RSS, and a flipped
# byte in each blob of the .tar must give exit code 4; a bundle of one N MB layer; and a
# directory bundle of --big-mb (10 GiB; 0 skips it) whose peak RSS must equal the small one's.
# sign: the time to sign that .tar (it appends; the time must not depend on the bundle).
# transfer: a 200 MB image of two random layers through a local Distribution registry:
# airlock export / push / second push against skopeo copy of the same image, wall time and
# peak RSS, and what each leaves in TMPDIR.
# split: the media bar: that 1 GB bundle cut for 300 MB media, each part verified alone, and
# each part deleted in turn must be named by verify.
# sets: image sets of 50, 200 and 500 small images (3 layers, a shared 1 MiB base; SET_SIZES
# to choose) through a local registry: airlock export --set, verify, sign, split, push, and the
# no-op re-push, side by side with skopeo sync (yaml -> dir, dir -> docker, again) and a
# skopeo copy loop over the same images; one run each (the sizes are the repetition), with
# the ratio skopeo / airlock and seconds per image to show the growth.
# delta: see bench_delta (a monthly update of a 200-image set: delta bundle bytes vs full).
# BENCH=verify, sign, transfer, split, sets or delta runs one part.
set -euo pipefail
SIZE_MB=1024
BIG_MB=10240
RUNS=3
WORK=${TMPDIR:-/var/tmp}/airlock-bench
while [ $# -gt 0 ]; do
    case $1 in
    --size-mb) SIZE_MB=$2; shift 2 ;;
    --big-mb) BIG_MB=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    *) echo "usage: bench/bench.sh [--size-mb N] [--big-mb N] [--runs N] [--work DIR]" >&2; exit 2 ;;
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
    mkdir -p "data-$SIZE_MB"
    /usr/bin/python3 "$ROOT/tests/e2e/mkrandom.py" "data-$SIZE_MB/L" example.com/bench:1 4 \
        $((SIZE_MB / 4)) > /dev/null
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
    # one layer of the same size: a single blob is hashed on one core, so openssl's speed is
    # the bound
    if [ ! -f one/done ]; then
        rm -rf one
        /usr/bin/python3 "$ROOT/tests/e2e/mkrandom.py" one/L example.com/one:1 1 "$SIZE_MB" > /dev/null
        "$AIRLOCK" import -q one/L -o one/b.tar
        touch one/done
    fi
    cat one/b.tar > /dev/null
    local obase
    obase=$(for _ in $(seq "$RUNS"); do timed openssl dgst -sha256 one/b.tar | cut -d' ' -f1; done | median)
    row "openssl dgst -sha256 one-layer b.tar" "$obase" "$(echo "$mb / $obase" | bc)" "-"
    local ot orss=0 otimes=""
    for _ in $(seq "$RUNS"); do
        timed "$AIRLOCK" verify -q one/b.tar > /dev/null
        read -r ot m < time.out
        otimes+="$ot"$'\n'
        [ "$m" -gt "$orss" ] && orss=$m
    done
    ot=$(printf '%s' "$otimes" | median)
    row "airlock verify one-layer b.tar" "$ot" "$(echo "$mb / $ot" | bc)" "$((orss / 1024)) MiB"
    # memory flat in size: a bundle BIG_MB large (a directory, layers of 1 GiB)
    if [ "$BIG_MB" -gt 0 ]; then
        if [ ! -f "big-$BIG_MB/done" ]; then
            rm -rf "big-$BIG_MB"
            /usr/bin/python3 "$ROOT/tests/e2e/mkrandom.py" "big-$BIG_MB/L" example.com/big:1 \
                $((BIG_MB / 1024)) 1024 > /dev/null
            touch "big-$BIG_MB/done"
        fi
        timed "$AIRLOCK" verify -q "big-$BIG_MB/L" > /dev/null
        read -r bt bm < time.out
        [ "$TIMED_RC" = 0 ] || { echo "verify big failed: $(cat cmd.err)" >&2; exit 1; }
        row "airlock verify $((BIG_MB / 1024)) GiB dir (memory check)" "$bt" \
            "$(echo "$BIG_MB * 1048576 / 1000000 / $bt" | bc)" "$((bm / 1024)) MiB"
    fi
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
    # independent of the bundle's size: the same on the 10 GiB directory bundle
    if [ "$BIG_MB" -gt 0 ] && [ -f "big-$BIG_MB/done" ]; then
        times=""
        for i in $(seq "$RUNS"); do
            timed "$AIRLOCK" sign --key k$i.key "big-$BIG_MB/L" >/dev/null
            [ "$TIMED_RC" = 0 ] || { echo "sign failed: $(cat cmd.err)" >&2; exit 1; }
            read -r t m < time.out
            times+="$t"$'\n'
        done
        row "airlock sign $((BIG_MB / 1024)) GiB dir bundle" "$(printf '%s' "$times" | median)" "" ""
    fi
}

# transfer: a local registry (loopback, plain HTTP), a 200 MB two-layer image put there by
# skopeo, then export and push with airlock and the same moves with skopeo.
bench_transfer() {
    local t=transfer
    rm -rf "$t"
    mkdir -p "$t/tmp"
    local port
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat > "$t/reg.yml" <<EOC
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $PWD/$t/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port, secret: bench}
EOC
    docker-registry serve "$t/reg.yml" > "$t/reg.log" 2>&1 &
    local regpid=$!
    trap 'kill $regpid 2>/dev/null || true' RETURN
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
    local R=127.0.0.1:$port
    /usr/bin/python3 "$ROOT/tests/e2e/mkrandom.py" "$t/L" example.com/big:1 2 100 >/dev/null
    skopeo copy -q --dest-tls-verify=false "oci:$t/L" "docker://$R/src/big:1"
    export COSIGN_PASSWORD=bench
    "$AIRLOCK" keygen --output-key-prefix "$t/k" 2>/dev/null
    local mb=$(( $(du -sb "$t/L/blobs" | cut -f1) / 1000000 ))
    echo
    echo "transfer, $mb MB image in 2 layers, local registry on loopback, median of $RUNS runs"
    row "work" "seconds" "MB/s" "peak RSS"
    measure() { # LABEL PREP CMD...: PREP runs before each run, untimed
        local label=$1 prep=$2
        shift 2
        local times="" rss=0
        for i in $(seq "$RUNS"); do
            eval "$prep"
            TMPDIR=$PWD/$t/tmp timed "$@" > /dev/null
            [ "$TIMED_RC" = 0 ] || { echo "$label failed: $(cat cmd.err)" >&2; exit 1; }
            read -r tt m < time.out
            times+="$tt"$'\n'
            [ "$m" -gt "$rss" ] && rss=$m
        done
        local med
        med=$(printf '%s' "$times" | median)
        row "$label" "$med" "$(echo "$mb / $med" | bc)" "$((rss / 1024)) MiB"
    }
    # skopeo gets an empty blob-info cache each run (its HOME, or root's /var/lib cache under
    # a private tmpfs): a warm cache turns its uploads into cross-repository mounts
    local H="rm -rf $t/home; mkdir -p $t/home"
    cat > "$t/skopeo" <<EOS
#!/bin/bash
export HOME=$PWD/$t/home
if [ "\$(id -u)" = 0 ] && [ -z "\${IN_NS:-}" ]; then
    mkdir -p /var/lib/containers/cache
    exec env IN_NS=1 unshare -m bash -c 'mount -t tmpfs tmpfs /var/lib/containers/cache && exec skopeo "\$@"' skopeo "\$@"
fi
exec skopeo "\$@"
EOS
    chmod +x "$t/skopeo"
    local SK=$PWD/$t/skopeo
    measure "skopeo copy docker:// -> oci: dir" "rm -rf $t/sk; $H" \
        "$SK" copy -q --src-tls-verify=false "docker://$R/src/big:1" "oci:$t/sk:big"
    measure "skopeo copy docker:// -> oci-archive:" "rm -f $t/sk.tar; $H" \
        "$SK" copy -q --src-tls-verify=false "docker://$R/src/big:1" "oci-archive:$t/sk.tar:big"
    measure "airlock export -> .tar" "rm -f $t/e.tar" \
        "$AIRLOCK" export -q --plain-http "$R/src/big:1" -o "$t/e.tar"
    measure "airlock export -> dir" "rm -rf $t/e.dir" \
        "$AIRLOCK" export -q --plain-http "$R/src/big:1" -o "$t/e.dir/"
    "$AIRLOCK" sign --key "$t/k.key" "$t/e.tar" >/dev/null
    skopeo copy -q "oci:$t/L" "oci-archive:$t/L.tar:big"
    measure "skopeo copy oci-archive: -> docker://" "$H" \
        bash -c "$SK copy -q --dest-tls-verify=false oci-archive:$t/L.tar:big docker://$R/sk\$RANDOM/big:1"
    measure "airlock push .tar (verify, push, verify)" "" \
        bash -c "'$AIRLOCK' push -q --key '$t/k.pub' --identity-check any --plain-http '$t/e.tar' $R/air\$RANDOM"
    measure "airlock push .tar again (all there)" "" \
        "$AIRLOCK" push -q --key "$t/k.pub" --identity-check any --plain-http "$t/e.tar" "$R/again"
    # scratch space: every file each tool creates during a push from an archive (strace)
    scratch() { # LABEL CMD...
        local label=$1
        shift
        strace -f -qq -e trace=openat,creat -o "$t/st.log" "$@" >/dev/null 2>&1
        local files bytes=0
        files=$(grep -E 'O_CREAT|creat\(' "$t/st.log" | grep -v ' = -1' |
            grep -oE '"[^"]+"' | tr -d '"' | grep -vE '^/(dev|proc|sys)/' | sort -u || true)
        # sizes from the archives' own listings (the scratch copies are gone by now)
        bytes=$(printf '%s\n' $files | /usr/bin/python3 -c '
import sys, tarfile
sizes = {}
for a in sys.argv[1:]:
    with tarfile.open(a) as t:
        for m in t.getmembers():
            sizes[m.name.rsplit("/", 1)[-1]] = m.size
print(sum(sizes.get(l.strip().rsplit("/", 1)[-1], 0) for l in sys.stdin if "/blobs/" in l))
' "$t/L.tar" "$t/e.tar")
        echo "  $label: $(printf '%s\n' "$files" | grep -c . || true) files created," \
            "$((bytes / 1000000)) MB of blobs copied to scratch" \
            "$([ -z "$files" ] || echo "(in $(printf '%s\n' "$files" | cut -d/ -f1-3 | sort -u | tr '\n' ' '))")"
    }
    rm -rf "$t/home"; mkdir -p "$t/home"
    scratch "skopeo copy oci-archive: -> docker://" \
        "$SK" copy -q --dest-tls-verify=false "oci-archive:$t/L.tar:big" "docker://$R/sktmp/big:1"
    scratch "airlock push .tar" "$AIRLOCK" push -q --key "$t/k.pub" --identity-check any --plain-http "$t/e.tar" "$R/airtmp"
}

# split: the media bar. The 1 GB bundle cut for 300 MB media; every part verified alone; one
# part deleted in turn, and verify must name exactly that part.
bench_split() {
    make_data
    local d=data-$SIZE_MB s=split
    rm -rf "$s"
    mkdir -p "$s"
    timed "$AIRLOCK" split --size 300M "$d/b.tar" -o "$s/b.tar" > /dev/null
    [ "$TIMED_RC" = 0 ] || { echo "split failed: $(cat cmd.err)" >&2; exit 1; }
    read -r t m < time.out
    echo
    echo "split, $(( $(stat -c %s "$d/b.tar") / 1000000 )) MB bundle for 300 MB media"
    echo "  airlock split --size 300M: $t s, peak RSS $((m / 1024)) MiB, parts:"
    local p
    for p in "$s"/b.tar.[0-9][0-9][0-9]; do
        local sz
        sz=$(stat -c %s "$p")
        [ "$sz" -le $((300 << 20)) ] || { echo "  $p is $sz bytes: too large" >&2; exit 1; }
        timed "$AIRLOCK" verify -q --part-only "$p" > /dev/null
        read -r t m < time.out
        echo "    $p: $((sz / 1000000)) MB, verify --part-only: exit $TIMED_RC in $t s"
    done
    echo "  each part deleted in turn, verify of another part names:"
    for p in "$s"/b.tar.[0-9][0-9][0-9]; do
        mv "$p" "$p.away"
        local other
        other=$(ls "$s"/b.tar.[0-9][0-9][0-9] | head -1)
        set +e
        "$AIRLOCK" verify "$other" > /dev/null 2> verify.err
        local rc=$?
        set -e
        mv "$p.away" "$p"
        local named
        named=$(grep -oE "part [0-9]+ of [0-9]+ '[^']+' is missing" verify.err | sort -u | tr '\n' ';' || true)
        echo "    without ${p##*/}: exit $rc, $named"
    done
}

bench_sets() {
    local t=sets
    rm -rf "$t"
    mkdir -p "$t/tmp"
    local port
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat > "$t/reg.yml" <<EOC
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $PWD/$t/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port, secret: bench}
EOC
    docker-registry serve "$t/reg.yml" > "$t/reg.log" 2>&1 &
    local regpid=$!
    trap 'kill $regpid 2>/dev/null || true' RETURN
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
    local R=127.0.0.1:$port
    export COSIGN_PASSWORD=bench
    "$AIRLOCK" keygen --output-key-prefix "$t/k" 2>/dev/null
    # skopeo with an empty blob-info cache (as in bench_transfer)
    cat > "$t/skopeo" <<EOS
#!/bin/bash
export HOME=$PWD/$t/home
if [ "\$(id -u)" = 0 ] && [ -z "\${IN_NS:-}" ]; then
    mkdir -p /var/lib/containers/cache
    exec env IN_NS=1 unshare -m bash -c 'mount -t tmpfs tmpfs /var/lib/containers/cache && exec skopeo "\$@"' skopeo "\$@"
fi
exec skopeo "\$@"
EOS
    chmod +x "$t/skopeo"
    local SK=$PWD/$t/skopeo
    one() { # LABEL CMD...: one timed run; prints the seconds
        local label=$1
        shift
        rm -rf "$t/home"; mkdir -p "$t/home"
        TMPDIR=$PWD/$t/tmp timed "$@" > /dev/null
        [ "$TIMED_RC" = 0 ] || { echo "$label failed: $(tail -3 cmd.err)" >&2; exit 1; }
        cut -d' ' -f1 time.out
    }
    ratio() { echo "scale=1; $1 / $2" | bc; }
    printf '\nimage sets: N small images (3 layers, shared base), local registry, %s cores\n' "$(nproc)"
    printf '%-6s %-34s %9s %9s %9s %8s %8s\n' N work airlock "sk sync" "sk copy" "sync/al" "s/image"
    for n in ${SET_SIZES:-50 200 500}; do
        local d=$t/n$n
        mkdir -p "$d"
        /usr/bin/python3 "$ROOT/bench/mkset.py" "$d/L" "$n"
        "$AIRLOCK" import -q "$d/L" -o "$d/src.tar"
        "$AIRLOCK" push -q --no-verify --plain-http "$d/src.tar" "$R/src$n" >/dev/null 2>&1
        { echo "images:"; for i in $(seq 0 $((n - 1))); do echo "  - $R/src$n/set/app-$i:1"; done; } > "$d/set.yaml"
        { echo "$R:"; echo "  tls-verify: false"; echo "  images:";
          for i in $(seq 0 $((n - 1))); do echo "    src$n/set/app-$i: ['1']"; done; } > "$d/sync.yaml"
        local ae se ce av as asp ap sp cp ar sr
        ae=$(one "airlock export" "$AIRLOCK" export -q --plain-http --set "$d/set.yaml" -o "$d/e.tar")
        se=$(one "skopeo sync -> dir" "$SK" sync --src yaml --dest dir "$d/sync.yaml" "$d/sk")
        ce=$(one "skopeo copy loop -> oci" bash -c "for i in \$(seq 0 $((n - 1))); do
            $SK copy -q --src-tls-verify=false docker://$R/src$n/set/app-\$i:1 oci:$d/skc:app-\$i || exit 1; done")
        av=$(one "airlock verify" "$AIRLOCK" verify "$d/e.tar")
        as=$(one "airlock sign" "$AIRLOCK" sign --key "$t/k.key" --to "$R/al$n" "$d/e.tar")
        asp=$(one "airlock split" "$AIRLOCK" split --size 8M "$d/e.tar" -o "$d/parts")
        ap=$(one "airlock push" "$AIRLOCK" push -q --key "$t/k.pub" --plain-http "$d/e.tar" "$R/al$n")
        sp=$(one "skopeo sync dir -> docker" "$SK" sync --src dir --dest docker --dest-tls-verify=false "$d/sk" "$R/sk$n")
        cp=$(one "skopeo copy loop -> docker" bash -c "for i in \$(seq 0 $((n - 1))); do
            $SK copy -q --dest-tls-verify=false oci:$d/skc:app-\$i docker://$R/skc$n/set/app-\$i:1 || exit 1; done")
        ar=$(one "airlock push again" "$AIRLOCK" push -q --key "$t/k.pub" --plain-http "$d/e.tar" "$R/al$n")
        sr=$(one "skopeo sync again" "$SK" sync --src dir --dest docker --dest-tls-verify=false "$d/sk" "$R/sk$n")
        printf '%-6s %-34s %9s %9s %9s %8s %8s\n' "$n" "export (registry -> bundle/dir)" "$ae" "$se" "$ce" "$(ratio "$se" "$ae")" "$(echo "scale=4; $ae / $n" | bc)"
        printf '%-6s %-34s %9s %9s %9s %8s %8s\n' "$n" "push (verify, push, verify there)" "$ap" "$sp" "$cp" "$(ratio "$sp" "$ap")" "$(echo "scale=4; $ap / $n" | bc)"
        printf '%-6s %-34s %9s %9s %9s %8s %8s\n' "$n" "push again (everything there)" "$ar" "$sr" "-" "$(ratio "$sr" "$ar")" "$(echo "scale=4; $ar / $n" | bc)"
        printf '%-6s %-34s %9s %9s %9s %8s %8s\n' "$n" "verify / sign / split 8M (airlock)" "$av/$as/$asp" "-" "-" "-" "$(echo "scale=4; $av / $n" | bc)"
        rm -rf "$d/sk" "$d/skc" "$d/parts"*
    done
}

# delta: a monthly update of an image set through two local registries (upstream, and the
# destination inside): 200 images on 25 shared base layers (DELTA_BASE_KB each, default 6 MiB)
# with an own layer each (DELTA_APP_KB, default 256 KiB): about 200 MiB, the issue's 5 GB set
# scaled down 25 times with the same proportions. Full export, sign, push; then 10 images
# change (9 get a new own layer, 1 a new base layer too); inventory of the destination, export
# --have, sign, push; bytes of the delta bundle against the full one, and the destination
# checked against upstream digest by digest.
bench_delta() {
    local t=delta
    rm -rf "$t"
    mkdir -p "$t"
    local n=${DELTA_IMAGES:-200} bases=${DELTA_BASES:-25} bkb=${DELTA_BASE_KB:-6144} akb=${DELTA_APP_KB:-256}
    local pids=() ports=()
    for r in up down; do
        local port
        port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        cat > "$t/$r.yml" <<EOC
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $PWD/$t/$r-data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port, secret: bench}
EOC
        docker-registry serve "$t/$r.yml" > "$t/$r.log" 2>&1 &
        pids+=($!)
        ports+=("$port")
        for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
    done
    trap 'kill ${pids[*]} 2>/dev/null || true' RETURN
    local U=127.0.0.1:${ports[0]} D=127.0.0.1:${ports[1]}
    export COSIGN_PASSWORD=bench
    "$AIRLOCK" keygen --output-key-prefix "$t/k" 2>/dev/null
    specs() { # VERSION: the image specs of mkdelta.py
        for i in $(seq 0 $((n - 1))); do
            local base=base$((i % bases)) app=app$i
            if [ "$1" = 2 ] && [ "$i" -lt 10 ]; then
                app=app$i-v2
                [ "$i" = 9 ] && base=base9-v2
            fi
            echo "example.com/set/app-$i:1=$base:$bkb,$app:$akb"
        done
    }
    one() { # LABEL CMD...: one timed run; prints the seconds
        local label=$1
        shift
        timed "$@" > /dev/null
        [ "$TIMED_RC" = 0 ] || { echo "$label failed: $(tail -3 cmd.err)" >&2; exit 1; }
        cut -d' ' -f1 time.out
    }
    { echo "images:"; for i in $(seq 0 $((n - 1))); do echo "  - $U/up/set/app-$i:1"; done; } > "$t/set.yaml"
    # month 1 upstream, exported whole and pushed inside
    /usr/bin/python3 "$ROOT/tests/e2e/mkdelta.py" "$t/v1" $(specs 1)
    "$AIRLOCK" import -q "$t/v1" -o "$t/v1.tar"
    "$AIRLOCK" push -q --no-verify --plain-http "$t/v1.tar" "$U/up" >/dev/null 2>&1
    local fe fp
    fe=$(one "full export" "$AIRLOCK" export -q --plain-http --set "$t/set.yaml" -o "$t/full.tar")
    "$AIRLOCK" sign --key "$t/k.key" --to "$D" "$t/full.tar" >/dev/null
    fp=$(one "full push" "$AIRLOCK" push -q --key "$t/k.pub" --plain-http "$t/full.tar" "$D")
    # month 2: 10 images changed upstream
    /usr/bin/python3 "$ROOT/tests/e2e/mkdelta.py" "$t/v2" $(specs 2)
    "$AIRLOCK" import -q "$t/v2" -o "$t/v2.tar"
    "$AIRLOCK" push -q --no-verify --plain-http "$t/v2.tar" "$U/up" >/dev/null 2>&1
    local inv de dp
    inv=$(one "inventory" "$AIRLOCK" inventory --plain-http "$D/up" -o "$t/have.json")
    de=$(one "delta export" "$AIRLOCK" export -q --plain-http --set "$t/set.yaml" --have "$t/have.json" -o "$t/delta.tar")
    "$AIRLOCK" sign --key "$t/k.key" --to "$D" "$t/delta.tar" >/dev/null
    dp=$(one "delta push" "$AIRLOCK" push -q --key "$t/k.pub" --plain-http "$t/delta.tar" "$D")
    local bad=0
    for i in $(seq 0 $((n - 1))); do
        local a b
        a=$("$AIRLOCK" digest --plain-http "$U/up/set/app-$i:1" | cut -f1)
        b=$("$AIRLOCK" digest --plain-http "$D/up/set/app-$i:1" | cut -f1)
        [ "$a" = "$b" ] || bad=$((bad + 1))
    done
    local full delta
    full=$(stat -c %s "$t/full.tar")
    delta=$(stat -c %s "$t/delta.tar")
    printf '\ndelta: %s images on %s bases (%s KiB base, %s KiB own layer), 10 changed, %s cores\n' \
        "$n" "$bases" "$bkb" "$akb" "$(nproc)"
    printf '%-40s %12s %9s\n' work bytes seconds
    printf '%-40s %12s %9s\n' "full export (bundle)" "$full" "$fe"
    printf '%-40s %12s %9s\n' "full push" "-" "$fp"
    printf '%-40s %12s %9s\n' "inventory of the destination (file)" "$(stat -c %s "$t/have.json")" "$inv"
    printf '%-40s %12s %9s\n' "delta export --have (bundle)" "$delta" "$de"
    printf '%-40s %12s %9s\n' "delta push" "-" "$dp"
    printf 'delta / full: %s%%; destination digests differing from upstream: %s of %s\n' \
        "$(echo "scale=2; 100 * $delta / $full" | bc)" "$bad" "$n"
}

case ${BENCH:-all} in
verify) bench_verify ;;
sets) bench_sets ;;
sign) bench_sign ;;
transfer) bench_transfer ;;
split) bench_split ;;
delta) bench_delta ;;
*) bench_verify; bench_sign; bench_transfer; bench_split; bench_sets; bench_delta ;;
esac
