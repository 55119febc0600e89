"""A local OpenAI-compatible chat endpoint for tests: real HTTP, scripted answers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

KEY = "sk-test-0123456789-do-not-show"


class Endpoint(BaseHTTPRequestHandler):
    """Answers /v1/chat/completions from a script of (status, body, delay) replies."""

    script: ClassVar[list[tuple[int, Any, float]]] = []
    requests: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Endpoint.requests.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        status, reply, delay = Endpoint.script.pop(0) if Endpoint.script else (500, {}, 0.0)
        time.sleep(delay)
        data = (reply if isinstance(reply, str) else json.dumps(reply)).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("retry-after-ms", "10")  # keep the client's backoff short
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    def log_message(self, *_: object) -> None:
        pass


def answer(text: str) -> dict[str, Any]:
    return {
        "id": "c1", "object": "chat.completion", "created": 0, "model": "tiny-model",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text}}],
    }  # fmt: skip


@contextmanager
def serving() -> Iterator[str]:
    """A fresh endpoint on a free loopback port, for the length of the block; its base URL."""
    Endpoint.script, Endpoint.requests = [], []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
