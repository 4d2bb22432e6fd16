#!/usr/bin/env python3
"""Builds a bundle holding real cosign signatures (containers/image fixtures) over their
manifests: mkcosignbundle.py FIXTURES_DIR OUT.tar. The images' configs and layers are not in
the fixtures, so the bundle deliberately omits them: its signatures are valid, its integrity
is not."""
import base64, hashlib, io, json, sys, tarfile

fx, out = sys.argv[1:]
blobs, entries = {}, []

def blob(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[d] = data
    return d

def sig_layers(*files):
    layers = []
    for f in files:
        raw = open(f, "rb").read()
        assert raw.startswith(b"\0sigstore-json\n")
        j = json.loads(raw[15:])
        payload = base64.b64decode(j["payload"])
        layers.append({"mediaType": j["mimeType"], "size": len(payload), "digest": blob(payload),
                       "annotations": j["annotations"]})
    return layers

def add(name, manifest_file, sig_files):
    man = open(manifest_file, "rb").read()
    d = blob(man)
    entries.append({"mediaType": json.loads(man).get("mediaType", "application/vnd.docker.distribution.manifest.v2+json"),
                    "digest": d, "size": len(man), "annotations": {"org.opencontainers.image.ref.name": name}})
    layers = sig_layers(*sig_files)
    cfg = json.dumps({"architecture": "", "created": "0001-01-01T00:00:00Z",
                      "history": [{"created": "0001-01-01T00:00:00Z"}] * len(layers), "os": "",
                      "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}, "config": {}},
                     separators=(",", ":")).encode()
    sm = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                     "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": len(cfg), "digest": blob(cfg)},
                     "layers": layers}, separators=(",", ":")).encode()
    repo = name.rsplit(":", 1)[0]
    entries.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": blob(sm), "size": len(sm),
                    "annotations": {"org.opencontainers.image.ref.name": "%s:sha256-%s.sig" % (repo, d[7:]),
                                    "kind": "dev.cosignproject.cosign/sigs"}})

add("192.168.64.2:5000/cosign-signed-single-sample:latest", fx + "/dir-img-cosign-valid/manifest.json",
    [fx + "/dir-img-cosign-valid/signature-1", fx + "/dir-img-cosign-valid-2/signature-2"])
add("192.168.64.2:5000/cosign-signed/with-tag:tag", fx + "/dir-img-cosign-valid-with-tag/manifest.json",
    [fx + "/dir-img-cosign-valid-with-tag/signature-1"])
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    def put(name, data):
        ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
    put("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    for d, data in blobs.items():
        put("blobs/sha256/" + d[7:], data)
    put("index.json", json.dumps({"schemaVersion": 2, "manifests": entries}).encode())

# the Rekor-uploaded one (pretty-printed manifest, bundle annotation) is signed by cosign2.pub
blobs, entries = {}, []
add("192.168.64.2:5000/cosign-rekor:latest", fx + "/dir-img-cosign-key-rekor-valid/manifest.json",
    [fx + "/dir-img-cosign-key-rekor-valid/signature-1"])
with tarfile.open(out.replace(".tar", "-rekor.tar"), "w", format=tarfile.PAX_FORMAT) as t:
    def put(name, data):
        ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
    put("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    for d, data in blobs.items():
        put("blobs/sha256/" + d[7:], data)
    put("index.json", json.dumps({"schemaVersion": 2, "manifests": entries}).encode())
