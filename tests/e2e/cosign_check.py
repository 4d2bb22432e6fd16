#!/usr/bin/env python3
"""An independent check of the cosign signatures in a bundle, with python3-cryptography:
cosign_check.py BUNDLE(.tar or dir) PUBKEY.pem. For every .sig manifest: its shape is the one
cosign >= 2.2 writes (FORMATS.md section 3), every layer's signature verifies over the stored
payload, and the payload names the image digest of its tag. Prints one line per signature."""
import base64, hashlib, json, os, sys, tarfile
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

bundle, pubfile = sys.argv[1:3]
pub = serialization.load_pem_public_key(open(pubfile, "rb").read())

if os.path.isdir(bundle):
    def read(name):
        return open(os.path.join(bundle, name), "rb").read()
else:
    files = {}
    with tarfile.open(bundle) as t:
        for m in t.getmembers():  # the last copy of a name wins, as in tar
            if m.isfile():
                files[m.name.lstrip("./") if m.name.startswith("./") else m.name] = t.extractfile(m).read()
    def read(name):
        return files[name]

def blob(d):
    data = read("blobs/sha256/" + d.split(":", 1)[1])
    assert "sha256:" + hashlib.sha256(data).hexdigest() == d, "blob %s corrupt" % d
    return data

def pairs(b):
    return json.loads(b, object_pairs_hook=lambda kv: kv)

index = json.loads(read("index.json"))
count = 0
for e in index["manifests"]:
    ref = e.get("annotations", {}).get("org.opencontainers.image.ref.name", "")
    if not ref.endswith(".sig"):
        continue
    subject = "sha256:" + ref.rsplit(":sha256-", 1)[1][:-4]
    raw = blob(e["digest"])
    assert b" " not in raw and b"\n" not in raw, "manifest is not compact"
    m = pairs(raw)
    assert [k for k, _ in m] == ["schemaVersion", "mediaType", "config", "layers"], m
    man = json.loads(raw)
    assert man["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert [k for k, _ in dict(m)["config"]] == ["mediaType", "size", "digest"]
    cfg = json.loads(blob(man["config"]["digest"]))
    assert cfg["rootfs"]["diff_ids"] == [l["digest"] for l in man["layers"]]
    assert len(cfg["history"]) == len(man["layers"])
    for lp, l in zip(dict(m)["layers"], man["layers"]):
        assert [k for k, _ in lp][:3] == ["mediaType", "size", "digest"]
        assert l["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
        payload = blob(l["digest"])
        sig = base64.b64decode(l["annotations"]["dev.cosignproject.cosign/signature"], validate=True)
        try:
            pub.verify(sig, payload, ec.ECDSA(hashes.SHA256()))
        except Exception:
            print("other key: layer %s" % l["digest"])
            continue
        p = pairs(payload)
        assert [k for k, _ in p] == ["critical", "optional"]
        crit = dict(dict(p)["critical"])
        assert list(crit) == ["identity", "image", "type"]
        assert crit["type"] == "cosign container image signature"
        digest = dict(crit["image"])["docker-manifest-digest"]
        assert digest == subject, (digest, subject)
        print("ok %s %s" % (digest, dict(crit["identity"])["docker-reference"]))
        count += 1
if not count:
    sys.exit("no signatures")
