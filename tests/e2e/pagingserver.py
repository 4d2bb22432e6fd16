#!/usr/bin/python3
"""A registry that pages its tag list badly (test-only), for what Distribution never does:

    pagingserver.py PORT MODE

GET /v2/ answers 200; GET /v2/<repo>/tags/list answers pages of two tags with a Link header:
  offhost  the second page's Link points to another host (http://127.0.0.2:PORT/...)
  loop     the third page links back to the first
  empty    a page with no tag links to itself"""
import http.server
import json
import sys

port, mode = int(sys.argv[1]), sys.argv[2]


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path == "/v2/":
            return self.reply(200, b"{}", None)
        path, _, query = self.path.partition("?")
        if not path.endswith("/tags/list"):
            return self.reply(404, b"{}", None)
        page = int(query.split("page=")[1]) if "page=" in query else 0
        tags = [f"1.{page}.0", f"1.{page}.1"]
        nxt = f"{path}?page={page + 1}"
        if mode == "offhost" and page == 1:
            nxt = f"http://127.0.0.2:{port}{nxt}"
        if mode == "loop" and page == 2:
            nxt = f"{path}?page=0"
        if mode == "empty" and page == 1:
            tags, nxt = [], f"{path}?page=1"
        body = json.dumps({"name": "r", "tags": tags}).encode()
        self.reply(200, body, f'<{nxt}>; rel="next"')

    def reply(self, code, body, link):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if link:
            self.send_header("Link", link)
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
