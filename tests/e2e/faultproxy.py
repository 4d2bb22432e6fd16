#!/usr/bin/env python3
"""A fault-injecting HTTP proxy for the end-to-end tests (test-only): it forwards each request to
a registry and, where a rule says so, breaks it the way networks and registries break.

    faultproxy.py PORT UPSTREAM_HOST:PORT RULES.json LOG

The Host header is forwarded unchanged, so the registry's upload Locations point back at the
proxy. One request per client connection. RULES.json is a list of rules; each rule counts the
requests it matches (method, and a regex on the path) and acts on the ones listed in "nth"
(1-based; omitted: all of them); when several rules could act, the first listed does:

  {"method": "PATCH", "path": "/blobs/uploads/", "nth": [2], "action": "drop", "after": 300000}
    drop:     forward "after" bytes of the request body, then close both connections
    cut:      forward the request, relay "after" bytes of the response body, then close
    status:   answer "code" (with "retry_after", or a "www_authenticate" challenge) unforwarded
    stall:    relay "after" bytes of the response body, then hold the connection "seconds"
    slow:     relay the response body at "rate" bytes per second
    length:   forward, but answer with Content-Length "value" (a HEAD that lies about a size)

LOG gets one line per request: method, path, Range/Content-Range headers, and the action."""
import json, re, socket, sys, threading, time

port, upstream, rules_file, log_file = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
uhost, uport = upstream.rsplit(":", 1)
rules = json.load(open(rules_file))
counts = [0] * len(rules)
lock = threading.Lock()
log = open(log_file, "a", buffering=1)


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


def pick(method, path):
    """Every matching rule counts the request; the first one whose turn it is acts."""
    chosen = None
    with lock:
        for i, r in enumerate(rules):
            if r.get("method", method) != method or not re.search(r.get("path", ""), path):
                continue
            counts[i] += 1
            if chosen is None and ("nth" not in r or counts[i] in r["nth"]):
                chosen = r
    return chosen


def serve(client):
    try:
        head, rest = read_head(client)
        if head is None:
            return
        lines = head.split("\r\n")
        method, path = lines[0].split(" ")[:2]
        rule = pick(method, path)
        action = rule["action"] if rule else "pass"
        log.write("%s %s range=%s content-range=%s action=%s\n" % (
            method, path, header(lines, "range"), header(lines, "content-range"), action))
        if action == "status":
            extra = ""
            if "retry_after" in rule:
                extra += "Retry-After: %s\r\n" % rule["retry_after"]
            if "www_authenticate" in rule:
                extra += "WWW-Authenticate: %s\r\n" % rule["www_authenticate"]
            body = b'{"errors":[{"code":"UNAVAILABLE","message":"injected by faultproxy"}]}'
            client.sendall(("HTTP/1.1 %d Injected\r\nContent-Type: application/json\r\n"
                            "Content-Length: %d\r\n%sConnection: close\r\n\r\n" % (
                                rule["code"], len(body), extra)).encode() + body)
            # the client may still be sending a body: read it so the answer is not reset
            client.settimeout(2)
            try:
                while client.recv(65536):
                    pass
            except OSError:
                pass
            return
        length = int(header(lines, "content-length") or 0)
        up = socket.create_connection((uhost, int(uport)))
        out = [l for l in lines if not l.lower().startswith("connection:")]
        up.sendall(("\r\n".join(out) + "\r\nConnection: close\r\n\r\n").encode("latin-1"))
        sent, limit = 0, rule.get("after", 0) if action == "drop" else None
        data = rest
        while True:
            if data:
                if limit is not None and sent + len(data) > limit:
                    up.sendall(data[:limit - sent])
                    up.close()
                    return  # both closed: the client sees the connection drop mid-body
                up.sendall(data)
                sent += len(data)
            if sent >= length:
                break
            data = client.recv(65536)
            if not data:
                up.close()
                return
        # the response: headers as they are (but one request per connection), then the body
        rhead, rrest = read_head(up)
        if rhead is None:
            return
        rlines = [l for l in rhead.split("\r\n") if not l.lower().startswith("connection:")]
        if action == "length":
            rlines = [l for l in rlines if not l.lower().startswith("content-length:")]
            rlines.append("Content-Length: %d" % rule["value"])
        client.sendall(("\r\n".join(rlines) + "\r\nConnection: close\r\n\r\n").encode("latin-1"))
        relayed, data = 0, rrest
        while True:
            if data:
                if action in ("cut", "stall") and relayed + len(data) > rule.get("after", 0):
                    client.sendall(data[:rule.get("after", 0) - relayed])
                    if action == "stall":
                        time.sleep(rule.get("seconds", 30))
                    up.close()
                    return
                if action == "slow":
                    step = max(1, rule["rate"] // 10)
                    for i in range(0, len(data), step):
                        client.sendall(data[i:i + step])
                        time.sleep(len(data[i:i + step]) / rule["rate"])
                else:
                    client.sendall(data)
                relayed += len(data)
            data = up.recv(65536)
            if not data:
                break
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
