"""A real HTTP server on 127.0.0.1 (a port the OS picks) for tests that check the requests a client
makes: `serve(handler_class)` yields its base URL and stops it, also when the test fails."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def answering(status: int, content_type: str, body: bytes) -> type[BaseHTTPRequestHandler]:
    """A handler answering every GET, POST and PUT with this one answer (a server that is not
    the one the client expects: a login page, an error page, an answer nested too deeply)."""

    class Fixed(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args: object) -> None:
            pass

    return Fixed
