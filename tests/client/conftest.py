import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "traces" / "client"))


class Recorder:
    """A real HTTP server on 127.0.0.1 answering from a script of (status, headers)."""

    def __init__(self):
        self.script = []
        self.requests = []
        self.lock = threading.Lock()

    def next_answer(self):
        with self.lock:
            return self.script.pop(0) if self.script else (200, {})


@pytest.fixture
def server():
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, headers = recorder.next_answer()
            with recorder.lock:
                recorder.requests.append({"path": self.path, "status": status, "body": json.loads(body),
                                          "auth": self.headers.get("Authorization")})
            payload = {"accepted": len(json.loads(body).get("traces", [])), "duplicates": 0, "errors": []}
            data = json.dumps(payload if status < 300 else {"message": "no"}).encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    recorder.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield recorder
    httpd.shutdown()
