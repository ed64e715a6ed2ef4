#!/usr/bin/python3
"""A test front for a real docker-registry: bearer-token auth, blob redirects and interrupted transfers.

proxy.py --upstream http://127.0.0.1:PORT --port-file F --log F [--user U --password P] [--token]
         [--redirect-blobs] [--truncate-blobs N]
--token           /v2/* requires "Authorization: Bearer <token>"; 401 carries a Bearer challenge whose realm is
                  this server's /token; /token hands out a token (checking Basic U:P when --user is given).
--redirect-blobs  blob GETs answer 307 to the upstream registry.
--truncate-blobs  the first GET of each blob sends full headers but only its first N bytes, then closes.
--stall           never answer (for deadline tests).
--listen ADDR     listen on ADDR (default 127.0.0.1); the token realm names the same address.
The log gets one line per request: METHOD PATH range=<Range header> auth=<scheme>.
"""
import argparse, base64, http.server, json, threading, time, urllib.error, urllib.parse, urllib.request

TOKEN = "test-token-1234"

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--user"); ap.add_argument("--password")
    ap.add_argument("--token", action="store_true")
    ap.add_argument("--redirect-blobs", action="store_true")
    ap.add_argument("--truncate-blobs", type=int, default=0)
    ap.add_argument("--stall", action="store_true")
    ap.add_argument("--listen", default="127.0.0.1")
    a = ap.parse_args()
    lock = threading.Lock()
    truncated = set()

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def note(self):
            auth = self.headers.get("Authorization", "").split(" ")[0] or "none"
            with lock, open(a.log, "a") as f:
                f.write(f"{self.command} {self.path} range={self.headers.get('Range', '')} auth={auth}\n")

        def reply(self, code, body=b"", headers=None):
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def token(self):
            q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
            if a.user:
                want = "Basic " + base64.b64encode(f"{a.user}:{a.password}".encode()).decode()
                if self.headers.get("Authorization") != want:
                    return self.reply(401, json.dumps({"errors": [{"code": "UNAUTHORIZED",
                                                                   "message": "bad credentials"}]}).encode())
            if "scope" not in q or q.get("service") != ["test-registry"]:
                return self.reply(400, b'{"errors":[{"code":"DENIED","message":"missing scope or service"}]}')
            self.reply(200, json.dumps({"token": TOKEN, "expires_in": 300}).encode(),
                       {"Content-Type": "application/json"})

        def challenge(self):
            parts = self.path.split("/")
            repo = "/".join(parts[2:-2]) if len(parts) > 4 else ""
            host = f"http://{a.listen}:{self.server.server_port}"
            ch = f'Bearer realm="{host}/token",service="test-registry"'
            if repo:
                ch += f',scope="repository:{repo}:pull"'
            body = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
            self.reply(401, body, {"WWW-Authenticate": ch, "Content-Type": "application/json"})

        def forward(self):
            req = urllib.request.Request(a.upstream + self.path, method=self.command)
            for h in ("Accept", "Range"):
                if self.headers.get(h):
                    req.add_header(h, self.headers.get(h))
            try:
                resp = urllib.request.urlopen(req, timeout=30)
                code, body, hdrs = resp.status, resp.read(), resp.headers
            except urllib.error.HTTPError as e:
                code, body, hdrs = e.code, e.read(), e.headers
            keep = {k: hdrs[k] for k in ("Content-Type", "Docker-Content-Digest", "Content-Range") if hdrs.get(k)}
            is_blob = "/blobs/" in self.path and self.command == "GET" and code == 200
            digest = self.path.rsplit("/", 1)[-1]
            if is_blob and a.truncate_blobs and digest not in truncated and len(body) > a.truncate_blobs:
                truncated.add(digest)
                self.send_response(200)
                for k, v in keep.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[:a.truncate_blobs])
                self.wfile.flush()
                self.close_connection = True
                return
            if self.command == "HEAD":
                keep["Content-Length"] = hdrs.get("Content-Length", "0")
                self.send_response(code)
                for k, v in keep.items():
                    self.send_header(k, v)
                self.end_headers()
                return
            self.reply(code, body, keep)

        def handle_any(self):
            self.note()
            if a.stall:
                time.sleep(60)
                return self.reply(500)
            if self.path.startswith("/token"):
                return self.token()
            if not self.path.startswith("/v2/"):
                return self.reply(404)
            if a.token and self.headers.get("Authorization") != "Bearer " + TOKEN:
                return self.challenge()
            if a.redirect_blobs and "/blobs/" in self.path and self.command == "GET":
                return self.reply(307, b"", {"Location": a.upstream + self.path})
            self.forward()

        do_GET = handle_any
        do_HEAD = handle_any

    srv = http.server.ThreadingHTTPServer((a.listen, 0), H)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_port))
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()

main()
