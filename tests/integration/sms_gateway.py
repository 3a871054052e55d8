"""A tiny SMS gateway for tests (the JSON API of adapt/notify_http.c): POST any path with a
JSON body; each body is appended as one line to RECORD. The answer depends on the first word
of the file MODE, read at each request: "ok" (200), "500" (500), "hang" (no answer for 30 s).

    python3 sms_gateway.py PORT RECORD MODE
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, RECORD, MODE = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            mode = open(MODE).read().split()[0]
        except (OSError, IndexError):
            mode = "ok"
        with open(RECORD, "a") as f:
            f.write(json.dumps({"path": self.path, "content_type":
                                self.headers.get("Content-Type"), "mode": mode,
                                "body": json.loads(body)}, ensure_ascii=False) + "\n")
        if mode == "hang":
            time.sleep(30)
            return
        self.send_response(500 if mode == "500" else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *a):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
