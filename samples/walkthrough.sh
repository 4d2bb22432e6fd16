#!/usr/bin/env bash
# The airlock walkthrough: on a fresh Debian machine this installs what airlock needs, builds
# it, makes a small image the way a connected machine would (umoci, skopeo), packs it into a
# bundle, inspects and verifies it as if on a USB stick, then shows what verify does to a
# damaged copy. Everything happens in a temporary directory that is removed at the end.
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
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$WORK"' EXIT; else echo "keeping $WORK"; fi
cd "$WORK"

step "connected side: make an image with umoci and save it with skopeo"
umoci init --layout src
umoci new --image src:1.0
umoci unpack --rootless --image src:1.0 rootfs-bundle >/dev/null
mkdir -p rootfs-bundle/rootfs/bin
cp "$(command -v busybox)" rootfs-bundle/rootfs/bin/busybox
umoci repack --image src:1.0 rootfs-bundle
umoci config --image src:1.0 --architecture amd64 --os linux
skopeo copy -q oci:src:1.0 docker-archive:app-docker.tar:registry.example.com/team/app:1.0
skopeo copy -q oci:src:1.0 oci-archive:app-oci.tar:1.0
ls -l app-docker.tar app-oci.tar

step "airlock import: both archives into one deduplicated bundle"
"$AIRLOCK" import --name registry.example.com/team/app-oci app-docker.tar app-oci.tar -o release.tar

step "airlock inspect: what is in the bundle"
"$AIRLOCK" inspect release.tar

step "airlock keygen: a cosign key pair (the password comes from COSIGN_PASSWORD here)"
export COSIGN_PASSWORD=walkthrough-only-password
"$AIRLOCK" keygen
ls -l cosign.key cosign.pub

step "airlock sign: offline, with networking disabled where the kernel allows it"
if unshare -n true 2>/dev/null; then
    unshare -n "$AIRLOCK" sign --key cosign.key --identity registry.internal/team/app release.tar
else
    "$AIRLOCK" sign --key cosign.key --identity registry.internal/team/app release.tar
fi

step "gap side: airlock verify --key on a read-only copy, as on a USB stick"
mkdir usb
cp release.tar cosign.pub usb/
chmod -R a-w usb
"$AIRLOCK" verify --key usb/cosign.pub --identity registry.internal/team/app usb/release.tar

step "a damaged copy: one flipped byte in a layer"
cp release.tar damaged.tar
off=$(( $(stat -c %s damaged.tar) / 2 ))
printf '\xff' | dd of=damaged.tar bs=1 seek=$off conv=notrunc 2>/dev/null
set +e
"$AIRLOCK" verify damaged.tar
rc=$?
set -e
echo "verify exit code: $rc (4 = integrity failure)"

step "machine-readable report"
"$AIRLOCK" verify --json release.tar | (command -v jq >/dev/null && jq . || cat)
chmod -R u+w usb
echo
echo "done: the bundle verified; the damaged copy was caught."
