#!/usr/bin/env python3
"""Writes a valid layout tar whose blobs are many large, highly compressible JSON-looking
blobs that nothing references (each just under the manifest cap), plus the good bundle's
own entries: mkbloat.py GOOD.tar OUT.tar COUNT [first] ("first": the bloat comes before the
real metadata, so no first pass can keep the manifests within a small budget). Compress OUT.tar with zstd to get a tiny
.tar.zst that inflates to COUNT * 4 MiB of "metadata"."""
import hashlib, io, sys, tarfile

good, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
first = sys.argv[4:] == ["first"]
SIZE = (4 << 20) - 64
with tarfile.open(good) as t, tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as o:
    def good_entries():
        for m in t.getmembers():
            o.addfile(m, t.extractfile(m) if m.isfile() else None)
    if not first:
        good_entries()
    for i in range(count):
        head = b'{"n":%d,"pad":"' % i
        data = head + b" " * (SIZE - len(head) - 2) + b'"}'
        ti = tarfile.TarInfo("blobs/sha256/" + hashlib.sha256(data).hexdigest())
        ti.size = len(data)
        o.addfile(ti, io.BytesIO(data))
    if first:
        good_entries()
