#!/usr/bin/env python3
"""Writes an OCI image layout holding one image of random layers (nothing compresses, so it
is as heavy to move as a real image of that size), for the size tests and the benchmarks:

    mkrandom.py DIR REF LAYERS MB_PER_LAYER

Layers are written in 1 MiB pieces and hashed on the way, so memory stays small."""
import hashlib, json, os, sys

root, ref, n, per = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
os.makedirs(f"{root}/blobs/sha256", exist_ok=True)


def put(data):
    h = hashlib.sha256(data).hexdigest()
    with open(f"{root}/blobs/sha256/{h}", "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + h, "size": len(data)}


layers = []
for i in range(n):
    tmp, h = f"{root}/layer.tmp", hashlib.sha256()
    with open(tmp, "wb") as f:
        for _ in range(per):
            piece = os.urandom(1 << 20)
            h.update(piece)
            f.write(piece)
    os.rename(tmp, f"{root}/blobs/sha256/{h.hexdigest()}")
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                   "digest": "sha256:" + h.hexdigest(), "size": per << 20})
cfg = json.dumps({"architecture": "amd64", "os": "linux",
                  "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}}).encode()
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": dict(put(cfg), mediaType="application/vnd.oci.image.config.v1+json"),
                  "layers": layers}).encode()
md = put(man)
with open(f"{root}/oci-layout", "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
with open(f"{root}/index.json", "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [dict(md, mediaType="application/vnd.oci.image.manifest.v1+json",
               annotations={"org.opencontainers.image.ref.name": ref})]}, f)
print(md["digest"])
