"""The threaded HTTP server under ``start-lambda`` and ``start-api`` (standard library only).

One thread per connection, so concurrent invocations really run concurrently (each waits on
its own execution environment). HTTP/1.1 keep-alive, as boto3 and browsers expect.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

log = logging.getLogger(__name__)
MAX_BODY = 32 * 1024 * 1024   # read and refuse up to this; above it, answer and close


class BodyTooLarge(Exception):
    pass


@dataclass(frozen=True)
class Answer:
    """One HTTP response, as the Invoke API and the API Gateway front compute it."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""


class Handler(BaseHTTPRequestHandler):
    """Base request handler: body reading and a single ``send`` for every answer."""

    protocol_version = "HTTP/1.1"
    server_version = "lambdalite"
    sys_version = ""
    methods: ClassVar[tuple[str, ...]] = ("POST",)

    def setup(self) -> None:
        super().setup()
        # Small responses go out at once (Nagle + delayed ACK would add ~40 ms per call).
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_request(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def read_body(self) -> bytes:
        """The request body (Content-Length or chunked); BodyTooLarge past ``MAX_BODY``."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY:
            self.close_connection = True
            raise BodyTooLarge(str(length))
        return self.rfile.read(length) if length > 0 else b""

    def send(self, status: int, body: bytes = b"",
             headers: Iterable[tuple[str, str]] = ()) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        log.debug("%s %s", self.address_string(), format % args)

    def _dispatch(self) -> None:
        try:
            self.handle_request()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                self.close_connection = True
                raise BodyTooLarge(str(total))
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def __getattr__(self, name: str) -> object:
        # do_GET, do_POST ...: every method this handler serves goes to handle_request.
        if name.startswith("do_") and name[3:] in self.methods:
            return self._dispatch
        raise AttributeError(name)


class LocalServer:
    """A ThreadingHTTPServer on (host, port); port 0 picks a free one (tests)."""

    def __init__(self, handler: type[Handler], host: str = "127.0.0.1", port: int = 0) -> None:
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.httpd.app = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self.httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def start(self) -> LocalServer:
        """Serve from a background thread (tests, embedding)."""
        self._thread = threading.Thread(target=self.serve_forever, name="local-server",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
        self.httpd.server_close()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

