#!/usr/bin/env python3
"""A hostile registry for the end-to-end tests (test-only): a registry host that misbehaves the
way a real Distribution registry can't be made to, to check airlock's HTTP client holds.

    hostileregistry.py MODE DIR [CERT KEY]

It listens on 127.0.0.1 only (and over TLS with CERT/KEY), writes its port to DIR/port and the
port of its side listener to DIR/side, logs every request it sees to DIR/log (method, path and
the Authorization header) and exits by itself after 90 s. Its repository "repo" holds one tiny
image at tag "1" (manifest, config, one layer). The side listener is where a misbehaviour
points airlock: a raw TCP listener for gopher://, ftp:// ("side-connect" in the log if anyone
came), or an HTTP(S) server that answers tokens and the layer blob.

MODE:
  realm-gopher  the registry asks for a token at gopher://127.0.0.1:SIDE/_...
  realm-file    the registry asks for a token at file://DIR/secret.json
  realm-http    the registry (TLS) asks for a token at http://127.0.0.1:SIDE/token
  realm-https   the registry (TLS) asks for a token at https://127.0.0.1:SIDE/token
  upload-gopher uploads get the Location gopher://127.0.0.1:SIDE/_...
  endless-404   manifests answer 404 with an endless chunked body
  endless-token the same-origin token realm trickles its body, a byte every 0.3 s
  token-crlf    the same-origin token realm answers a token with CR LF and a header in it
  big-header    manifests answer with a 1 MiB header line
  many-headers  manifests answer with 1 MiB of 8 KiB header lines
  fake-status   manifests answer with 200 KiB of header lines that look like status lines
  redirect-loop the layer blob redirects to itself without end
  redirect-endless the layer blob redirects (to itself) with an endless chunked body
  redirect-ftp  the layer blob redirects to ftp://127.0.0.1:SIDE/
  redirect-auth token auth at the same origin; the layer blob redirects to https://127.0.0.1:SIDE/
  redirect-basic the same with Basic auth
"""
import hashlib, http.server, json, os, socket, ssl, sys, threading, time

mode, d = sys.argv[1], sys.argv[2]
cert = sys.argv[3] if len(sys.argv) > 3 else None
keyf = sys.argv[4] if len(sys.argv) > 4 else None
LIFETIME = 90
DEADLINE = time.time() + LIFETIME - 5
lock = threading.Lock()
logf = open(os.path.join(d, "log"), "a", buffering=1)


def log(line):
    with lock:
        logf.write(line + "\n")


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


CONFIG = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": []}}).encode()
LAYER = bytes(range(256)) * 64
MANIFEST = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": digest(CONFIG), "size": len(CONFIG)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": digest(LAYER), "size": len(LAYER)}]}).encode()
BLOBS = {digest(CONFIG): CONFIG, digest(LAYER): LAYER}
TOKEN = "hostile-token"


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, keyf)
    return ctx


def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s


side_sock = listener()
side_port = side_sock.getsockname()[1]
main_tls = mode in ("realm-http", "realm-https", "redirect-auth", "redirect-basic") and cert
side_scheme = "https" if mode in ("realm-https", "redirect-auth", "redirect-basic") else "http"
scheme = "https" if main_tls else "http"


class Base(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body=b"", headers=()):
        try:
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError:  # the client gave up (as it should, on some of these)
            self.close_connection = True

    def endless(self, code, delay, step):
        """A chunked body that does not end (until the client leaves or the server's end);
        code None: the headers are sent already."""
        if code is not None:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
        sent = 0
        try:
            while time.time() < DEADLINE:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(step), step))
                self.wfile.flush()
                sent += len(step)
                time.sleep(delay)
        except OSError:
            pass
        log("endless-sent %d" % sent)
        self.close_connection = True


class Side(Base):
    """The other origin: a token server and the layer blob's storage."""

    def do_GET(self):
        log("side %s %s auth=%s" % (self.command, self.path, self.headers.get("Authorization", "-")))
        if self.path.startswith("/token"):
            self.send(200, json.dumps({"token": TOKEN}).encode(),
                      [("Content-Type", "application/json")])
        elif self.path.startswith("/blob"):
            self.send(200, LAYER, [("Content-Type", "application/octet-stream")])
        else:
            self.send(404)


def raw_side():
    """gopher://, ftp://: records whether anyone connected and what they sent."""
    side_sock.settimeout(1)
    while time.time() < DEADLINE:
        try:
            c, _ = side_sock.accept()
        except socket.timeout:
            continue
        log("side-connect")
        c.settimeout(2)
        try:
            log("side-bytes %r" % c.recv(4096))
        except OSError:
            pass
        c.close()


class Registry(Base):
    def challenge(self):
        realm = {
            "realm-gopher": "gopher://127.0.0.1:%d/_GET%%20/hostile" % side_port,
            "realm-file": "file://" + os.path.abspath(os.path.join(d, "secret.json")),
            "realm-http": "http://127.0.0.1:%d/token" % side_port,
            "realm-https": "https://127.0.0.1:%d/token" % side_port,
        }.get(mode)
        if mode in ("endless-token", "redirect-auth", "token-crlf"):
            realm = "%s://%s/token" % (scheme, self.headers.get("Host"))
        if mode == "redirect-basic":
            return 'Basic realm="hostile"'
        if realm:
            return 'Bearer realm="%s",service="hostile",scope="repository:repo:pull"' % realm
        return None

    def authorized(self):
        ch = self.challenge()
        got = self.headers.get("Authorization", "")
        if ch is None:
            return True
        if ch.startswith("Basic"):
            return got == "Basic dTpw"  # u:p
        return got == "Bearer " + TOKEN

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        log("%s %s auth=%s" % (self.command, self.path, self.headers.get("Authorization", "-")))
        if mode == "upload-gopher" and "/blobs/uploads/" in self.path:
            self.send(202, headers=[("Location", "gopher://127.0.0.1:%d/_PUT" % side_port)])
        else:
            self.send(404)

    def do_GET(self):
        p = self.path
        log("%s %s auth=%s" % (self.command, p, self.headers.get("Authorization", "-")))
        if self.headers.get("X-Injected"):
            log("injected-header-arrived")
        if p.startswith("/token"):
            if mode == "endless-token":
                return self.endless(200, 0.3, b"x")
            if mode == "token-crlf":
                return self.send(200, json.dumps({"token": TOKEN + "\r\nX-Injected: yes"}).encode())
            if self.headers.get("Authorization") == "Basic dTpw":
                return self.send(200, json.dumps({"token": TOKEN}).encode())
            return self.send(401)
        if not self.authorized():
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"hostile"}]}',
                             [("WWW-Authenticate", self.challenge()),
                              ("Content-Type", "application/json")])
        if p == "/v2/":
            return self.send(200, b"{}")
        parts = p.split("?")[0].split("/")
        if len(parts) == 5 and parts[3] == "manifests":
            if mode == "endless-404":
                return self.endless(404, 0.001, b"y" * 4096)
            if mode == "big-header":
                return self.send(200, MANIFEST, [("X-Hostile", "h" * (1 << 20))])
            if mode == "many-headers":
                return self.send(200, MANIFEST,
                                 [("X-Hostile-%d" % i, "h" * 8192) for i in range(128)])
            if mode == "fake-status":
                return self.send(200, MANIFEST,
                                 [("HTTP/1.1 200 OK X-%d" % i, "h" * 8192) for i in range(25)])
            if parts[4] in ("1", digest(MANIFEST)):
                return self.send(200, MANIFEST, [
                    ("Content-Type", "application/vnd.oci.image.manifest.v1+json"),
                    ("Docker-Content-Digest", digest(MANIFEST))])
        if len(parts) == 5 and parts[3] == "blobs" and parts[4] in BLOBS:
            if parts[4] == digest(LAYER):
                n = int(p.split("n=")[1]) if "n=" in p else 0
                if mode == "redirect-loop":
                    return self.send(302, headers=[
                        ("Location", "%s?n=%d" % (p.split("?")[0], n + 1))])
                if mode == "redirect-endless":
                    self.send_response(302)
                    self.send_header("Location", p.split("?")[0] + "?n=1")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    return self.endless(None, 0.001, b"z" * 4096)
                if mode == "redirect-ftp":
                    return self.send(302, headers=[
                        ("Location", "ftp://127.0.0.1:%d/blob" % side_port)])
                if mode in ("redirect-auth", "redirect-basic"):
                    return self.send(307, headers=[
                        ("Location", "https://127.0.0.1:%d/blob" % side_port)])
            return self.send(200, BLOBS[parts[4]], [("Content-Type", "application/octet-stream")])
        self.send(404, b'{"errors":[{"code":"NOT_FOUND","message":"hostile"}]}',
                  [("Content-Type", "application/json")])


def serve(handler, sock, tls):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler, bind_and_activate=False)
    srv.socket.close()
    srv.socket = tls_context().wrap_socket(sock, server_side=True) if tls else sock
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()


if mode == "realm-file":
    with open(os.path.join(d, "secret.json"), "w") as f:
        json.dump({"token": "FILE-SECRET"}, f)
main_sock = listener()
main_port = main_sock.getsockname()[1]
if mode in ("realm-gopher", "upload-gopher", "redirect-ftp"):
    threading.Thread(target=raw_side, daemon=True).start()
else:
    serve(Side, side_sock, side_scheme == "https")
serve(Registry, main_sock, main_tls)
with open(os.path.join(d, "side"), "w") as f:
    f.write("%d\n" % side_port)
with open(os.path.join(d, "port.tmp"), "w") as f:
    f.write("%d\n" % main_port)
os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
time.sleep(LIFETIME)
os._exit(0)
