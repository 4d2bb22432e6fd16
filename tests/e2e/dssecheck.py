#!/usr/bin/env python3
"""An independent DSSE checker for airlock's attestations (python3-cryptography, no airlock
code): FILE is a bare DSSE envelope (an .att layer) or a sigstore bundle (v0.3, dsseEnvelope).
Checks the payloadType, an ECDSA P-256 SHA-256 signature over the PAE with KEY.pub, that the
payload is an in-toto statement with a subject of DIGEST, and prints its predicateType.

    dssecheck.py FILE KEY.pub sha256:DIGEST [--predicate-out=FILE]
"""
import base64
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def main():
    path, keyfile, digest = sys.argv[1:4]
    doc = json.load(open(path))
    env = doc.get("dsseEnvelope", doc)
    t = env["payloadType"]
    if t != "application/vnd.in-toto+json":
        sys.exit("payloadType %r" % t)
    payload = base64.b64decode(env["payload"])
    msg = b"DSSEv1 %d %s %d %s" % (len(t), t.encode(), len(payload), payload)
    key = serialization.load_pem_public_key(open(keyfile, "rb").read())
    ok = 0
    for s in env["signatures"]:
        try:
            key.verify(base64.b64decode(s["sig"]), msg, ec.ECDSA(hashes.SHA256()))
            ok += 1
        except InvalidSignature:
            pass
    if not ok:
        sys.exit("no signature verifies")
    st = json.loads(payload)
    if st["_type"] not in ("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1"):
        sys.exit("_type %r" % st["_type"])
    if not any(s.get("digest", {}).get("sha256") == digest[7:] for s in st["subject"]):
        sys.exit("no subject %s" % digest)
    for a in sys.argv[4:]:
        if a.startswith("--predicate-out="):
            json.dump(st["predicate"], open(a.split("=", 1)[1], "w"))
    print(st["predicateType"])


main()
