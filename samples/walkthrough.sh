#!/usr/bin/env bash
# The airlock walkthrough: the whole trip across an air gap, on one machine.
#
# On a fresh Debian machine this installs what airlock needs, builds it, starts two
# registries on 127.0.0.1 (an "upstream" one on the connected side and a "private" one behind
# the gap), puts a small image into the upstream one, then does airlock's main job:
#   keygen -> export -> sign (offline) -> verify on a read-only "USB stick" -> push -> verify
# in the private registry, and shows verify catching a damaged copy. Everything lives in a
# temporary directory; the registries are stopped and it is all removed at the end.
#
#   samples/walkthrough.sh            # run it
#   KEEP=1 samples/walkthrough.sh     # keep the temporary directory to look around
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "install packages and build airlock"
bash "$ROOT/.ci/install-deps"
cmake -S "$ROOT" -B "$ROOT/build" >/dev/null
cmake --build "$ROOT/build" -j"$(nproc)" >/dev/null
AIRLOCK=$ROOT/build/cli/airlock
echo "built $AIRLOCK ($("$AIRLOCK" version))"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/airlock-walkthrough.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    chmod -R u+w "$WORK" 2>/dev/null || true
    if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT
cd "$WORK"

step "two registries on 127.0.0.1: upstream (connected side) and private (behind the gap)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
for name in upstream private; do
    port=$(free_port)
    printf 'version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: %s}\nhttp:\n  addr: 127.0.0.1:%s\n  secret: walkthrough\n' \
        "$WORK/$name-data" "$port" > "$name.yml"
    docker-registry serve "$name.yml" > "$name.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
    eval "${name^^}=127.0.0.1:$port"
    echo "$name registry: http://127.0.0.1:$port"
done

step "upstream: an image built with umoci and pushed with skopeo"
umoci init --layout src
umoci new --image src:1.0
umoci unpack --rootless --image src:1.0 rootfs-bundle >/dev/null
mkdir -p rootfs-bundle/rootfs/bin
cp "$(command -v busybox)" rootfs-bundle/rootfs/bin/busybox
umoci repack --image src:1.0 rootfs-bundle
umoci config --image src:1.0 --architecture amd64 --os linux
skopeo copy -q --dest-tls-verify=false oci:src:1.0 "docker://$UPSTREAM/team/app:1.0"
echo "pushed $UPSTREAM/team/app:1.0"

step "airlock keygen: a cosign key pair (the password comes from COSIGN_PASSWORD here)"
export COSIGN_PASSWORD=walkthrough-only-password
"$AIRLOCK" keygen
ls -l cosign.key cosign.pub

step "connected side: airlock export the image into a bundle"
"$AIRLOCK" export --plain-http "$UPSTREAM/team/app:1.0" -o release.tar
"$AIRLOCK" inspect release.tar

step "airlock sign, offline (networking disabled where the kernel allows it), for the name"
echo "each image will have after the push: podman inside checks exactly that name"
DEST=$PRIVATE/devops
if unshare -n true 2>/dev/null; then
    unshare -n "$AIRLOCK" sign --key cosign.key --to "$DEST" release.tar
else
    "$AIRLOCK" sign --key cosign.key --to "$DEST" release.tar
fi

step "at the gap: airlock verify on a read-only copy, as on a USB stick"
mkdir usb
cp release.tar cosign.pub usb/
chmod -R a-w usb
"$AIRLOCK" verify --key usb/cosign.pub --to "$DEST" usb/release.tar

step "the same check podman and CRI-O will make inside: their containers policy.json"
cat >policy.json <<EOF
{"default": [{"type": "reject"}],
 "transports": {"docker": {"$DEST": [{"type": "sigstoreSigned",
   "keyPath": "$PWD/usb/cosign.pub", "signedIdentity": {"type": "matchRepoDigestOrExact"}}]}}}
EOF
"$AIRLOCK" verify --policy policy.json --to "$DEST" usb/release.tar

step "a damaged copy: one flipped byte in a layer"
cp release.tar damaged.tar
off=$(( $(stat -c %s damaged.tar) / 2 ))
printf '\xff' | dd of=damaged.tar bs=1 seek=$off conv=notrunc 2>/dev/null
set +e
"$AIRLOCK" verify -q damaged.tar
rc=$?
set -e
echo "verify of the damaged copy: exit code $rc (4 = integrity failure)"

step "private side: airlock push the bundle, images and signatures together"
echo "(refused before anything goes up if a signature does not name its destination)"
"$AIRLOCK" push --key cosign.pub --plain-http usb/release.tar "$DEST"

step "airlock verify in the private registry, as cosign verify --key would"
"$AIRLOCK" verify --key cosign.pub --identity "$DEST/team/app:1.0" --plain-http "$DEST/team/app:1.0"

step "a second push uploads nothing"
"$AIRLOCK" push --key cosign.pub --plain-http --json usb/release.tar "$DEST" |
    python3 -c 'import json,sys; r=json.load(sys.stdin); print("uploaded", r["uploaded"], "blobs, skipped", r["skipped"])'

step "small media: airlock split the bundle into parts, each one a bundle that verifies alone"
mkdir stick
"$AIRLOCK" split --size 400K release.tar -o stick/release.tar
"$AIRLOCK" verify --part-only stick/release.tar.002
"$AIRLOCK" verify --key cosign.pub --to "$DEST" stick/release.tar.001

step "the unattended job: airlock sync takes what arrives in an inbox, verifies, pushes, files it"
mkdir inbox
cp stick/release.tar.* inbox/
"$AIRLOCK" sync --key cosign.pub --to "$DEST" --plain-http \
    --settle 0 inbox
ls inbox/done
tail -1 inbox/airlock-audit.log
echo
echo "done: exported, signed offline, verified on read-only media, pushed, verified in the registry,"
echo "split for small media, and synced from an inbox."
