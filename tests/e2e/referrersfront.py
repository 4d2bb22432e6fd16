#!/usr/bin/env python3
"""A referrers-API front for the real Distribution registry (test-only). Distribution 2.8 has
no OCI 1.1 referrers API and Debian 12 ships no registry that has one, so this answers

    GET /v2/<repo>/referrers/<digest>[?artifactType=T]

from what the registry holds: it reads the registry's filesystem storage (the repository's
manifest revisions and their blobs) and lists every manifest whose `subject` is <digest>, as
distribution-spec 1.1 says (200, an OCI image index, descriptors with `artifactType` and the
manifest's `annotations`; `OCI-Filters-Applied: artifactType` when filtered), and answers a
manifest PUT whose body has a subject with `OCI-Subject: <digest>`, as a registry with the API
does (so clients such as @sigstore/oci then write no fallback tag). Every other request goes
to the registry unchanged (Host kept, one request per connection).

    referrersfront.py PORT UPSTREAM_HOST:PORT STORAGE_ROOT LOG [CONTENT_TYPE]

CONTENT_TYPE replaces the referrers answer's type (a registry answering 200 with something
that is not an OCI index, which clients must not take for the API). A sixth argument `forget`
makes it a registry that claims the API but never indexes: every answer lists nothing and no
PUT gets OCI-Subject.
"""
import json, os, re, socket, sys, threading
from urllib.parse import parse_qs, unquote, urlsplit

port, upstream, root, log_file = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
uhost, uport = upstream.rsplit(":", 1)
log = open(log_file, "a", buffering=1)
answer_type = sys.argv[5] if len(sys.argv) > 5 else "application/vnd.oci.image.index.v1+json"
forget = len(sys.argv) > 6 and sys.argv[6] == "forget"
V2 = os.path.join(root, "docker", "registry", "v2")
REPO = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
REFERRERS = re.compile(r"^/v2/(.+)/referrers/(sha256:[0-9a-f]{64})$")


def read_head(sock):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


def header(lines, name):
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name:
            return v.strip()
    return None


def referrers(repo, digest, artifact_type):
    revs = os.path.join(V2, "repositories", repo, "_manifests", "revisions", "sha256")
    out = []
    for hexd in sorted(os.listdir(revs)) if os.path.isdir(revs) and not forget else []:
        data = os.path.join(V2, "blobs", "sha256", hexd[:2], hexd, "data")
        try:
            raw = open(data, "rb").read(4 << 20)
            m = json.loads(raw)
        except (OSError, ValueError):
            continue
        if not isinstance(m, dict) or not isinstance(m.get("subject"), dict):
            continue
        if m["subject"].get("digest") != digest:
            continue
        at = m.get("artifactType") or (m.get("config") or {}).get("mediaType")
        if artifact_type and at != artifact_type:
            continue
        d = {"mediaType": m.get("mediaType", "application/vnd.oci.image.manifest.v1+json"),
             "size": len(raw), "digest": "sha256:" + hexd}
        if at:
            d["artifactType"] = at
        if m.get("annotations"):
            d["annotations"] = m["annotations"]
        out.append(d)
    return {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": out}


def answer(client, repo, digest, query):
    at = (parse_qs(query).get("artifactType") or [None])[0]
    body = json.dumps(referrers(repo, digest, at)).encode()
    extra = "OCI-Filters-Applied: artifactType\r\n" if at else ""
    client.sendall(("HTTP/1.1 200 OK\r\nContent-Type: %s\r\n"
                    "Content-Length: %d\r\n%sConnection: close\r\n\r\n" % (answer_type, len(body), extra))
                   .encode() + body)


def serve(client):
    try:
        head, rest = read_head(client)
        if head is None:
            return
        lines = head.split("\r\n")
        method, target = lines[0].split(" ")[:2]
        u = urlsplit(target)
        m = REFERRERS.match(unquote(u.path))
        log.write("%s %s%s\n" % (method, target, " (referrers)" if m else ""))
        if method == "GET" and m and REPO.match(m.group(1)):
            answer(client, m.group(1), m.group(2), u.query)
            return
        length = int(header(lines, "content-length") or 0)
        up = socket.create_connection((uhost, int(uport)))
        out = [l for l in lines if not l.lower().startswith("connection:")]
        up.sendall(("\r\n".join(out) + "\r\nConnection: close\r\n\r\n").encode("latin-1"))
        sent, data, body = 0, rest, b""
        manifest_put = method == "PUT" and "/manifests/" in u.path and length <= (4 << 20)
        while True:
            if data:
                up.sendall(data)
                sent += len(data)
                if manifest_put:
                    body += data
            if sent >= length:
                break
            data = client.recv(65536)
            if not data:
                up.close()
                return
        subject = None
        if manifest_put:
            try:
                subject = json.loads(body).get("subject", {}).get("digest")
            except (ValueError, AttributeError):
                subject = None
        rhead, rrest = read_head(up)
        if rhead is None:
            return
        rlines = [l for l in rhead.split("\r\n") if not l.lower().startswith("connection:")]
        if subject and not forget and rlines[0].split(" ")[1:2] == ["201"]:
            rlines.append("OCI-Subject: %s" % subject)
        client.sendall(("\r\n".join(rlines) + "\r\nConnection: close\r\n\r\n").encode("latin-1"))
        data = rrest
        while data:
            client.sendall(data)
            data = up.recv(65536)
        up.close()
    except OSError:
        pass
    finally:
        try:
            client.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        client.close()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(64)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
