#!/usr/bin/python3
"""Fills a repository with many tags quickly: the manifest at SRC_TAG (pushed there by skopeo)
is PUT again under each TAG with an annotation naming the tag, so every tag is a distinct image
(its own digest) over the same blobs. Prints "TAG DIGEST" lines.

usage: fill_tags.py REGISTRY REPO SRC_TAG TAG...   (plain HTTP, loopback test registries only)
"""
import hashlib
import http.client
import json
import sys

MT = "application/vnd.oci.image.manifest.v1+json"


def main():
    host, repo, src, tags = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    c = http.client.HTTPConnection(host, timeout=30)
    c.request("GET", f"/v2/{repo}/manifests/{src}", headers={"Accept": MT})
    r = c.getresponse()
    body = r.read()
    if r.status != 200:
        sys.exit(f"GET {repo}:{src}: HTTP {r.status}")
    m = json.loads(body)
    m.setdefault("mediaType", MT)
    for t in tags:
        m["annotations"] = {"dev.airlock.test.tag": t}
        data = json.dumps(m, separators=(",", ":")).encode()
        c.request("PUT", f"/v2/{repo}/manifests/{t}", body=data, headers={"Content-Type": MT})
        r = c.getresponse()
        r.read()
        if r.status != 201:
            sys.exit(f"PUT {repo}:{t}: HTTP {r.status}")
        print(t, "sha256:" + hashlib.sha256(data).hexdigest())


if __name__ == "__main__":
    main()
