#!/usr/bin/env python3
"""Rewrites a directory bundle signed by airlock: mkdockersig.py DIR CASE.

  docker    the .sig manifest of example.com/test/busybox:1.0 as cosign writes it with
            COSIGN_DOCKER_MEDIA_TYPES=1: a Docker v2 manifest with a Docker config type
            (its simple-signing layers unchanged), its index.json descriptor of that type
  mismatch  the index.json descriptor of that .sig typed as a Docker v2 manifest while the
            manifest itself says it is an OCI one
Prints the digest of the rewritten manifest."""
import hashlib, json, os, sys

d, case = sys.argv[1], sys.argv[2]
DOCKER_M = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_C = "application/vnd.docker.container.image.v1+json"
REF = "org.opencontainers.image.ref.name"


def put(data):
    h = hashlib.sha256(data).hexdigest()
    with open(os.path.join(d, "blobs", "sha256", h), "wb") as f:
        f.write(data)
    return "sha256:" + h, len(data)


idx_path = os.path.join(d, "index.json")
idx = json.load(open(idx_path))
ents = idx["manifests"]
ref_of = lambda e: e.get("annotations", {}).get(REF, "")

e = [e for e in ents if ref_of(e).startswith("example.com/test/busybox:sha256-")
     and ref_of(e).endswith(".sig")][0]
if case == "docker":
    m = json.load(open(os.path.join(d, "blobs", "sha256", e["digest"][7:])))
    m["mediaType"] = DOCKER_M
    m["config"]["mediaType"] = DOCKER_C
    dg, size = put(json.dumps(m).encode())
    e.update(mediaType=DOCKER_M, digest=dg, size=size)
elif case == "mismatch":
    e["mediaType"] = DOCKER_M
    dg = e["digest"]
else:
    sys.exit("unknown case " + case)
with open(idx_path, "w") as f:
    json.dump(idx, f)
print(dg)
