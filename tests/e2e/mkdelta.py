#!/usr/bin/env python3
"""Writes an OCI image layout of images made of deterministic layers, for the delta tests and
the delta benchmark: a layer is named by a seed and its bytes follow from it, so the same seed
in two images (or two runs) is the same blob, and a new seed is a changed layer.

    mkdelta.py DIR REF=SEED:KB[,SEED:KB...] ...

Each image gets its own config (naming REF), so images never share a manifest. Bytes come
from SHAKE-256 of the seed (nothing compresses), written in 1 MiB pieces."""
import hashlib, json, os, sys

root = sys.argv[1]
os.makedirs(f"{root}/blobs/sha256", exist_ok=True)


def put(data):
    h = hashlib.sha256(data).hexdigest()
    with open(f"{root}/blobs/sha256/{h}", "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + h, "size": len(data)}


def layer(seed, kb):
    tmp, h, left, n = f"{root}/layer.tmp", hashlib.sha256(), kb * 1024, 0
    with open(tmp, "wb") as f:
        while left:
            piece = hashlib.shake_256(f"{seed}/{n}".encode()).digest(min(left, 1 << 20))
            h.update(piece)
            f.write(piece)
            left -= len(piece)
            n += 1
    os.rename(tmp, f"{root}/blobs/sha256/{h.hexdigest()}")
    return {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": "sha256:" + h.hexdigest(), "size": kb * 1024}


index = {"schemaVersion": 2, "manifests": []}
for spec in sys.argv[2:]:
    ref, seeds = spec.split("=", 1)
    layers = []
    for s in seeds.split(","):
        seed, kb = s.split(":")
        layers.append(layer(seed, int(kb)))
    config = put(json.dumps({"architecture": "amd64", "os": "linux",
                             "config": {"Labels": {"ref": ref}},
                             "rootfs": {"type": "layers",
                                        "diff_ids": [l["digest"] for l in layers]}}).encode())
    config["mediaType"] = "application/vnd.oci.image.config.v1+json"
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": config, "layers": layers}
    d = put(json.dumps(m).encode())
    d["mediaType"] = m["mediaType"]
    d["annotations"] = {"org.opencontainers.image.ref.name": ref}
    index["manifests"].append(d)
with open(f"{root}/index.json", "w") as f:
    json.dump(index, f)
with open(f"{root}/oci-layout", "w") as f:
    f.write('{"imageLayoutVersion": "1.0.0"}')
