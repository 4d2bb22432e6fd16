#!/usr/bin/env python3
"""Writes the third-party-shaped inputs the end-to-end cases import, from the umoci layouts
L and L2 in the fixtures folder: a multi-arch layout, a legacy docker-save archive (with a
duplicate layer stored as a symlink, as Docker does), a Docker 25 style save (OCI layout plus
manifest.json), a cosign-save style layout, and a hauler style haul.tar.zst."""
import gzip, hashlib, io, json, os, shutil, subprocess, sys, tarfile

root = sys.argv[1]
os.chdir(root)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def layout_image(path):
    idx = json.load(open(f"{path}/index.json"))
    d = idx["manifests"][0]
    man = open(f"{path}/blobs/sha256/{d['digest'][7:]}", "rb").read()
    m = json.loads(man)
    cfg = open(f"{path}/blobs/sha256/{m['config']['digest'][7:]}", "rb").read()
    layers = [open(f"{path}/blobs/sha256/{l['digest'][7:]}", "rb").read() for l in m["layers"]]
    return d, man, m, cfg, layers


def blob(dirpath, data):
    os.makedirs(f"{dirpath}/blobs/sha256", exist_ok=True)
    h = sha(data)
    with open(f"{dirpath}/blobs/sha256/{h}", "wb") as f:
        f.write(data)
    return "sha256:" + h


def write_layout(dirpath, manifests):
    with open(f"{dirpath}/oci-layout", "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')
    with open(f"{dirpath}/index.json", "w") as f:
        json.dump({"schemaVersion": 2, "manifests": manifests}, f, indent=3)


def add(t, name, data, **kw):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    for k, v in kw.items():
        setattr(ti, k, v)
    t.addfile(ti, io.BytesIO(data))


d1, man1, m1, cfg1, layers1 = layout_image("L")
d2, man2, m2, cfg2, layers2 = layout_image("L2")

# --- multi-arch: an index over L (amd64) and L2 (arm64) -----------------------------------
shutil.rmtree("multi", ignore_errors=True)
for man, m, cfg, layers in ((man1, m1, cfg1, layers1), (man2, m2, cfg2, layers2)):
    blob("multi", man)
    blob("multi", cfg)
    for l in layers:
        blob("multi", l)
index = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d1["digest"],
         "size": d1["size"], "platform": {"architecture": "amd64", "os": "linux"}},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d2["digest"],
         "size": d2["size"], "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
    ]}, indent=2).encode()  # pretty-printed on purpose: digests are over raw bytes
idig = blob("multi", index)
write_layout("multi", [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": idig,
                        "size": len(index),
                        "annotations": {"org.opencontainers.image.ref.name": "example.com/multi:1"}}])
open("multi.digest", "w").write(idig[7:] + "\n")

# --- legacy docker save: <id>/layer.tar, <config>.json, manifest.json, repositories ---------
raw_layer = gzip.decompress(layers1[0])
cfg_j = json.loads(cfg1)
assert cfg_j["rootfs"]["diff_ids"][0] == "sha256:" + sha(raw_layer)
cfg_b = json.loads(cfg1)
cfg_b.setdefault("config", {})["Labels"] = {"variant": "b"}
cfg_b_bytes = json.dumps(cfg_b).encode()
v1a, v1b = "a" * 64, "b" * 64
with tarfile.open("legacy.tar", "w", format=tarfile.USTAR_FORMAT) as t:
    add(t, f"{v1a}/VERSION", b"1.0")
    add(t, f"{v1a}/json", b'{"id":"' + v1a.encode() + b'"}')
    add(t, f"{v1a}/layer.tar", raw_layer)
    add(t, f"{v1b}/VERSION", b"1.0")
    # the same layer again: Docker stores it as a symlink to the first copy
    add(t, f"{v1b}/layer.tar", b"", type=tarfile.SYMTYPE, linkname=f"../{v1a}/layer.tar")
    add(t, sha(cfg1) + ".json", cfg1)
    add(t, sha(cfg_b_bytes) + ".json", cfg_b_bytes)
    add(t, "manifest.json", json.dumps([
        {"Config": sha(cfg1) + ".json", "RepoTags": ["busybox:legacy"], "Layers": [f"{v1a}/layer.tar"]},
        {"Config": sha(cfg_b_bytes) + ".json", "RepoTags": ["example.com/dup:1", "example.com/dup:latest"],
         "Layers": [f"{v1b}/layer.tar"]},
    ]).encode())
    add(t, "repositories", json.dumps({"busybox": {"legacy": v1a}}).encode())
open("legacy.layer.digest", "w").write(sha(raw_layer) + "\n")

# --- Docker 25 save: OCI layout + manifest.json, uncompressed layers, containerd name --------
man25 = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": "sha256:" + sha(cfg1), "size": len(cfg1)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": "sha256:" + sha(raw_layer), "size": len(raw_layer)}]}).encode()
with tarfile.open("d25.tar", "w", format=tarfile.PAX_FORMAT) as t:
    for data in (raw_layer, cfg1, man25, b'{"id":"legacy v1 json nobody references"}'):
        add(t, "blobs/sha256/" + sha(data), data)
    add(t, "index.json", json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": "sha256:" + sha(man25), "size": len(man25),
                       "annotations": {"io.containerd.image.name": "docker.io/library/busybox:d25",
                                       "org.opencontainers.image.ref.name": "d25"},
                       "platform": {"architecture": "amd64", "os": "linux"}}]}).encode())
    add(t, "manifest.json", json.dumps([{"Config": "blobs/sha256/" + sha(cfg1), "RepoTags": ["busybox:d25"],
                                         "Layers": ["blobs/sha256/" + sha(raw_layer)]}]).encode())
    add(t, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    add(t, "repositories", b'{}')
open("d25.digest", "w").write(sha(man25) + "\n")

# --- Docker 25+ with the containerd store: the whole index, only one platform's blobs ------
def partial(path, with_second):
    missing = json.dumps({"schemaVersion": 2, "note": "arm64 manifest not saved"}).encode()
    idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d1["digest"], "size": d1["size"],
             "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d2["digest"], "size": d2["size"],
             "platform": {"architecture": "arm64", "os": "linux"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + sha(missing),
             "size": len(missing), "platform": {"architecture": "unknown", "os": "unknown"}}]}).encode()
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
        blobs = [idx, man1, cfg1] + layers1
        if with_second:
            blobs += [man2, cfg2] + layers2
        for data in blobs:
            add(t, "blobs/sha256/" + sha(data), data)
        add(t, "index.json", json.dumps({"schemaVersion": 2, "manifests": [
            {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + sha(idx),
             "size": len(idx), "annotations": {"io.containerd.image.name": "docker.io/library/busybox:ctrd",
                                               "org.opencontainers.image.ref.name": "ctrd"}}]}).encode())
        add(t, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    return sha(idx)

open("ctrd.index.digest", "w").write(partial("ctrd.tar", False) + "\n")
partial("ctrd2.tar", True)

# --- a cosign signature manifest for L (shape of FORMATS.md section 3; not a real signature)
def sig_manifest(image_digest, ref):
    payload = json.dumps({"critical": {"identity": {"docker-reference": ref},
                                       "image": {"docker-manifest-digest": image_digest},
                                       "type": "cosign container image signature"},
                          "optional": None}, separators=(",", ":")).encode()
    cfg = json.dumps({"architecture": "", "created": "0001-01-01T00:00:00Z",
                      "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
                      "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(payload)]},
                      "config": {}}, separators=(",", ":")).encode()
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "size": len(cfg), "digest": "sha256:" + sha(cfg)},
                      "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                                  "size": len(payload), "digest": "sha256:" + sha(payload),
                                  "annotations": {"dev.cosignproject.cosign/signature": "MEUCIQ=="}}]},
                     separators=(",", ":")).encode()
    return man, cfg, payload

# --- cosign save: entries carry only "kind" ---------------------------------------------------
shutil.rmtree("cosign", ignore_errors=True)
for data in [man1, cfg1] + layers1:
    blob("cosign", data)
sman, scfg, spay = sig_manifest(d1["digest"], "example.com/cos")
for data in (sman, scfg, spay):
    blob("cosign", data)
write_layout("cosign", [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d1["digest"], "size": d1["size"],
     "annotations": {"kind": "dev.cosignproject.cosign/image"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + sha(sman),
     "size": len(sman), "annotations": {"kind": "dev.cosignproject.cosign/sigs"}},
])

# --- hauler store: zstd tar of a layout with "./" names --------------------------------------
shutil.rmtree("haul", ignore_errors=True)
for data in [man1, cfg1] + layers1 + [sman, scfg, spay]:
    blob("haul", data)
write_layout("haul", [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d1["digest"], "size": d1["size"],
     "annotations": {"io.containerd.image.name": "docker.io/library/busybox:stable",
                     "org.opencontainers.image.ref.name": "library/busybox:stable",
                     "kind": "dev.cosignproject.cosign/image"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + sha(sman),
     "size": len(sman), "annotations": {
         "org.opencontainers.image.ref.name": "library/busybox:sha256-" + d1["digest"][7:] + ".sig",
         "kind": "dev.cosignproject.cosign/sigs"}},
])
with open("haul.tar", "wb") as f:
    subprocess.run(["tar", "-C", "haul", "-cf", "-", "."], stdout=f, check=True)
subprocess.run(["zstd", "-q", "-f", "--rm", "haul.tar", "-o", "haul.tar.zst"], check=True)
print("archives written")
