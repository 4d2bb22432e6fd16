#!/usr/bin/env python3
"""Writes structurally odd bundles: mkodd.py CASE OUT.
many_layers   one manifest with 100 layers
no_mediatype  index.json entry and manifest without mediaType (as umoci writes manifests)
shared        two references to one manifest whose layer is corrupt
deep          an index nested 40 levels deep
bad_tag       an image named only by a tag that is not a valid tag
"""
import hashlib, io, json, sys, tarfile

case, out = sys.argv[1:]
blobs = {}


def blob(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[d] = data
    return d


def image(nlayers=1, mt=True):
    layers = []
    for i in range(nlayers):
        data = b"layer %d " % i * 50
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": blob(data), "size": len(data)})
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}}).encode()
    m = {"schemaVersion": 2, "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                        "digest": blob(cfg), "size": len(cfg)}, "layers": layers}
    if mt:
        m["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    man = json.dumps(m).encode()
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": blob(man), "size": len(man)}


def entry(desc, ref):
    e = dict(desc)
    e["annotations"] = {"org.opencontainers.image.ref.name": ref}
    return e


entries = []
corrupt = None
if case == "many_layers":
    entries.append(entry(image(100), "example.com/many:1"))
elif case == "no_mediatype":
    d = image(2, mt=False)
    del d["mediaType"]
    entries.append(entry(d, "example.com/nomt:1"))
elif case == "shared":
    d = image(1)
    entries += [entry(d, "example.com/shared:1"), entry(d, "example.com/shared:2")]
    man = json.loads(blobs[d["digest"]])
    corrupt = man["layers"][0]["digest"]
elif case == "deep":
    d = image(1)
    for _ in range(40):
        idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": [d]}).encode()
        d = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": blob(idx), "size": len(idx)}
    entries.append(entry(d, "example.com/deep:1"))
elif case == "bad_tag":
    entries.append(entry(image(1), "Bad Tag!"))
else:
    sys.exit("unknown case " + case)

with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    def add(name, data):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    for d, data in blobs.items():
        add("blobs/sha256/" + d[7:], bytes(len(data)) if d == corrupt else data)
    add("index.json", json.dumps({"schemaVersion": 2, "manifests": entries}).encode())
