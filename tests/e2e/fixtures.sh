# Makes the images and archives the end-to-end cases share, once per build tree, with
# third-party tools: umoci builds the images, skopeo writes oci-archive and docker-archive
# tars, mkarchives.py writes docker-save (legacy and Docker 25), cosign-save and hauler
# shaped inputs from the same blobs.
set -euo pipefail
: "${FIXTURES:?}" "${E2E_SRC:?}"
for tool in umoci skopeo jq zstd; do
    command -v $tool >/dev/null || { echo "missing tool: $tool (see .ci/run)" >&2; exit 1; }
done
rm -rf "$FIXTURES.tmp"
mkdir -p "$FIXTURES.tmp"
cd "$FIXTURES.tmp"
BUSYBOX=$(command -v busybox || true)
[ -n "$BUSYBOX" ] || { echo "missing busybox (busybox-static)" >&2; exit 1; }

umoci init --layout L
umoci new --image L:latest
umoci unpack --rootless --image L:latest B >/dev/null
mkdir -p B/rootfs/bin
cp "$BUSYBOX" B/rootfs/bin/busybox
umoci repack --image L:latest B
umoci config --image L:latest --architecture amd64 --os linux
rm -rf B

# A second image with other content, marked arm64, for the multi-arch index.
umoci init --layout L2
umoci new --image L2:latest
umoci unpack --rootless --image L2:latest B >/dev/null
mkdir -p B/rootfs/etc
echo "second image" > B/rootfs/etc/motd
umoci repack --image L2:latest B
umoci config --image L2:latest --architecture arm64 --os linux
rm -rf B

skopeo copy -q oci:L:latest oci-archive:o.tar:latest
skopeo copy -q oci:L:latest docker-archive:d.tar:example.com/foo:1.0
skopeo inspect --raw oci:L:latest | sha256sum | cut -d' ' -f1 > L.digest

/usr/bin/python3 "$E2E_SRC/mkarchives.py" "$PWD"
cd /
rm -rf "$FIXTURES"
mv "$FIXTURES.tmp" "$FIXTURES"
echo "fixtures ready in $FIXTURES"
