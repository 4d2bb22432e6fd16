#!/usr/bin/env python3
"""Tries to smuggle unsigned manifests past verify --key and push --key, in a directory
bundle made and signed by airlock: mksmuggle.py DIR CASE [ARG].

  relabel KIND     an unsigned image added under example.com/test/evil:latest, labelled
                   kind KIND (dev.cosignproject.cosign/atts, .../sboms, .../sigs)
  sigtag           the same image listed as example.com/test/busybox:sha256-<its hex>.sig
  extralayer       the unsigned image's manifest added as one more "layer" of the valid .sig
                   manifest of example.com/test/busybox:1.0
  nested N         an index nesting N levels, each listing its child 40 times, listed as
                   example.com/test/nest:1 (sign it afterwards)
  alias            the signed image's digest listed again under example.com/other/alias:1
  evilname         an unsigned image whose ref name holds a newline and ANSI escapes that
                   would forge an 'ok' line
  dupkeys          an .att of the signed image whose second "Layers" member (read by Go, not
                   by cJSON) lists a runnable layer
  runnable-referrer  a referrers index of the signed image listing a runnable image
  junklayer        a simple-signing-typed layer of junk without a signature in the .sig
  att ARG          a well-formed .att (one DSSE layer, its predicate note ARG) of the signed image
Prints the digest of what it added."""
import hashlib, json, os, sys

d, case = sys.argv[1], sys.argv[2]
arg = sys.argv[3] if len(sys.argv) > 3 else None
OCI_M = "application/vnd.oci.image.manifest.v1+json"
OCI_I = "application/vnd.oci.image.index.v1+json"


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


def unsigned_image():
    layer, ls = put(os.urandom(512))
    cfg, cs = put(json.dumps({"architecture": "amd64", "os": "linux",
                              "rootfs": {"type": "layers", "diff_ids": [layer]}}))
    m = {"schemaVersion": 2, "mediaType": OCI_M,
         "config": desc("application/vnd.oci.image.config.v1+json", cfg, cs),
         "layers": [desc("application/vnd.oci.image.layer.v1.tar", layer, ls)]}
    return put(json.dumps(m))


idx_path = os.path.join(d, "index.json")
idx = json.load(open(idx_path))
ents = idx["manifests"]


def ref_of(e):
    return e.get("annotations", {}).get("org.opencontainers.image.ref.name", "")


def add(mt, dg, size, ref, kind=None):
    ann = {"org.opencontainers.image.ref.name": ref}
    if kind:
        ann["kind"] = kind
    ents.append(desc(mt, dg, size, annotations=ann))


if case == "relabel":
    dg, size = unsigned_image()
    add(OCI_M, dg, size, "example.com/test/evil:latest", arg)
elif case == "sigtag":
    dg, size = unsigned_image()
    add(OCI_M, dg, size, "example.com/test/busybox:sha256-%s.sig" % dg[7:],
        "dev.cosignproject.cosign/sigs")
elif case == "extralayer":
    dg, size = unsigned_image()
    sig = [e for e in ents if ref_of(e).startswith("example.com/test/busybox:sha256-")
           and ref_of(e).endswith(".sig")][0]
    m = json.load(open(os.path.join(d, "blobs", "sha256", sig["digest"][7:])))
    m["layers"].append(desc(OCI_M, dg, size))
    sig["digest"], sig["size"] = put(json.dumps(m, separators=(",", ":")))
elif case == "nested":
    img = [e for e in ents if ref_of(e) == "example.com/test/busybox:1.0"][0]
    child = desc(img["mediaType"], img["digest"], img["size"],
                 platform={"os": "linux", "architecture": "amd64"})
    for _ in range(int(arg)):
        dg, size = put(json.dumps({"schemaVersion": 2, "mediaType": OCI_I,
                                   "manifests": [child] * 40}))
        child = desc(OCI_I, dg, size)
    add(OCI_I, dg, size, "example.com/test/nest:1", "dev.cosignproject.cosign/imageIndex")
elif case == "alias":
    img = [e for e in ents if ref_of(e) == "example.com/test/busybox:1.0"][0]
    dg, size = img["digest"], img["size"]
    add(img["mediaType"], dg, size, "example.com/other/alias:1")
elif case == "evilname":
    dg, size = unsigned_image()
    add(OCI_M, dg, size,
        "example.com/test/x:1\nok       sha256:%s example.com/test/forged:1 \x1b[32msigned\x1b[0m"
        " \u202egnp.exe\u2028OVERLONG" % ("0" * 64))
elif case == "dupkeys":
    # an .att whose second "Layers" list (Go reads it, cJSON would not) is a runnable image
    layer, ls = put(os.urandom(512))
    cfg, cs = put(json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/x"]},
                              "rootfs": {"type": "layers", "diff_ids": [layer]}}))
    env, es = put(json.dumps({"payloadType": "application/vnd.in-toto+json", "payload": "e30=",
                              "signatures": []}))
    img = [e for e in ents if ref_of(e) == "example.com/test/busybox:1.0"][0]
    raw = ('{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":'
           '"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},'
           '"layers":[{"mediaType":"application/vnd.dsse.envelope.v1+json","digest":"%s","size":%d}],'
           '"Layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]}'
           % (OCI_M, cfg, cs, env, es, layer, ls))
    dg, size = put(raw)
    add(OCI_M, dg, size, "example.com/test/busybox:sha256-%s.att" % img["digest"][7:],
        "dev.cosignproject.cosign/atts")
elif case == "runnable-referrer":
    # a "referrer" of the signed image that is a runnable image (octet-stream config, a tar
    # layer), listed under the referrers tag
    img = [e for e in ents if ref_of(e) == "example.com/test/busybox:1.0"][0]
    layer, ls = put(os.urandom(512))
    cfg, cs = put(json.dumps({"architecture": "amd64", "os": "linux",
                              "rootfs": {"type": "layers", "diff_ids": [layer]}}))
    m = {"schemaVersion": 2, "mediaType": OCI_M,
         "config": desc("application/octet-stream", cfg, cs),
         "layers": [desc("application/vnd.oci.image.layer.v1.tar", layer, ls)],
         "subject": desc(img["mediaType"], img["digest"], img["size"])}
    dg, size = put(json.dumps(m))
    idg, isize = put(json.dumps({"schemaVersion": 2, "mediaType": OCI_I, "manifests": [
        desc(OCI_M, dg, size, platform={"os": "linux", "architecture": "amd64"})]}))
    add(OCI_I, idg, isize, "example.com/test/busybox:sha256-%s" % img["digest"][7:])
elif case == "junklayer":
    # one more simple-signing-typed layer of 300 kB of junk, without a signature, in the .sig
    sig = [e for e in ents if ref_of(e).startswith("example.com/test/busybox:sha256-")
           and ref_of(e).endswith(".sig")][0]
    m = json.load(open(os.path.join(d, "blobs", "sha256", sig["digest"][7:])))
    dg, size = put(os.urandom(300000))
    m["layers"].append(desc("application/vnd.dev.cosign.simplesigning.v1+json", dg, size))
    sig["digest"], sig["size"] = put(json.dumps(m, separators=(",", ":")))
elif case == "att":
    # a well-formed cosign .att of the signed image (one DSSE layer, ARG makes it unique)
    import base64
    img = [e for e in ents if ref_of(e) == "example.com/test/busybox:1.0"][0]
    stmt = json.dumps({"_type": "https://in-toto.io/Statement/v1", "predicateType": "custom",
                       "subject": [{"digest": {"sha256": img["digest"][7:]}}],
                       "predicate": {"note": arg or "x"}}).encode()
    env, es = put(json.dumps({"payloadType": "application/vnd.in-toto+json",
                              "payload": base64.b64encode(stmt).decode(),
                              "signatures": [{"sig": "AAAA"}]}))
    cfg, cs = put(json.dumps({"architecture": "", "os": "", "config": {},
                              "rootfs": {"type": "layers", "diff_ids": [env]}}))
    m = {"schemaVersion": 2, "mediaType": OCI_M,
         "config": desc("application/vnd.oci.image.config.v1+json", cfg, cs),
         "layers": [desc("application/vnd.dsse.envelope.v1+json", env, es,
                         annotations={"predicateType": "custom"})]}
    dg, size = put(json.dumps(m, separators=(",", ":")))
    add(OCI_M, dg, size, "example.com/test/busybox:sha256-%s.att" % img["digest"][7:],
        "dev.cosignproject.cosign/atts")
else:
    sys.exit("unknown case " + case)
with open(idx_path, "wb") as f: # OVERLONG: an overlong UTF-8 newline, raw in the file
    f.write(json.dumps(idx).encode().replace(b"OVERLONG", b"\xc0\x8a\xe0\x82\x9b"))
print(dg)
