"""A loopback HTTP server of the tests' own that serves an identity provider's JWKS, and can fail."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JwksServer:
    """Serves `document` at /jwks.json with `cache_control`; `failing` makes it answer 503. Counts requests."""

    def __init__(self, document: dict, cache_control: str | None = None):
        self.document, self.cache_control = document, cache_control
        self.failing = False
        self.requests = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/jwks.json"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _handler(self):
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                jwks.requests += 1
                body = b'{"error": "down"}' if jwks.failing else json.dumps(jwks.document).encode()
                self.send_response(503 if jwks.failing else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if jwks.cache_control and not jwks.failing:
                    self.send_header("Cache-Control", jwks.cache_control)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
