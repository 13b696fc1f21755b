"""``RuntimeAPI.serve``: the caller's own thread answers the runtime's ``next`` and reads its
answer (no server thread in the call), driven by a keep-alive runtime client as awslambdaric
keeps one; every way out of that path (a slow ``next``, a wrong request, a silent or closed
runtime, a large event) still ends the call right."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from lambdalite.local.runtime_api import (
    SERVE_PAYLOAD_LIMIT,
    Exited,
    Invocation,
    Outcome,
    OutcomeKind,
    Ready,
    RuntimeAPI,
)

pytestmark = pytest.mark.timeout(30)
NEXT = "/2018-06-01/runtime/invocation/next"


def invocation(request_id: str, payload: bytes = b'{"k": 1}') -> Invocation:
    return Invocation(request_id, payload, 1_700_000_000_000, "arn:aws:lambda:fn", "Root=1-x")


class Runtime:
    """A runtime on one keep-alive connection: ``next``, then ``answer(request_id, event)``
    (a list of (method, path, body) to send, the last of them its answer), repeated."""

    started: list[Runtime] = []

    def __init__(self, api: RuntimeAPI, answer: Callable[[str, bytes], list[tuple[str, str,
                 bytes]]] | None = None, pause_s: float = 0.0) -> None:
        self.conn = http.client.HTTPConnection(api.address, timeout=10)
        self.answer = answer or (lambda rid, event: [("POST", f"/2018-06-01/runtime/invocation/"
                                                               f"{rid}/response", event)])
        self.pause_s = pause_s
        self.seen: list[tuple[str, bytes]] = []
        self.statuses: list[int] = []
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.started.append(self)
        self.thread.start()

    def send(self, method: str, path: str, body: bytes | None = None
             ) -> tuple[int, http.client.HTTPResponse, bytes]:
        self.conn.request(method, path, body=body)
        response = self.conn.getresponse()
        return response.status, response, response.read()

    def run(self) -> None:
        try:
            while True:
                status, response, event = self.send("GET", NEXT)
                if status != 200:
                    return
                rid = response.getheader("Lambda-Runtime-Aws-Request-Id") or ""
                self.seen.append((rid, event))
                for method, path, body in self.answer(rid, event):
                    self.statuses.append(self.send(method, path, body)[0])
                time.sleep(self.pause_s)
        except (OSError, http.client.HTTPException):
            # The server closed under it: its test has ended (daemon threads outlive their
            # test; on a loaded machine the close can land between a request and its reply,
            # where http.client raises ResponseNotReady, not an OSError).
            return


@pytest.fixture
def frozen() -> list[float]:
    return []


@pytest.fixture
def api(frozen: list[float]) -> Iterator[RuntimeAPI]:
    server = RuntimeAPI(on_wait=lambda: frozen.append(time.monotonic()))
    yield server
    server.close()
    for runtime in Runtime.started:
        runtime.conn.close()
    Runtime.started.clear()


def call(api: RuntimeAPI, request_id: str, payload: bytes = b'{"k": 1}') -> Outcome:
    api.serve(invocation(request_id, payload))
    event = api.wait(10)
    assert isinstance(event, Outcome), event
    return event


def test_the_callers_thread_serves_each_call_and_the_answers_are_right(
        api: RuntimeAPI, frozen: list[float]) -> None:
    runtime = Runtime(api)
    assert isinstance(api.wait(10), Ready)
    outcomes = [call(api, f"req-{i}", json.dumps({"i": i}).encode()) for i in range(20)]
    assert [o.request_id for o in outcomes] == [f"req-{i}" for i in range(20)]
    assert all(o.kind is OutcomeKind.RESPONSE and json.loads(o.body) == {"i": i}
               for i, o in enumerate(outcomes))
    assert runtime.seen == [(f"req-{i}", json.dumps({"i": i}).encode()) for i in range(20)]
    assert set(runtime.statuses) == {202}
    # The runtime's next was waiting (parked: the first) or loose (each after it, unless it
    # came later than NEXT_GRACE_S, as it may on a loaded machine: then the server thread
    # served the call).
    assert api.caller_served >= 10
    served = api.caller_served
    # Idle after the last call: its next is read and the environment frozen within ticks.
    deadline = time.monotonic() + 5
    while not frozen and time.monotonic() < deadline:
        time.sleep(0.01)
    assert frozen, "an idle environment was never frozen"
    assert call(api, "after-idle").request_id == "after-idle"   # and thawed for the next
    assert api.caller_served == served + 1                        # parked while idle


def test_a_runtime_slow_to_ask_again_is_served_by_its_server_thread(api: RuntimeAPI) -> None:
    Runtime(api, pause_s=0.05)            # its next comes 50 ms after each answer
    assert isinstance(api.wait(10), Ready)
    outcomes = [call(api, f"req-{i}") for i in range(4)]
    assert [o.request_id for o in outcomes] == [f"req-{i}" for i in range(4)]
    assert api.caller_served >= 1         # the first (parked at INIT); the rest as offer has it


def test_wrong_requests_while_the_caller_serves_get_their_status(api: RuntimeAPI) -> None:
    def answer(rid: str, event: bytes) -> list[tuple[str, str, bytes]]:
        base = "/2018-06-01/runtime/invocation"
        return [("GET", NEXT, b""),                                   # 403: not answered
                ("POST", f"{base}/someone-else/response", b"{}"),     # 400
                ("POST", f"{base}/{rid}/error", json.dumps(
                    {"errorType": "ValueError", "errorMessage": "no"}).encode())]

    runtime = Runtime(api, answer)
    assert isinstance(api.wait(10), Ready)
    outcome = call(api, "req-1")
    assert outcome.kind is OutcomeKind.ERROR and outcome.error_type == "ValueError"
    deadline = time.monotonic() + 5        # its 202 is read after the outcome is posted
    while len(runtime.statuses) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert runtime.statuses == [403, 400, 202]
    assert call(api, "req-2").kind is OutcomeKind.ERROR


def test_an_event_from_another_thread_wakes_the_serving_caller(api: RuntimeAPI) -> None:
    """A runtime that never answers: the watcher's Exited (another thread) ends the wait."""
    Runtime(api, lambda rid, event: time.sleep(60) or [])   # type: ignore[func-returns-value]
    assert isinstance(api.wait(10), Ready)
    api.serve(invocation("req-1"))
    threading.Timer(0.2, api.post, args=(Exited(137),)).start()
    began = time.monotonic()
    event = api.wait(20)
    assert isinstance(event, Exited) and event.returncode == 137
    assert time.monotonic() - began < 10


def test_a_runtime_that_closes_its_connection_ends_the_wait_by_its_exit(api: RuntimeAPI) -> None:
    runtime = Runtime(api, lambda rid, event: runtime.conn.close() or [])  # type: ignore[func-returns-value]
    assert isinstance(api.wait(10), Ready)
    api.serve(invocation("req-1"))
    threading.Timer(0.2, api.post, args=(Exited(1),)).start()
    assert isinstance(api.wait(10), Exited)


def test_a_silent_runtime_times_the_wait_out(api: RuntimeAPI) -> None:
    Runtime(api, lambda rid, event: time.sleep(60) or [])   # type: ignore[func-returns-value]
    assert isinstance(api.wait(10), Ready)
    api.serve(invocation("req-1"))
    began = time.monotonic()
    assert api.wait(0.3) is None
    assert 0.25 <= time.monotonic() - began < 5
    api.abandon()                          # as the environment does before it kills


def test_a_large_event_goes_through_the_server_thread(api: RuntimeAPI) -> None:
    Runtime(api)
    assert isinstance(api.wait(10), Ready)
    big = json.dumps({"x": "y" * SERVE_PAYLOAD_LIMIT}).encode()
    outcome = call(api, "big", big)
    assert outcome.body == big and api.caller_served == 0
    time.sleep(0.1)                        # its next, parked by the server thread
    assert call(api, "small").request_id == "small" and api.caller_served == 1
