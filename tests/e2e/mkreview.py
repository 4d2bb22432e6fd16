#!/usr/bin/env python3
"""Crafted additions to a directory bundle made (and signed) by airlock, for the review
cases: mkreview.py DIR CASE [ARG].

  tagreferrer REF [SUBJ]  an OCI 1.1 referrer (an artifact, not runnable) of the image listed
                    as SUBJ (example.com/test/busybox:1.0), listed FIRST in index.json under
                    REF (e.g. that same example.com/test/busybox:1.0)
  orphan REF        an OCI 1.1 referrer of a digest the bundle does not hold, listed under REF
  unsignedfirst REF an unsigned image listed FIRST in index.json under REF
Prints the digest of what it added."""
import hashlib, json, os, sys

d, case = sys.argv[1], sys.argv[2]
arg = sys.argv[3] if len(sys.argv) > 3 else None
OCI_M = "application/vnd.oci.image.manifest.v1+json"


def put(data):
    if isinstance(data, str):
        data = data.encode()
    h = hashlib.sha256(data).hexdigest()
    with open(os.path.join(d, "blobs", "sha256", h), "wb") as f:
        f.write(data)
    return "sha256:" + h, len(data)


def desc(mt, dg, size, **extra):
    x = {"mediaType": mt, "digest": dg, "size": size}
    x.update(extra)
    return x


idx_path = os.path.join(d, "index.json")
idx = json.load(open(idx_path))
ents = idx["manifests"]


def ref_of(e):
    return e.get("annotations", {}).get("org.opencontainers.image.ref.name", "")


def first(mt, dg, size, ref):
    ents.insert(0, desc(mt, dg, size,
                        annotations={"org.opencontainers.image.ref.name": ref}))


if case == "tagreferrer":
    subj = sys.argv[4] if len(sys.argv) > 4 else "example.com/test/busybox:1.0"
    img = [e for e in ents if ref_of(e) == subj]
    img = img[0]
    blob, bs = put(b'{"note":"not the image"}')
    cfg, cs = put(b"{}")
    m = {"schemaVersion": 2, "mediaType": OCI_M, "artifactType": "application/x-review",
         "config": desc("application/vnd.oci.empty.v1+json", cfg, cs),
         "layers": [desc("application/x-review-note", blob, bs)],
         "subject": desc(img["mediaType"], img["digest"], img["size"])}
    dg, size = put(json.dumps(m))
    first(OCI_M, dg, size, arg)
elif case == "orphan":
    blob, bs = put(b'{"note":"attached to nothing here"}')
    cfg, cs = put(b"{}")
    m = {"schemaVersion": 2, "mediaType": OCI_M, "artifactType": "application/x-review",
         "config": desc("application/vnd.oci.empty.v1+json", cfg, cs),
         "layers": [desc("application/x-review-note", blob, bs)],
         "subject": desc(OCI_M, "sha256:" + "ab" * 32, 100)}
    dg, size = put(json.dumps(m))
    first(OCI_M, dg, size, arg)
elif case == "unsignedfirst":
    layer, ls = put(os.urandom(512))
    cfg, cs = put(json.dumps({"architecture": "amd64", "os": "linux",
                              "rootfs": {"type": "layers", "diff_ids": [layer]}}))
    m = {"schemaVersion": 2, "mediaType": OCI_M,
         "config": desc("application/vnd.oci.image.config.v1+json", cfg, cs),
         "layers": [desc("application/vnd.oci.image.layer.v1.tar", layer, ls)]}
    dg, size = put(json.dumps(m))
    first(OCI_M, dg, size, arg)
else:
    sys.exit("unknown case " + case)
json.dump(idx, open(idx_path, "w"))
print(dg)
