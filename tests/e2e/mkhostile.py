#!/usr/bin/env python3
"""Writes hostile variants of a good bundle tar: mkhostile.py GOOD.tar CASE OUT."""
import hashlib, io, json, os, subprocess, sys, tarfile

good, case, out = sys.argv[1:]
with tarfile.open(good) as t:
    ents = [(m, t.extractfile(m).read() if m.isfile() else None) for m in t.getmembers()]
index = [d for m, d in ents if m.name == "index.json"][0]


def info(name, data=b"", **kw):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti, data


def write(extra=(), replace=None, fmt=tarfile.USTAR_FORMAT, path=out):
    with tarfile.open(path, "w", format=fmt) as t:
        for m, d in ents:
            if replace and m.name in replace:
                d = replace[m.name]
                m.size = len(d)
            t.addfile(m, io.BytesIO(d) if d is not None else None)
        for ti, d in extra:
            t.addfile(ti, io.BytesIO(d))


if case == "dotdot":
    write([info("blobs/../../evil", b"x")])
elif case == "absolute":
    write([info("/tmp/airlock-evil", b"x")])
elif case == "symlink":
    write([info("blobs/sha256/" + "1" * 64, type=tarfile.SYMTYPE, linkname="/etc/passwd")])
elif case == "hardlink":
    write([info("blobs/sha256/" + "1" * 64, type=tarfile.LNKTYPE, linkname="index.json")])
elif case == "device":
    write([info("blobs/sha256/" + "1" * 64, type=tarfile.CHRTYPE, devmajor=1, devminor=3)])
elif case == "truncated":
    write(path=out + ".full")
    data = open(out + ".full", "rb").read()
    os.unlink(out + ".full")
    # cut in the middle of the largest blob's data
    big = max((m for m, d in ents if m.isfile()), key=lambda m: m.size)
    open(out, "wb").write(data[: big.offset_data + big.size // 2])
elif case == "bomb":
    # a header that claims 64 GiB of data, followed by zeros: compresses to almost nothing
    hdr = tarfile.TarInfo("blobs/sha256/" + "2" * 64)
    hdr.size = 64 << 30
    raw = io.BytesIO()
    write(path=out + ".tar")
    body = open(out + ".tar", "rb").read().rstrip(b"\0")
    body += b"\0" * (-len(body) % 512)
    os.unlink(out + ".tar")
    p = subprocess.Popen(["zstd", "-q", "-c"], stdin=subprocess.PIPE, stdout=open(out, "wb"))
    p.stdin.write(body + hdr.tobuf(tarfile.GNU_FORMAT))
    zero = b"\0" * (1 << 20)
    for _ in range(16):  # 16 MiB of zeros is enough to show the stream, not to fill it
        p.stdin.write(zero)
    p.stdin.close()
    p.wait()
elif case == "huge_index":
    write(replace={"index.json": b'{"schemaVersion":2,"manifests":[],"x":"' + b"a" * (17 << 20) + b'"}'})
elif case == "deep_json":
    write(replace={"index.json": b'{"schemaVersion":2,"manifests":[],"x":' + b"[" * 5000 + b"]" * 5000 + b"}"})
elif case == "bad_algorithm":
    j = json.loads(index)
    j["manifests"][0]["digest"] = "sha512:" + "0" * 128
    write(replace={"index.json": json.dumps(j).encode()})
elif case == "bad_digest_form":
    j = json.loads(index)
    j["manifests"][0]["digest"] = "sha256:XYZ"
    write(replace={"index.json": json.dumps(j).encode()})
elif case == "blob_name_algorithm":
    write([info("blobs/sha512/" + "0" * 64, b"x")])
elif case == "blob_name_form":
    write([info("blobs/sha256/not-a-digest", b"x")])
elif case == "content_mismatch":
    # the largest blob (a layer) gets other content of the same size
    big = max((m for m, d in ents if m.isfile()), key=lambda m: m.size)
    write(replace={big.name: bytes(big.size)})
elif case == "docker_escape":
    # a docker-save archive whose layer is a symlink out of the archive
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "3" * 64]}}).encode()
    with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as t:
        for ti, d in (info("c.json", cfg),
                      info("l/layer.tar", type=tarfile.SYMTYPE, linkname="../../../etc/passwd"),
                      info("manifest.json", json.dumps([{"Config": "c.json", "RepoTags": ["x:1"],
                                                         "Layers": ["l/layer.tar"]}]).encode())):
            t.addfile(ti, io.BytesIO(d))
else:
    sys.exit("unknown case " + case)
