#!/usr/bin/env python3
"""Writes a legacy cosign attestation into an OCI layout directory, as cosign 1 and 2 attach
it (FORMATS.md section 3): an in-toto v0.1 statement signed as a DSSE envelope (ECDSA P-256,
SHA-256, DER, over the PAE) with python3-cryptography, one layer of an OCI manifest tagged
REPO:sha256-<hex>.att (a layer is appended when the tag exists), annotated as cosign's
static.NewAttestation annotates it: predicateType, and the signature annotation empty.

    mkatt.py DIR IMAGE-REF sha256:IMAGE KEY.pem PREDICATE-FILE PREDICATE-TYPE [options]
      --order=type-first      {"payloadType","payload","signatures":[{"sig"}]} (default)
      --order=payload-first   {"payload","payloadType","signatures":[{"keyid":"","sig"}]}
      --subject=sha256:OTHER  the statement is about another digest
      --also-key=K2.pem       a second signature, by K2, before the one by KEY
      --only-key=K2.pem       the one signature is by K2 (KEY names the statement only)
      --claim=URI             the layer's predicateType annotation (default PREDICATE-TYPE)
      --raw-predicate=1       PREDICATE-FILE's bytes go into the statement as they are (a
                              document with duplicate keys keeps them)
      --subject-created=T     the subject's annotations say org.opencontainers.image.created T
Prints the envelope blob's digest.
"""
import base64
import hashlib
import json
import os
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def put(d, data):
    h = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(d, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(d, "blobs", "sha256", h), "wb") as f:
        f.write(data)
    return "sha256:" + h


def pae(t, p):
    return b"DSSEv1 %d %s %d %s" % (len(t), t.encode(), len(p), p)


def sign(keyfile, data):
    k = serialization.load_pem_private_key(open(keyfile, "rb").read(), None)
    return base64.b64encode(k.sign(data, ec.ECDSA(hashes.SHA256()))).decode()


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    flags = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
    d, ref, image, key, pred_file, ptype = args
    subject = flags.get("subject", image)
    repo = ref.rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref
    st = {"_type": "https://in-toto.io/Statement/v0.1", "predicateType": ptype,
          "subject": [{"name": repo, "digest": {"sha256": subject[7:]}}],
          "predicate": json.load(open(pred_file))}
    if "subject-created" in flags:
        st["subject"][0]["annotations"] = {"org.opencontainers.image.created":
                                           flags["subject-created"]}
    payload = json.dumps(st).encode()
    if flags.get("raw-predicate"):
        del st["predicate"]
        payload = json.dumps(st).encode()[:-1] + b', "predicate": ' + \
            open(pred_file, "rb").read().strip() + b"}"
    t = "application/vnd.in-toto+json"
    keys = [flags["also-key"], key] if "also-key" in flags else [flags.get("only-key", key)]
    first = flags.get("order", "type-first") == "type-first"
    sigs = [({"sig": sign(k, pae(t, payload))} if first else
             {"keyid": "", "sig": sign(k, pae(t, payload))}) for k in keys]
    b64 = base64.b64encode(payload).decode()
    env = ({"payloadType": t, "payload": b64, "signatures": sigs} if first else
           {"payload": b64, "payloadType": t, "signatures": sigs})
    raw = json.dumps(env).encode()
    edig = put(d, raw)
    idx_path = os.path.join(d, "index.json")
    idx = json.load(open(idx_path))
    tag = "%s:sha256-%s.att" % (repo, image[7:])
    old = next((m for m in idx["manifests"]
                if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag), None)
    layers = []
    if old:
        layers = json.load(open(os.path.join(d, "blobs", "sha256", old["digest"][7:])))["layers"]
        idx["manifests"].remove(old)
    layers.append({"mediaType": "application/vnd.dsse.envelope.v1+json", "size": len(raw),
                   "digest": edig, "annotations": {"dev.cosignproject.cosign/signature": "",
                                                   "predicateType": flags.get("claim", ptype)}})
    cfg = {"architecture": "", "created": "0001-01-01T00:00:00Z",
           "history": [{"created": "0001-01-01T00:00:00Z"} for _ in layers], "os": "",
           "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}, "config": {}}
    craw = json.dumps(cfg, separators=(",", ":")).encode()
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                      "size": len(craw), "digest": put(d, craw)}, "layers": layers}
    mraw = json.dumps(man, separators=(",", ":")).encode()
    idx["manifests"].append({"mediaType": man["mediaType"], "size": len(mraw),
                             "digest": put(d, mraw),
                             "annotations": {"org.opencontainers.image.ref.name": tag,
                                             "kind": "dev.cosignproject.cosign/atts"}})
    with open(idx_path, "w") as f:
        json.dump(idx, f, separators=(",", ":"))
    print(edig)


main()
