"""Hostile-client probes over raw sockets: what each one sends, and what the server must do
(answer with a 4xx and close, or close within its read or idle timeout, never hold or 5xx)."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

SLACK_S = 2.0        # scheduling slack on a busy machine, added to every timeout we check


@dataclass(frozen=True)
class Reply:
    status: int | None       # None: closed without an answer, or still open (held)
    head: str
    body: bytes
    seconds: float
    held: bool


@dataclass
class ProbeTally:
    """What a group of probes found: how many were sent, held past a timeout, 5xx, wrong."""

    sent: int = 0
    held: int = 0
    server_errors: int = 0
    wrong: list[str] = field(default_factory=list)

    def add(self, name: str, reply: Reply, ok: bool) -> None:
        self.sent += 1
        self.held += reply.held
        self.server_errors += reply.status is not None and reply.status >= 500 and not ok
        if not ok:
            self.wrong.append(f"{name}: {reply.status} {reply.body[:80]!r}")


def connect(url: str, timeout: float) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=timeout)


def exchange(url: str, raw: bytes, wait_s: float) -> Reply:
    """Send ``raw``; read until the server closes (error answers close) or ``wait_s``."""
    with connect(url, wait_s) as sock:
        started, data, held = time.monotonic(), b"", False
        try:
            sock.sendall(raw)
            while not _complete(data) and (chunk := sock.recv(65536)):
                data += chunk
        except TimeoutError:
            held = True
        except (ConnectionResetError, BrokenPipeError):
            pass
    return _reply(data, time.monotonic() - started, held)


def _final(data: bytes) -> bytes:
    """Without interim responses (``100 Continue``), which precede the real answer."""
    while data.startswith(b"HTTP/1.1 1") and b"\r\n\r\n" in data:
        data = data.partition(b"\r\n\r\n")[2]
    return data


def _complete(data: bytes) -> bool:
    """A whole response is in (a keep-alive answer leaves the connection open, rightly)."""
    head, sep, body = _final(data).partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return len(body) >= int(value)
    return False


def _reply(data: bytes, seconds: float, held: bool) -> Reply:
    data = _final(data)
    first = data.split(b"\r\n", 1)[0].split()
    status = int(first[1]) if len(first) >= 2 and first[1].isdigit() else None
    head, _, body = data.partition(b"\r\n\r\n")
    return Reply(status, head.decode("latin-1"), body, seconds, held)


def _is_4xx(reply: Reply) -> bool:
    return not reply.held and reply.status is not None and 400 <= reply.status < 500


MALFORMED_LINES = [
    b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET / HTTP/1.1 extra\r\n\r\n",
    b"\x00\x01\x02 / HTTP/1.1\r\n\r\n", b"G" * 70000 + b"\r\n\r\n", b"GET / HTTP/1.1\r\n" +
    b"X: y\r\n" * 150 + b"\r\n", b"GET / HTTP/1.1\r\nX: " + b"v" * 70000 + b"\r\n\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", b"POST / HTTP/1.1\r\nContent-Length: 1e9\r\n\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"f" * 30 + b"\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcdefgh\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    b"GET /\x7f\x80 HTTP/1.1\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header Line\r\n\r\n",
    b"GET / HTTP/1.1\r\n: no name\r\n\r\n", b"\r\n\r\nGARBAGE / HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: x\r\n\r\n",
]


def framing(url: str, tally: ProbeTally, timeout_s: float) -> None:
    """Malformed request lines, headers and body framing: a 4xx at once, then closed."""
    for i, raw in enumerate(MALFORMED_LINES):
        reply = exchange(url, raw, timeout_s + SLACK_S)
        # An empty line before the request line: the parser closes at once, without an answer.
        closed = raw.startswith(b"\r\n") and reply.status is None and not reply.held
        tally.add(f"malformed[{i}]", reply, _is_4xx(reply) or closed)


def slow_clients(url: str, request_head: str, tally: ProbeTally, read_timeout_s: float) -> None:
    """A body that never arrives, and a request trickled a byte at a time: both are cut at the
    read timeout."""
    reply = exchange(url, (request_head + "Content-Length: 100\r\n\r\n0123456789").encode(),
                     read_timeout_s + SLACK_S)
    tally.add("missing-body", reply, not reply.held and reply.seconds < read_timeout_s + SLACK_S)
    with connect(url, read_timeout_s + SLACK_S) as sock:
        started, cut = time.monotonic(), False
        for byte in request_head.encode():
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                cut = True
                break
            time.sleep(0.1)
            if time.monotonic() - started > read_timeout_s + SLACK_S:
                break
        if not cut:
            sock.settimeout(0.5)
            try:
                cut = sock.recv(65536) is not None
            except TimeoutError:
                cut = False
            except OSError:
                cut = True
    seconds = time.monotonic() - started
    tally.add("trickle", Reply(None, "", b"", seconds, held=not cut), cut)


def idle_flood(url: str, count: int, request: bytes, tally: ProbeTally,
               idle_timeout_s: float) -> int:
    """``count`` idle connections: a real request is still served meanwhile, and every idle
    one is closed by the idle timeout. Returns how many threads the flood added to this process
    (the server's, when it runs in the same process)."""
    before = threading.active_count()
    socks = [connect(url, idle_timeout_s + SLACK_S) for _ in range(count)]
    try:
        time.sleep(0.2)
        added = threading.active_count() - before
        reply = exchange(url, request, 30)
        tally.add("served-during-idle-flood", reply, reply.status == 200)
        deadline = time.monotonic() + idle_timeout_s + SLACK_S
        for sock in socks:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                closed = sock.recv(1) == b""
            except TimeoutError:
                closed = False
            except OSError:
                closed = True
            tally.sent += 1
            tally.held += not closed
    finally:
        for sock in socks:
            sock.close()
    return added


def methods(url: str, paths: list[str], tally: ProbeTally, timeout_s: float) -> None:
    """Methods the API does not route (lower case too): the API's own 4xx, not a 501."""
    for method in ("post", "get", "BREW", "PROPFIND", "TRACE", "CONNECT"):
        for path in paths:
            raw = (f"{method} {path} HTTP/1.1\r\nHost: soak\r\nContent-Length: 0\r\n"
                   "Connection: close\r\n\r\n").encode()
            reply = exchange(url, raw, timeout_s + SLACK_S)
            tally.add(f"{method} {path}", reply, _is_4xx(reply))


def invoke_bodies(url: str, function: str, tally: ProbeTally, timeout_s: float) -> None:
    """JSON Lambda refuses: InvalidRequestContentException (400)."""
    for body in (b'{"x": NaN}', b"[Infinity]", b"[" * 100_000, b"[" * 50_000 + b"]" * 50_000,
                 b"\xff\xfe{", b"{"):
        raw = (f"POST /2015-03-31/functions/{function}/invocations HTTP/1.1\r\nHost: soak\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
        reply = exchange(url, raw, timeout_s + SLACK_S)
        tally.add(f"invoke-body {body[:12]!r}", reply,
                  reply.status == 400 and "InvalidRequestContentException" in reply.head)


def client_context(url: str, function: str, tally: ProbeTally, timeout_s: float) -> None:
    """A client context outside Latin-1 (with a line break in its JSON) reaches the function."""
    text = json.dumps({"custom": {"k": "\u4e2d", "e": "\u00e9"}}, ensure_ascii=False)
    header = base64.b64encode(text.replace(", ", ",\n").encode()).decode()
    raw = (f"POST /2015-03-31/functions/{function}/invocations HTTP/1.1\r\nHost: soak\r\n"
           f"X-Amz-Client-Context: {header}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
           ).encode()
    reply = exchange(url, raw, timeout_s + 30)
    tally.add("client-context", reply,
              reply.status == 200 and "X-Amz-Function-Error" not in reply.head)


def function_headers(url: str, tally: ProbeTally, timeout_s: float) -> None:
    """A function's header with CR/LF is a malformed response (502, nothing injected); one
    outside Latin-1 is passed on as UTF-8."""
    crlf = exchange(url, b"GET /probe/crlf HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n",
                    timeout_s + 30)
    tally.add("header-crlf", crlf, crlf.status == 502 and "X-Injected" not in crlf.head)
    utf8 = exchange(url, b"GET /probe/utf8 HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n",
                    timeout_s + 30)
    tally.add("header-utf8", utf8, utf8.status == 200 and "caf\u00e9".encode() in
              utf8.head.encode("latin-1"))


TAKEOVER = """
import http.client, sys
conn = http.client.HTTPConnection(sys.argv[1], timeout=10)
try:
    conn.request("GET", "/2018-06-01/runtime/invocation/next")
    print(conn.getresponse().status)
except Exception:
    print("closed")
"""


def takeover(address: str) -> bool:
    """From another process, ask an environment's Runtime API for the next event: True when
    it was refused."""
    done = subprocess.run([sys.executable, "-c", TAKEOVER, address], capture_output=True,
                          text=True, timeout=60)
    return done.stdout.strip() in ("403", "closed")
