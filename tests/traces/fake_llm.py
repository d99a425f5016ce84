"""A fake OpenAI- and Anthropic-compatible provider on 127.0.0.1, for the instrumentation tests.

The real `openai` / `anthropic` clients talk to it, so the libraries instrument real calls
and no test reaches the internet. A request whose model name contains `fail-500` or
`fail-429` gets that HTTP error (the clients raise InternalServerError / RateLimitError).
Every answer reports the same usage, so the tests can compare stored tokens with it.
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROMPT_TOKENS, COMPLETION_TOKENS = 11, 7
ANSWER = "Paris is the capital of France."
DELAY_S = 0.05  # a latency the tests can see in response_time_ms


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep the test output clean
        pass

    def _send(self, status, document, headers=None):
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        model = str(request.get("model", ""))
        time.sleep(DELAY_S)
        # retry-after 0 and the clients' max_retries=0 keep a failing call to one request.
        if "fail-429" in model:
            return self._send(429, {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}},
                              {"retry-after": "0"})
        if "fail-500" in model:
            return self._send(500, {"error": {"message": "The server had an error", "type": "server_error"}})
        if self.path.rstrip("/").endswith("/messages"):
            return self._send(200, {
                "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": ANSWER}], "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": PROMPT_TOKENS, "output_tokens": COMPLETION_TOKENS},
            })
        if self.path.rstrip("/").endswith("/chat/completions"):
            return self._send(200, {
                "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": ANSWER}}],
                "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                          "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS},
            })
        return self._send(404, {"error": {"message": f"no route {self.path}"}})

    def do_GET(self):
        self._send(404, {"error": {"message": "not here"}})


class FakeProvider:
    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
