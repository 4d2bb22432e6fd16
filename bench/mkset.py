#!/usr/bin/python3
"""Writes an OCI image layout of N small images for the image-set benchmark: 3 layers each,
the first (a 1 MiB random base) shared by all, the other two (64 KiB, 16 KiB) each image's
own; images named example.com/set/app-<i>:1 (one repository each).

    mkset.py DIR N"""
import hashlib, json, os, sys

root, n = sys.argv[1], int(sys.argv[2])
os.makedirs(f"{root}/blobs/sha256", exist_ok=True)


def put(data, mt):
    h = hashlib.sha256(data).hexdigest()
    with open(f"{root}/blobs/sha256/{h}", "wb") as f:
        f.write(data)
    return {"mediaType": mt, "digest": "sha256:" + h, "size": len(data)}


LAYER = "application/vnd.oci.image.layer.v1.tar"
base = put(os.urandom(1 << 20), LAYER)
entries = []
for i in range(n):
    own = [put(os.urandom(64 << 10), LAYER), put(os.urandom(16 << 10), LAYER)]
    cfg = {"architecture": "amd64", "os": "linux",
           "rootfs": {"type": "layers", "diff_ids": [base["digest"]] + [l["digest"] for l in own]},
           "config": {"Env": [f"APP={i}"]}}
    c = put(json.dumps(cfg).encode(), "application/vnd.oci.image.config.v1+json")
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": c, "layers": [base] + own}
    d = put(json.dumps(m).encode(), "application/vnd.oci.image.manifest.v1+json")
    d["annotations"] = {"org.opencontainers.image.ref.name": f"example.com/set/app-{i}:1"}
    entries.append(d)
with open(f"{root}/index.json", "w") as f:
    json.dump({"schemaVersion": 2, "manifests": entries}, f)
with open(f"{root}/oci-layout", "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
