"""start-api and start-lambda against hostile and broken clients, over raw sockets: every
request gets API Gateway's or the Invoke API's answer (never a traceback, a hang or a 5xx for
the client's mistake), no connection outlives the read or idle timeout, idle connections hold no
thread, and what a function prints or sets in a header cannot break the server."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import EventSource, FunctionSpec
from lambdalite.local.http_api import HttpAPI
from lambdalite.local.interpreters import HOST_VERSION
from lambdalite.local.invoke_api import InvokeAPI
from lambdalite.local.server import LocalServer

HANDLERS = Path(__file__).resolve().parents[2] / "fixtures" / "handlers"
pytestmark = pytest.mark.timeout(120)
READ_TIMEOUT_S, IDLE_TIMEOUT_S = 1.0, 2.0
SLACK_S = 2.0          # scheduling on a shared 2-core machine


def fn(name: str, handler: str, **kw: object) -> FunctionSpec:
    return FunctionSpec(name, handler, HANDLERS, runtime=f"python{HOST_VERSION}",
                        **{"memory_mb": 128, "timeout_s": 5.0, **kw})  # type: ignore[arg-type]


FUNCTIONS = {
    "Rest": fn("Rest", "proxy.handler", events=(
        EventSource("Items", "Api", "/items/{id}", "GET", stage="Prod"),
        EventSource("Post", "Api", "/items", "POST", stage="Prod"))),
    "Http": fn("Http", "proxy.handler", events=(
        EventSource("Any", "HttpApi", "/h/{name}", "ANY", stage="$default"),)),
    "Echo": fn("Echo", "echo.handler"),
    "Loud": fn("Loud", "loud.handler", memory_mb=256),
}


@pytest.fixture(scope="module")
def engine() -> Iterator[LocalLambda]:
    with LocalLambda(FUNCTIONS, idle_timeout_s=600) as local:
        yield local


def _start(server: LocalServer) -> Iterator[str]:
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def api(engine: LocalLambda) -> Iterator[str]:
    yield from _start(HttpAPI(engine, port=0, read_timeout_s=READ_TIMEOUT_S,
                              idle_timeout_s=IDLE_TIMEOUT_S, workers=8))


@pytest.fixture(scope="module")
def lam(engine: LocalLambda) -> Iterator[str]:
    yield from _start(InvokeAPI(engine, port=0, read_timeout_s=READ_TIMEOUT_S,
                                idle_timeout_s=IDLE_TIMEOUT_S, workers=8))


# Requests that each front routes to a function (REST route; Invoke of Echo).
POST = {"api": "POST /items HTTP/1.1\r\nHost: local\r\n",
        "lam": "POST /2015-03-31/functions/Echo/invocations HTTP/1.1\r\nHost: local\r\n"}


class Reply:
    """What a raw exchange got: the status (None: closed without an answer, or still open at
    the deadline), the bytes, and how long until the server answered or closed."""

    def __init__(self, data: bytes, seconds: float, held: bool) -> None:
        self.data, self.seconds, self.held = data, seconds, held
        first = data.split(b"\r\n", 1)[0].split()
        self.status = int(first[1]) if len(first) >= 2 and first[1].isdigit() else None
        head, _, self.body = data.partition(b"\r\n\r\n")
        self.head = head.decode("latin-1")

    def json(self) -> object:
        return json.loads(self.body)


def connect(url: str, timeout: float = 10.0) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=timeout)


def exchange(url: str, raw: bytes, wait_s: float = 10.0) -> Reply:
    """Send ``raw``, then read until the server closes the connection (every error answer
    closes it) or ``wait_s`` passes (held: the server kept the connection)."""
    with connect(url, wait_s) as sock:
        sock.sendall(raw)
        started, data = time.monotonic(), b""
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return Reply(data, time.monotonic() - started, held=True)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        return Reply(data, time.monotonic() - started, held=False)


def ok_request(url: str, front: str) -> Reply:
    body = b'{"ok": 1}'
    raw = (POST[front] + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
           "Connection: close\r\n\r\n").encode() + body
    return exchange(url, raw)


@pytest.fixture(params=["api", "lam"])
def front(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param, request.getfixturevalue(request.param)


# -- framing ------------------------------------------------------------------------------------

@pytest.mark.parametrize("size_line", [b"zz", b"-1", b"1x", b"", b"ffffffffffffffffffffff"])
def test_a_bad_chunk_size_gets_400_at_once(front: tuple[str, str], size_line: bytes) -> None:
    name, url = front
    raw = (POST[name] + "Transfer-Encoding: chunked\r\n\r\n").encode() + size_line + b"\r\nab\r\n"
    reply = exchange(url, raw)
    assert not reply.held and reply.status == 400, reply.data[:300]
    assert reply.seconds < READ_TIMEOUT_S + SLACK_S


@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "10, 12"])
def test_an_invalid_content_length_gets_400(front: tuple[str, str], length: str) -> None:
    name, url = front
    reply = exchange(url, (POST[name] + f"Content-Length: {length}\r\n\r\n{{}}").encode())
    assert not reply.held and reply.status == 400, reply.data[:300]


def test_a_body_that_never_arrives_is_dropped_at_the_read_timeout(front: tuple[str, str]) -> None:
    name, url = front
    reply = exchange(url, (POST[name] + "Content-Length: 100\r\n\r\n0123456789").encode())
    assert not reply.held, "the server waited for the missing bytes past its read timeout"
    assert reply.status in (408, None) and reply.seconds < READ_TIMEOUT_S + SLACK_S


def test_a_trickling_request_is_cut_at_the_read_timeout(front: tuple[str, str]) -> None:
    name, url = front
    with connect(url) as sock:
        started = time.monotonic()
        closed = False
        for byte in POST[name].encode():     # one byte every 0.1 s: the request takes ~8 s
            try:
                sock.sendall(bytes([byte]))
                time.sleep(0.1)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if time.monotonic() - started > READ_TIMEOUT_S + SLACK_S:
                sock.settimeout(0.5)
                try:
                    closed = sock.recv(65536) == b"" or True
                except TimeoutError:
                    closed = False
                break
    assert closed, "a request trickling in byte by byte held its connection past the timeout"


def test_idle_connections_hold_no_thread_and_are_closed(front: tuple[str, str]) -> None:
    name, url = front
    ok_request(url, name)                   # the workers are started
    before = threading.active_count()
    idle = [connect(url) for _ in range(100)]
    try:
        time.sleep(0.3)
        assert threading.active_count() - before <= 2, "a thread per idle connection"
        reply = ok_request(url, name)        # a real client is served meanwhile
        assert reply.status == 200, reply.data[:300]
        time.sleep(IDLE_TIMEOUT_S + SLACK_S)
        for sock in idle:
            sock.settimeout(2)
            assert sock.recv(1) == b"", "an idle connection outlived the idle timeout"
    finally:
        for sock in idle:
            sock.close()


def test_connections_over_the_limit_are_refused_with_429(engine: LocalLambda) -> None:
    server = HttpAPI(engine, port=0, max_connections=5, idle_timeout_s=30)
    url = server.start().url
    held = [connect(url) for _ in range(5)]
    try:
        time.sleep(0.2)
        reply = exchange(url, b"GET /h/x HTTP/1.1\r\nHost: local\r\n\r\n")
        assert reply.status == 429 and reply.json() == {"message": "Too Many Requests"}
    finally:
        for sock in held:
            sock.close()
        server.stop()


@pytest.mark.parametrize("line", [b"GET\r\n", b"GET / HTTP/9.9\r\n", b"\x00\x01\x02 / HTTP/1.1\r\n",
                                  b"GET / HTTP/1.1\r\nBad Header\r\n", b"G" * 70000 + b"\r\n"])
def test_malformed_request_lines_get_a_4xx(front: tuple[str, str], line: bytes) -> None:
    _, url = front
    reply = exchange(url, line + b"\r\n")
    assert not reply.held and reply.status is not None and 400 <= reply.status < 500, reply.data


# -- what the fronts answer --------------------------------------------------------------------

def test_deeply_nested_json_is_invalid_request_content(lam: str) -> None:
    body = b"[" * 100_000
    reply = exchange(lam, (POST["lam"] + f"Content-Length: {len(body)}\r\n"
                           "Connection: close\r\n\r\n").encode() + body)
    assert reply.status == 400 and "x-amzn-ErrorType: InvalidRequestContentException" in reply.head


@pytest.mark.parametrize("body", [b'{"x": NaN}', b'{"x": -Infinity}', b'[Infinity]'])
def test_non_standard_json_numbers_are_invalid_request_content(lam: str, body: bytes) -> None:
    reply = exchange(lam, (POST["lam"] + f"Content-Length: {len(body)}\r\n"
                           "Connection: close\r\n\r\n").encode() + body)
    assert reply.status == 400 and "x-amzn-ErrorType: InvalidRequestContentException" in reply.head


@pytest.mark.parametrize(("method", "path", "status", "message"), [
    ("post", "/items", 403, "Missing Authentication Token"),      # REST: unsupported method
    ("BREW", "/items/1", 403, "Missing Authentication Token"),
    ("post", "/h/x", 404, "Not Found"),                            # HTTP API, even for ANY
    ("PROPFIND", "/h/x", 404, "Not Found"),
])
def test_unknown_methods_get_api_gateways_answer(api: str, method: str, path: str, status: int,
                                                 message: str) -> None:
    reply = exchange(api, f"{method} {path} HTTP/1.1\r\nHost: local\r\nConnection: close\r\n"
                          "Content-Length: 0\r\n\r\n".encode())
    assert (reply.status, reply.json()) == (status, {"message": message})


def test_unknown_methods_get_the_invoke_apis_answer(lam: str) -> None:
    reply = exchange(lam, b"post /2015-03-31/functions/Echo/invocations HTTP/1.1\r\n"
                          b"Host: local\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert reply.status == 404 and "x-amzn-ErrorType: UnknownOperationException" in reply.head


def test_a_header_with_cr_lf_from_the_function_is_a_malformed_response(api: str) -> None:
    reply = exchange(api, b"GET /items/1?mode=crlf HTTP/1.1\r\nHost: local\r\n"
                          b"Connection: close\r\n\r\n")
    assert (reply.status, reply.json()) == (502, {"message": "Internal server error"})
    assert "X-Injected" not in reply.head


def test_a_header_outside_latin1_from_the_function_is_sent_as_utf8(api: str) -> None:
    reply = exchange(api, b"GET /items/1?mode=utf8 HTTP/1.1\r\nHost: local\r\n"
                          b"Connection: close\r\n\r\n")
    assert reply.status == 200 and "caf\u00e9 \u4e2d".encode() in reply.data


def test_the_function_keeps_serving_after_all_of_it(front: tuple[str, str]) -> None:
    name, url = front
    assert ok_request(url, name).status == 200


# -- engine-side caps and answers ----------------------------------------------------------------

def test_what_a_call_prints_is_capped(engine: LocalLambda) -> None:
    from lambdalite.local.logs import MAX_OUTPUT_BYTES

    result = engine.invoke("Loud", b'{"mb": 24}')
    assert json.loads(result.payload) == {"printed_mb": 24}
    assert len(result.logs.encode()) < MAX_OUTPUT_BYTES + 4096
    assert "bytes of this invocation's output were dropped" in result.logs
    assert result.logs.rstrip().splitlines()[-1].startswith("REPORT RequestId")


@pytest.mark.parametrize(("reserved", "reason"), [
    (None, "ConcurrentInvocationLimitExceeded"),              # the local --concurrency cap
    (1, "ReservedFunctionConcurrentInvocationLimitExceeded"),
])
def test_the_throttle_reason_names_the_limit_that_was_hit(reserved: int | None,
                                                          reason: str) -> None:
    spec = fn("Slow", "sleepy.handler", reserved_concurrency=reserved)
    with LocalLambda({"Slow": spec}, concurrency=1) as local:
        server = InvokeAPI(local, port=0)
        url = server.start().url
        try:
            body = b'{"seconds": 2}'
            raw = (f"POST /2015-03-31/functions/Slow/invocations HTTP/1.1\r\nHost: local\r\n"
                   f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
            first = threading.Thread(target=exchange, args=(url, raw))
            first.start()
            time.sleep(0.5)
            throttled = exchange(url, raw)
            first.join(30)
        finally:
            server.stop()
    assert throttled.status == 429, throttled.data
    answer = throttled.json()
    assert isinstance(answer, dict) and answer["Reason"] == reason
