#!/usr/bin/env python3
"""Finds a sigstore bundle referrer of an image in a registry without the referrers API (the
sha256-<hex> fallback tag, FORMATS.md section 4), as cosign 3 and go-containerregistry do,
and writes its bundle blob to OUT.

    regreferrer.py HOST REPO sha256:IMAGE PREDICATE-TYPE OUT
"""
import json
import sys
import urllib.request

host, repo, image, ptype, out = sys.argv[1:6]
IDX = "application/vnd.oci.image.index.v1+json"
MAN = "application/vnd.oci.image.manifest.v1+json"


def get(path, accept):
    r = urllib.request.Request("http://%s/v2/%s/%s" % (host, repo, path), headers={"Accept": accept})
    with urllib.request.urlopen(r, timeout=30) as f:
        return f.read()


idx = json.loads(get("manifests/sha256-" + image[7:], IDX))
for d in idx["manifests"]:
    m = json.loads(get("manifests/" + d["digest"], MAN))
    if m.get("annotations", {}).get("dev.sigstore.bundle.predicateType") != ptype:
        continue
    if m.get("subject", {}).get("digest") != image or len(m["layers"]) != 1:
        continue
    open(out, "wb").write(get("blobs/" + m["layers"][0]["digest"], "*/*"))
    print(d["digest"])
    sys.exit(0)
sys.exit("no referrer of type %s" % ptype)
