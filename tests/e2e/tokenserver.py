#!/usr/bin/env python3
"""A small test-only token server for Distribution's token auth (what Harbor, GitLab and
Docker Hub do): tokenserver.py PORT KEY.pem CERT.pem [TLSCERT TLSKEY] (HTTPS with the last
two). Users: writer/writer-pass may pull and push everywhere; reader/reader-pass may only
pull; anonymous gets nothing. The JWT is ES256 with the signing certificate in x5c, as
Distribution 2.8 checks it."""
import base64, http.server, json, os, ssl, sys, time, urllib.parse
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

port, keyfile, certfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
key = serialization.load_pem_private_key(open(keyfile, "rb").read(), None)
cert = x509.load_pem_x509_certificate(open(certfile, "rb").read())
der = cert.public_bytes(serialization.Encoding.DER)
# "*" is what a catalog listing asks for (registry:catalog:*): only an admin gets it
USERS = {"writer": ("writer-pass", ["pull", "push"]), "reader": ("reader-pass", ["pull"]),
         "admin": ("admin-pass", ["pull", "push", "*"])}


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(user, scopes):
    header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(der).decode()]}
    now = int(time.time())
    access = []
    for s in scopes:
        parts = s.split(":")
        if len(parts) != 3:
            continue
        allowed = USERS[user][1] if user else []
        acts = [a for a in parts[2].split(",") if a in allowed]
        access.append({"type": parts[0], "name": parts[1], "actions": acts})
    claims = {"iss": "test-issuer", "sub": user or "", "aud": "test-registry", "exp": now + 300,
              "nbf": now - 10, "iat": now, "jti": b64u(os.urandom(12)), "access": access}
    signing = (b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())).encode()
    r, s = decode_dss_signature(key.sign(signing, ec.ECDSA(hashes.SHA256())))
    return signing.decode() + "." + b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        user = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            name, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
            if name not in USERS or USERS[name][0] != pw:
                self.send_response(401)
                self.end_headers()
                return
            user = name
        body = json.dumps({"token": token(user, q.get("scope", [])), "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
if len(sys.argv) > 5:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
