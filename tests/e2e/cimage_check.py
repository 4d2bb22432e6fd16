#!/usr/bin/env python3
"""An independent, strict check of what a consumer with containers/image's default policy
(sigstoreSigned, signedIdentity matchRepoDigestOrExact) accepts, talking plain HTTP to the
registry, with python3-cryptography and nothing from airlock:

    cimage_check.py PUBKEY.pem HOST:PORT/REPO:TAG|HOST:PORT/REPO@DIGEST...

For each reference, and for each platform manifest of an index, pulled by tag and by digest:
the manifest's own REPO:sha256-<hex>.sig is fetched, every simple-signing layer's signature is
verified over the payload bytes with the key, the payload is read strictly (containers/image's
members, type, digest of that manifest), and its docker-reference must satisfy
matchRepoDigestOrExact for the reference pulled: by tag the same reference, exactly (a
reference without a tag never matches); by digest the same repository. One line per check;
exit 1 if any fails."""
import base64, hashlib, json, re, sys, urllib.error, urllib.request
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])
INDEXES = ("application/vnd.oci.image.index.v1+json",
           "application/vnd.docker.distribution.manifest.list.v2+json")
SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIG_ANN = "dev.cosignproject.cosign/signature"


# --- references, as distribution/reference's ParseNormalizedNamed reads them (no default tag)
COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")


class Ref:
    def __init__(self, s):
        name, self.digest = (s.split("@", 1) + [None])[:2]
        if self.digest is not None and not re.fullmatch(r"sha256:[0-9a-f]{64}", self.digest):
            raise ValueError("bad digest in %r" % s)
        self.tag = None
        slash = name.rfind("/")
        colon = name.rfind(":")
        if colon > slash:
            name, self.tag = name[:colon], name[colon + 1:]
            if not re.fullmatch(r"[\w][\w.-]{0,127}", self.tag):
                raise ValueError("bad tag in %r" % s)
        first, _, rest = name.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
            domain, path = first, rest
        else:
            domain, path = "docker.io", name
        if domain == "index.docker.io":
            domain = "docker.io"
        if domain == "docker.io" and "/" not in path:
            path = "library/" + path
        if not all(COMPONENT.match(c) for c in path.split("/")):
            raise ValueError("bad repository in %r" % s)
        self.name = domain + "/" + path

    def __str__(self):
        return self.name + (":" + self.tag if self.tag is not None else "") + \
            ("@" + self.digest if self.digest is not None else "")


def match_repo_digest_or_exact(signed, intended):
    """containers/image signature/policy_reference_match.go, matchRepoDigestOrExact."""
    try:
        s = Ref(signed)
    except ValueError:
        return False
    if s.tag is None and s.digest is None:  # reference.IsNameOnly(signature): never
        return False
    if intended.tag is not None:  # reference.Tagged, also with a digest
        return str(s) == str(intended)
    if intended.digest is not None:  # reference.Canonical
        return s.name == intended.name
    return False


# --- the registry, over plain HTTP
def get(host, path, accept=None):
    req = urllib.request.Request("http://%s%s" % (host, path))
    if accept:
        req.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None, None
        raise


def manifest(host, repo, ref):
    body, ctype = get(host, "/v2/%s/manifests/%s" % (repo, ref), ACCEPT)
    if body is None:
        return None, None, None
    mt = json.loads(body).get("mediaType") or ctype
    return body, mt, "sha256:" + hashlib.sha256(body).hexdigest()


def strict_payload(raw, digest):
    """The docker-reference of a simple-signing payload as containers/image reads it, or why not."""
    p = json.loads(raw)
    if set(p) != {"critical", "optional"}:
        return None, "payload members %s" % sorted(p)
    c = p["critical"]
    if set(c) != {"identity", "image", "type"} or c["type"] != "cosign container image signature":
        return None, "critical %s" % sorted(c)
    if set(c["identity"]) != {"docker-reference"} or set(c["image"]) != {"docker-manifest-digest"}:
        return None, "identity/image members"
    if c["image"]["docker-manifest-digest"] != digest:
        return None, "signs %s" % c["image"]["docker-manifest-digest"]
    return c["identity"]["docker-reference"], None


def signed_identities(host, repo, digest, pub):
    """The docker-references of the verified, strictly read payloads of digest's .sig."""
    body, mt, _ = manifest(host, repo, "sha256-%s.sig" % digest[7:])
    if body is None:
        return [], ["no %s:sha256-%s.sig" % (repo, digest[7:])]
    m = json.loads(body)
    if mt != "application/vnd.oci.image.manifest.v1+json":
        return [], ["signature manifest of type %s" % mt]
    ids, why = [], []
    for l in m.get("layers", []):
        if l.get("mediaType") != SIMPLESIGNING:
            why.append("layer type %s" % l.get("mediaType"))
            continue
        raw, _ = get(host, "/v2/%s/blobs/%s" % (repo, l["digest"]))
        if raw is None or "sha256:" + hashlib.sha256(raw).hexdigest() != l["digest"]:
            why.append("payload %s missing or corrupt" % l["digest"])
            continue
        try:
            pub.verify(base64.b64decode(l["annotations"][SIG_ANN], validate=True), raw,
                       ec.ECDSA(hashes.SHA256()))
        except Exception:
            why.append("layer %s does not verify with the key" % l["digest"])
            continue
        ident, bad = strict_payload(raw, digest)
        if bad:
            why.append(bad)
        else:
            ids.append(ident)
    return ids, why


def check(host, repo, digest, intended, pub, what):
    ids, why = signed_identities(host, repo, digest, pub)
    ok = any(match_repo_digest_or_exact(i, intended) for i in ids)
    print("%s %s %s (pulled as %s; signed as %s)%s" % (
        "ok  " if ok else "FAIL", what, digest, intended, ", ".join(ids) or "nothing",
        "" if ok or not why else ": " + "; ".join(why)))
    return ok


D1, D2 = "sha256:" + "ab" * 32, "sha256:" + "cd" * 32
# (signed docker-reference, pulled as, accepted): the cases tests/unit/test_sign.c gives
# airlock's own rule, so the two readings of matchRepoDigestOrExact are held to one table
TABLE = [
    ("registry.internal/devops/library/nginx:1.27", "registry.internal/devops/library/nginx:1.27", True),
    ("registry.internal/devops/library/nginx", "registry.internal/devops/library/nginx:1.27", False),
    ("registry.internal/devops/library/nginx", "registry.internal/devops/library/nginx:latest", False),
    ("registry.internal/devops/library/nginx:1.26", "registry.internal/devops/library/nginx:1.27", False),
    ("registry.internal/devops/nginx:1.27", "registry.internal/devops/library/nginx:1.27", False),
    ("registry.internal/devops/library/nginx/x:1.27", "registry.internal/devops/library/nginx:1.27", False),
    ("registry.internal/devops/library/nginx@" + D1, "registry.internal/devops/library/nginx:1.27", False),
    ("index.docker.io/library/nginx", "registry.internal/devops/library/nginx:1.27", False),
    ("registry.internal:5000/devops/library/nginx:1.27", "registry.internal/devops/library/nginx:1.27", False),
    ("nginx:1.27", "docker.io/library/nginx:1.27", True),
    ("index.docker.io/library/nginx:1.27", "nginx:1.27", True),
    ("docker.io/nginx:1.27", "library/nginx:1.27", True),
    ("docker.io/nginx", "nginx:latest", False),
    ("docker.io/other/nginx:1.27", "nginx:1.27", False),
    ("registry.internal/devops/library/nginx", "registry.internal/devops/library/nginx@" + D1, False),
    ("registry.internal/devops/library/nginx@" + D2, "registry.internal/devops/library/nginx@" + D1, True),
    ("registry.internal/devops/library/nginx:1.27", "registry.internal/devops/library/nginx@" + D1, True),
    ("registry.internal/devops/nginx", "registry.internal/devops/library/nginx@" + D1, False),
    ("index.docker.io/library/nginx", "nginx@" + D1, False),
    ("r.io/a/b:1@" + D1, "r.io/a/b:1@" + D1, True),
    ("r.io/a/b:1", "r.io/a/b:1@" + D1, False),
    ("r.io/a/b:1@" + D2, "r.io/a/b:1@" + D1, False),
    ("r.io/a/b:1@" + D1, "r.io/a/b:1", False),
    ("localhost:5000/a/b:1", "localhost:5000/a/b:1", True),
    ("localhost:5000/a/b", "localhost:5000/a/b:5000", False),
    ("r.io/a/b", "r.io/a/b", False),
    ("R.io/A/b:1", "r.io/a/b:1", False),
]


def selftest():
    bad = [(s, p, want) for s, p, want in TABLE if match_repo_digest_or_exact(s, Ref(p)) != want]
    for s, p, want in bad:
        print("FAIL signed %s pulled as %s: want %s" % (s, p, want))
    print("%d of %d cases agree" % (len(TABLE) - len(bad), len(TABLE)))
    sys.exit(1 if bad else 0)


def main():
    if sys.argv[1:] == ["--selftest"]:
        selftest()
    pub = serialization.load_pem_public_key(open(sys.argv[1], "rb").read())
    good = True
    for arg in sys.argv[2:]:
        r = Ref(arg)
        host, repo = r.name.split("/", 1)
        body, mt, digest = manifest(host, repo, r.tag if r.tag is not None else r.digest)
        if body is None or (r.digest is not None and digest != r.digest):
            print("FAIL %s: not in the registry" % arg)
            good = False
            continue
        by_tag = Ref(r.name + ":" + r.tag) if r.tag is not None else None  # REPO@DIGEST: no tag
        by_digest = Ref(r.name + "@" + digest)
        if by_tag:
            good &= check(host, repo, digest, by_tag, pub, "image by tag   ")
        good &= check(host, repo, digest, by_digest, pub, "image by digest")
        if mt in INDEXES:
            for d in json.loads(body)["manifests"]:
                plat = d.get("platform", {})
                if plat.get("os") == "unknown":
                    continue  # attestation manifests are no platforms
                name = "%s/%s%s" % (plat.get("os"), plat.get("architecture"),
                                    "/" + plat["variant"] if plat.get("variant") else "")
                # a pull by tag checks the chosen platform manifest against the tag; by the
                # platform's digest, against that digest
                if by_tag:
                    good &= check(host, repo, d["digest"], by_tag, pub, "%s by tag   " % name)
                good &= check(host, repo, d["digest"], Ref(r.name + "@" + d["digest"]), pub,
                              "%s by digest" % name)
    sys.exit(0 if good else 1)


if __name__ == "__main__":
    main()
