"""The HTTP server under ``start-lambda`` and ``start-api``: bounded, with timeouts.

    accept --> idle (one selector thread, no worker) --readable--> a worker reads one request
                ^                                                  (whole within read_timeout_s),
                +----------------- keep-alive ---------------------- answers it
    idle past idle_timeout_s, a request not read within read_timeout_s, a framing error, more
    than max_connections open: the connection is answered (where HTTP allows) and closed.

A fixed pool of ``workers`` threads runs the requests, so a synchronous invoke still runs
concurrently with others (each waits on its own execution environment) while a flood of idle or
trickling connections costs no thread. HTTP/1.1 keep-alive, as boto3 and browsers expect.

Hand-written on the standard library's request parser (``BaseHTTPRequestHandler``): WSGI servers
(waitress, ...) fold header names to upper case and merge repeated headers, which API Gateway's
events keep as the client sent them.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import queue
import re
import selectors
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler

from lambdalite.local.engine_types import LambdaEngine

log = logging.getLogger(__name__)

MAX_BODY = 32 * 1024 * 1024   # read and refuse up to this; above it, answer and close
READ_TIMEOUT_S = 30.0         # a request must arrive whole within this once it has started
IDLE_TIMEOUT_S = 60.0         # a keep-alive connection may wait this long for its next request
MAX_CONNECTIONS = 1024
DEFAULT_WORKERS = 32
MAX_WORKERS = 512
_CHUNK_LINE_LIMIT = 4096      # a chunk-size line, extensions included
_MAX_TRAILERS = 100
_LINGER_S = 0.2
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")   # RFC 9110 field-name
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")   # CTLs but HTAB: would split a header


class BodyTooLarge(Exception):
    pass


class BadFraming(Exception):
    """The request's body framing (Content-Length, chunked) is invalid: answer 400, close."""


@dataclass(frozen=True)
class Answer:
    """One HTTP response, as the Invoke API and the API Gateway front compute it."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""


def encode_head(status: int, headers: Iterable[tuple[str, str]], length: int,
                close: bool) -> bytes:
    """The status line and header block. A value outside Latin-1 goes out as UTF-8 (what API
    Gateway passes on); a name that is not a token, or a value with CR, LF or another control
    character, is dropped with a warning: the fronts refuse those before, this is the last
    guard against response splitting."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    lines = [f"HTTP/1.1 {status} {phrase}".encode("ascii")]
    for name, value in headers:
        if not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
            log.warning("dropped an invalid response header %r", name)
            continue
        try:
            raw = value.encode("latin-1")
        except UnicodeEncodeError:
            raw = value.encode("utf-8")
        lines.append(name.encode("ascii") + b": " + raw)
    lines.append(f"Content-Length: {length}".encode())
    if close:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


class Handler(BaseHTTPRequestHandler):
    """One request on one connection: the body reader and a single ``send`` for every answer."""

    protocol_version = "HTTP/1.1"
    server_version = "lambdalite"
    sys_version = ""
    server: LocalServer  # type: ignore[assignment]   # not a socketserver: the front itself

    def __init__(self, connection: _Connection, server: LocalServer) -> None:
        # Not BaseRequestHandler.__init__: that handles every request of the connection at
        # once; here a worker handles one request and hands the connection back.
        self.connection = self.request = connection.sock
        self.client_address = connection.address
        self.server = server
        self.rfile = connection.rfile
        self.wfile = connection.wfile  # type: ignore[assignment]
        self.close_connection = True
        self.command, self.requestline, self.request_version = "", "", "HTTP/1.1"

    def handle_request(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def handle_one(self) -> bool:
        """Handle one request; whether the connection stays open for another."""
        self.handle_one_request()
        return not self.close_connection

    def read_body(self) -> bytes:
        """The request body (Content-Length or chunked); BodyTooLarge past ``MAX_BODY``,
        BadFraming for an invalid length or chunk, TimeoutError past the read timeout."""
        encodings = self.headers.get_all("Transfer-Encoding") or []
        if encodings:
            if ",".join(encodings).lower().replace(" ", "") != "chunked":
                raise BadFraming(f"Transfer-Encoding {', '.join(encodings)} is not supported; "
                                 "send chunked or a Content-Length")
            # Both headers: chunked wins (RFC 9112 6.3); the connection is not reused.
            if self.headers.get("Content-Length") is not None:
                self.close_connection = True
            return self._read_chunked()
        length = self._content_length()
        if length > MAX_BODY:
            self.close_connection = True
            raise BodyTooLarge(str(length))
        body = self.rfile.read(length) if length > 0 else b""
        if len(body) < length:
            raise BadFraming(f"the body ended after {len(body)} of {length} bytes")
        return body

    def send(self, status: int, body: bytes = b"",
             headers: Iterable[tuple[str, str]] = ()) -> None:
        self.log_request(status, len(body))
        self.connection.settimeout(self.server.read_timeout_s)   # a client that never reads
        self.wfile.write(encode_head(status, headers, len(body), self.close_connection))
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """The standard library's parser found the request line or headers malformed (400,
        414, 431, 505): the front's own error shape, and always a 4xx - the client's mistake."""
        self.close_connection = True
        status = code if 400 <= code < 500 else HTTPStatus.BAD_REQUEST
        what = message or HTTPStatus(code).phrase
        self.command = self.command or "GET"
        with contextlib.suppress(OSError):
            answer = self.server.refusal(status, f"Bad request: {what}")
            self.send(answer.status, answer.body, answer.headers)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        log.debug("%s %s", self.address_string(), format % args)

    def _dispatch(self) -> None:
        try:
            self.handle_request()
        except BadFraming as exc:
            self._refuse(400, f"Bad request: {exc}")
        except TimeoutError:
            self._refuse(408, f"the request did not arrive within {self.server.read_timeout_s:g} s")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _refuse(self, status: int, message: str) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            answer = self.server.refusal(status, message)
            self.send(answer.status, answer.body, answer.headers)

    def _content_length(self) -> int:
        values = self.headers.get_all("Content-Length") or []
        if not values:
            return 0
        texts = {v.strip() for value in values for v in value.split(",")}
        if len(texts) != 1 or not all(t.isascii() and t.isdigit() for t in texts):
            raise BadFraming(f"Content-Length {', '.join(values)!r} is not a byte count")
        return int(texts.pop())

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(_CHUNK_LINE_LIMIT + 1)
            if len(line) > _CHUNK_LINE_LIMIT or not line.endswith(b"\n"):
                raise BadFraming("a chunk-size line is too long or cut off")
            size_text = line.split(b";", 1)[0].strip()
            if not _HEX.fullmatch(size_text):
                raise BadFraming(f"invalid chunk size {size_text[:40]!r}")
            size = int(size_text, 16)
            if size == 0:
                self._skip_trailers()
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                self.close_connection = True
                raise BodyTooLarge(str(total))
            chunk = self.rfile.read(size)
            if len(chunk) < size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise BadFraming("a chunk is shorter than its size or not followed by CRLF")
            chunks.append(chunk)

    def _skip_trailers(self) -> None:
        for _ in range(_MAX_TRAILERS):
            line = self.rfile.readline(_CHUNK_LINE_LIMIT + 1)
            if line in (b"\r\n", b"\n"):
                return
            if not line or len(line) > _CHUNK_LINE_LIMIT:
                break
        raise BadFraming("the chunked body's trailer section is malformed")

    def __getattr__(self, name: str) -> object:
        # do_GET, do_post, do_BREW ...: every method goes to handle_request, where the front
        # answers what its service answers (API Gateway, the Invoke API), not a bare 501.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)


class _DeadlineReader(io.RawIOBase):
    """Socket reads bounded by one deadline for the whole request (a per-read timeout would let
    a client trickle a byte at a time forever); non-blocking for the pipelining check."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.deadline: float | None = None
        self.nonblocking = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int | None:  # type: ignore[override]
        if self.nonblocking:
            try:
                return self.sock.recv_into(buffer, len(buffer), socket.MSG_DONTWAIT)
            except BlockingIOError:
                return None
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("read timeout")
            self.sock.settimeout(left)
        return self.sock.recv_into(buffer)


class _Writer(io.RawIOBase):
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.sock.sendall(data)
        return len(data)


class _Connection:
    def __init__(self, sock: socket.socket, address: tuple[str, int]) -> None:
        self.sock = sock
        self.address = address
        self.reader = _DeadlineReader(sock)
        self.rfile = io.BufferedReader(self.reader, 65536)
        self.wfile = _Writer(sock)
        self.idle_since = time.monotonic()

    def has_buffered_request(self) -> bool:
        """A pipelined request already read into the buffer (the selector would not see it)."""
        self.reader.nonblocking = True
        try:
            return bool(self.rfile.peek(1))
        except OSError:
            return False
        finally:
            self.reader.nonblocking = False

    def close(self, linger: bool = False) -> None:
        """``linger``: after an answer to a request whose body was not read, half-close and
        drain briefly first: closing with unread input sends a reset, which can destroy the
        answer before the client reads it."""
        if linger:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_WR)
                self.sock.settimeout(_LINGER_S)
                deadline = time.monotonic() + _LINGER_S
                while time.monotonic() < deadline and self.sock.recv(65536):
                    pass
        with contextlib.suppress(OSError):
            self.sock.close()


class LocalServer:
    """The server on (host, port); port 0 picks a free one (tests). ``handler`` is the front's
    request handler; ``workers`` bounds the requests handled at once."""

    def __init__(self, handler: type[Handler], host: str = "127.0.0.1", port: int = 0, *,
                 workers: int = DEFAULT_WORKERS, read_timeout_s: float = READ_TIMEOUT_S,
                 idle_timeout_s: float = IDLE_TIMEOUT_S,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        self.handler = handler
        self.workers = max(1, min(workers, MAX_WORKERS))
        self.read_timeout_s = read_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.max_connections = max_connections
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.create_server((host, port), family=family, backlog=128)
        self.socket.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._returned: queue.SimpleQueue[_Connection] = queue.SimpleQueue()
        self._work: queue.SimpleQueue[_Connection | None] = queue.SimpleQueue()
        self._idle: set[_Connection] = set()
        self._count_lock = threading.Lock()
        self._open = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._loop: threading.Thread | None = None
        self._closed = False

    @property
    def host(self) -> str:
        return str(self.socket.getsockname()[0])

    @property
    def port(self) -> int:
        return int(self.socket.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def open_connections(self) -> int:
        with self._count_lock:
            return self._open

    def serve_forever(self) -> None:
        """Accept and serve until ``stop`` (from another thread) or KeyboardInterrupt."""
        self._threads = [threading.Thread(target=self._work_loop, name=f"http-worker-{i}",
                                          daemon=True) for i in range(self.workers)]
        for thread in self._threads:
            thread.start()
        self._selector.register(self.socket, selectors.EVENT_READ)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        try:
            self._select_loop()
        finally:
            self._stop.set()
            for _ in self._threads:
                self._work.put(None)
            for conn in list(self._idle):
                self._drop(conn)
            self._selector.close()

    def start(self) -> LocalServer:
        """Serve from a background thread (tests, embedding)."""
        self._loop = threading.Thread(target=self.serve_forever, name="local-server",
                                      daemon=True)
        self._loop.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake()
        if self._loop is not None:
            self._loop.join(timeout=5)
        self.close()

    def close(self) -> None:
        """Release the listening socket (after ``serve_forever`` has returned)."""
        if self._closed:
            return
        self._closed = True
        for sock in (self.socket, self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                sock.close()

    def refusal(self, status: int, message: str) -> Answer:
        """The front's answer to a request the server refused before the front saw it: a
        framing error (400), a request not read within the read timeout (408), more than
        ``max_connections`` (429). The fronts answer in their service's shape."""
        return Answer(status, (("Content-Type", "application/json"),),
                      json.dumps({"message": message}).encode())

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the selector thread: accept, idle connections, timeouts ---------------------------------

    def _select_loop(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=self._next_expiry()):
                if key.fileobj is self.socket:
                    self._accept()
                elif key.fileobj is self._wake_r:
                    self._take_returned()
                else:
                    conn: _Connection = key.data
                    self._selector.unregister(conn.sock)
                    self._idle.discard(conn)
                    self._work.put(conn)
            self._expire_idle()

    def _accept(self) -> None:
        while True:
            try:
                sock, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:   # EMFILE and the like: keep serving the others
                log.warning("accept failed: %s", exc)
                return
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._count_lock:
                full = self._open >= self.max_connections
                if not full:
                    self._open += 1
            if full:
                self._refuse_connection(sock)
                continue
            self._park(_Connection(sock, address))

    def _refuse_connection(self, sock: socket.socket) -> None:
        answer = self.refusal(429, "Too Many Requests")
        with contextlib.suppress(OSError):
            sock.setblocking(False)
            sock.send(encode_head(answer.status, answer.headers, len(answer.body), True)
                      + answer.body)
        with contextlib.suppress(OSError):
            sock.close()

    def _park(self, conn: _Connection) -> None:
        conn.idle_since = time.monotonic()
        self._idle.add(conn)
        self._selector.register(conn.sock, selectors.EVENT_READ, conn)

    def _take_returned(self) -> None:
        with contextlib.suppress(OSError):
            while self._wake_r.recv(4096):
                pass
        while True:
            try:
                conn = self._returned.get_nowait()
            except queue.Empty:
                return
            if self._stop.is_set():
                self._drop(conn)
            else:
                self._park(conn)

    def _next_expiry(self) -> float:
        if not self._idle:
            return 1.0
        oldest = min(c.idle_since for c in self._idle)
        return max(0.01, min(1.0, oldest + self.idle_timeout_s - time.monotonic()))

    def _expire_idle(self) -> None:
        now = time.monotonic()
        for conn in [c for c in self._idle if now - c.idle_since >= self.idle_timeout_s]:
            self._selector.unregister(conn.sock)
            self._idle.discard(conn)
            self._drop(conn)

    def _drop(self, conn: _Connection, linger: bool = False) -> None:
        conn.close(linger)
        with self._count_lock:
            self._open -= 1

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    # -- the workers -----------------------------------------------------------------------------

    def _work_loop(self) -> None:
        while True:
            conn = self._work.get()
            if conn is None:
                return
            try:
                keep = self._serve(conn)
            except Exception:   # a bug in a front must cost one connection, not a worker
                log.exception("HTTP request from %s failed", conn.address[0])
                keep = False
            if keep and not self._stop.is_set():
                self._returned.put(conn)
                self._wake()
            else:
                self._drop(conn, linger=True)

    def _serve(self, conn: _Connection) -> bool:
        """Requests on ``conn`` while they are already there; whether to keep it open."""
        while True:
            conn.reader.deadline = time.monotonic() + self.read_timeout_s
            try:
                keep = self.handler(conn, self).handle_one()
            finally:
                conn.reader.deadline = None
            if not keep or self._stop.is_set():
                return False
            if not conn.has_buffered_request():
                return True


def workers_for(engine: LambdaEngine) -> int:
    """Enough workers for every function to run at its concurrency at once (so a call over a
    function's limit is throttled, not queued behind the others), within MAX_WORKERS."""
    default = getattr(engine, "concurrency", DEFAULT_WORKERS)   # LocalLambda's cap
    total = sum(s.reserved_concurrency or default for s in engine.functions.values())
    return max(DEFAULT_WORKERS, min(MAX_WORKERS, total + 8))
