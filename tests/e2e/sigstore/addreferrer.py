#!/usr/bin/env python3
"""Puts a sigstore bundle into an OCI layout directory as an OCI 1.1 referrer of an image,
the way cosign 3 writes it (FORMATS.md section 4): the bundle blob, the empty config `{}`, the
referrer manifest, and (unless --bare) an index at the fallback tag REPO:sha256-<hex> listing
it, as export carries it. --bare leaves the manifest unlisted in blobs/, as `cosign save`
does. --extra-layer gives the manifest a second layer (a malformed bundle referrer).
Prints the referrer manifest's digest.

    addreferrer.py DIR IMAGE-REF sha256:IMAGE BUNDLE.json [--bare] [--extra-layer]
                   [--predicate-type=URI]   (the annotation; default cosign's signature type)
"""
import hashlib
import json
import os
import sys

EMPTY = b"{}"


def put(d, data):
    h = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(d, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(d, "blobs", "sha256", h), "wb") as f:
        f.write(data)
    return "sha256:" + h


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    d, ref, image, bundle_path = args
    bundle = open(bundle_path, "rb").read()
    mt = json.loads(bundle)["mediaType"]
    idx_path = os.path.join(d, "index.json")
    idx = json.load(open(idx_path))
    subj = next(m for m in idx["manifests"] if m["digest"] == image)
    layers = [{"mediaType": mt, "size": len(bundle), "digest": put(d, bundle)}]
    if "--extra-layer" in flags:
        layers.append({"mediaType": "application/vnd.example.extra", "size": 2, "digest": put(d, EMPTY)})
    ann = {"dev.sigstore.bundle.content": "dsse-envelope",
           "dev.sigstore.bundle.predicateType": next(
               (f.split("=", 1)[1] for f in flags if f.startswith("--predicate-type=")),
               "https://sigstore.dev/cosign/sign/v1"),
           "org.opencontainers.image.created": "2026-12-03T12:00:00Z"}
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2,
                      "digest": put(d, EMPTY), "artifactType": mt},
           "layers": layers, "annotations": ann,
           "subject": {"mediaType": subj["mediaType"], "size": subj["size"], "digest": image},
           "artifactType": mt}
    raw = json.dumps(man, separators=(",", ":")).encode()
    mdig = put(d, raw)
    if "--bare" not in flags:
        repo = ref.rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref
        tag = "%s:sha256-%s" % (repo, image[7:])
        desc = {"mediaType": man["mediaType"], "size": len(raw), "digest": mdig,
                "artifactType": mt, "annotations": ann}
        old = next((m for m in idx["manifests"]
                    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag), None)
        if old:
            ri = json.load(open(os.path.join(d, "blobs", "sha256", old["digest"][7:])))
            idx["manifests"].remove(old)
        else:
            ri = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                  "manifests": []}
        ri["manifests"].append(desc)
        rraw = json.dumps(ri, separators=(",", ":")).encode()
        idx["manifests"].append({"mediaType": ri["mediaType"], "size": len(rraw),
                                 "digest": put(d, rraw),
                                 "annotations": {"org.opencontainers.image.ref.name": tag}})
        with open(idx_path, "w") as f:
            json.dump(idx, f, separators=(",", ":"))
    print(mdig)


main()
