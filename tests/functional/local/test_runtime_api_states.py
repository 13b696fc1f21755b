"""The Runtime API server on its own, driven with http.client as a runtime would."""

from __future__ import annotations

import http.client
import json
import threading

import pytest

from lambdalite.local.runtime_api import (
    MAX_RESPONSE_BYTES,
    InitError,
    Invocation,
    Outcome,
    OutcomeKind,
    Ready,
    RuntimeAPI,
)

pytestmark = pytest.mark.timeout(30)
NEXT = "/2018-06-01/runtime/invocation/next"


@pytest.fixture
def api():
    server = RuntimeAPI()
    yield server
    server.close()


def request(api: RuntimeAPI, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(api.address, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, dict(response.getheaders()), data


def invocation(request_id: str = "req-1", **kw: object) -> Invocation:
    return Invocation(request_id, b'{"k": 1}', 1_700_000_000_000, "arn:aws:lambda:fn", "Root=1-x",
                      **kw)  # type: ignore[arg-type]


def test_next_returns_the_event_with_lambdas_headers(api: RuntimeAPI) -> None:
    api.offer(invocation(client_context='{"c": 1}', cognito_identity='{"i": 2}'))
    status, headers, body = request(api, "GET", NEXT)
    assert status == 200 and body == b'{"k": 1}'
    assert headers["Lambda-Runtime-Aws-Request-Id"] == "req-1"
    assert headers["Lambda-Runtime-Deadline-Ms"] == "1700000000000"
    assert headers["Lambda-Runtime-Invoked-Function-Arn"] == "arn:aws:lambda:fn"
    assert headers["Lambda-Runtime-Trace-Id"] == "Root=1-x"
    assert headers["Lambda-Runtime-Client-Context"] == '{"c": 1}'
    assert headers["Lambda-Runtime-Cognito-Identity"] == '{"i": 2}'
    assert isinstance(api.events.get_nowait(), Ready)


def test_next_blocks_until_an_invocation_is_offered(api: RuntimeAPI) -> None:
    got: list[int] = []
    thread = threading.Thread(target=lambda: got.append(request(api, "GET", NEXT)[0]))
    thread.start()
    assert isinstance(api.events.get(timeout=5), Ready)
    assert got == []
    api.offer(invocation())
    thread.join(5)
    assert got == [200]


def test_response_is_accepted_once(api: RuntimeAPI) -> None:
    api.offer(invocation())
    request(api, "GET", NEXT)
    status, _, body = request(api, "POST", "/2018-06-01/runtime/invocation/req-1/response", b'"ok"')
    assert status == 202 and json.loads(body) == {"status": "OK"}
    api.events.get_nowait()   # Ready
    outcome = api.events.get_nowait()
    assert isinstance(outcome, Outcome) and outcome.kind is OutcomeKind.RESPONSE
    assert outcome.body == b'"ok"' and outcome.finished >= outcome.started
    again, _, body = request(api, "POST", "/2018-06-01/runtime/invocation/req-1/response", b'"2"')
    assert again == 403 and json.loads(body)["errorType"] == "InvalidStateTransition"


def test_response_for_another_request_id_is_a_bad_request(api: RuntimeAPI) -> None:
    api.offer(invocation())
    request(api, "GET", NEXT)
    status, _, body = request(api, "POST", "/2018-06-01/runtime/invocation/other/response", b"{}")
    assert status == 400 and json.loads(body)["errorType"] == "InvalidRequestID"


def test_response_without_invocation_is_forbidden(api: RuntimeAPI) -> None:
    status, _, _ = request(api, "POST", "/2018-06-01/runtime/invocation/req-1/response", b"{}")
    assert status == 403
    status, _, _ = request(api, "POST", "/2018-06-01/runtime/invocation/req-1/error", b"{}")
    assert status == 403


def test_second_next_before_answering_is_forbidden(api: RuntimeAPI) -> None:
    api.offer(invocation())
    request(api, "GET", NEXT)
    status, _, _ = request(api, "GET", NEXT)
    assert status == 403


def test_oversized_response_gets_413(api: RuntimeAPI) -> None:
    api.offer(invocation())
    request(api, "GET", NEXT)
    status, _, body = request(api, "POST", "/2018-06-01/runtime/invocation/req-1/response",
                              b"x" * (MAX_RESPONSE_BYTES + 1))
    assert status == 413 and json.loads(body)["errorType"] == "RequestEntityTooLarge"
    api.events.get_nowait()
    outcome = api.events.get_nowait()
    assert isinstance(outcome, Outcome) and outcome.kind is OutcomeKind.TOO_LARGE
    assert outcome.error_type == "Function.ResponseSizeTooLarge"


def test_error_takes_its_type_from_the_header(api: RuntimeAPI) -> None:
    api.offer(invocation())
    request(api, "GET", NEXT)
    error = {"errorMessage": "bad", "errorType": "ValueError", "stackTrace": []}
    status, _, _ = request(api, "POST", "/2018-06-01/runtime/invocation/req-1/error",
                           json.dumps(error).encode(),
                           {"Lambda-Runtime-Function-Error-Type": "Runtime.Custom"})
    assert status == 202
    api.events.get_nowait()
    outcome = api.events.get_nowait()
    assert isinstance(outcome, Outcome) and outcome.kind is OutcomeKind.ERROR
    assert outcome.error_type == "Runtime.Custom" and json.loads(outcome.body) == error


def test_init_error_only_before_the_first_next(api: RuntimeAPI) -> None:
    body = json.dumps({"errorMessage": "no", "errorType": "Runtime.ImportModuleError"}).encode()
    status, _, _ = request(api, "POST", "/2018-06-01/runtime/init/error", body)
    assert status == 202
    event = api.events.get_nowait()
    assert isinstance(event, InitError) and event.error_type == "Runtime.ImportModuleError"
    assert request(api, "POST", "/2018-06-01/runtime/init/error", body)[0] == 403
    assert request(api, "GET", NEXT)[0] == 403   # an init failure is final


def test_init_error_after_next_is_forbidden(api: RuntimeAPI) -> None:
    api.offer(invocation())
    request(api, "GET", NEXT)
    assert request(api, "POST", "/2018-06-01/runtime/init/error", b"{}")[0] == 403


def test_unknown_paths_are_not_found(api: RuntimeAPI) -> None:
    assert request(api, "GET", "/2018-06-01/runtime/snapshot/next")[0] == 404
    assert request(api, "POST", "/2018-06-01/runtime/invocation/x/other", b"{}")[0] == 404
    assert request(api, "GET", "/")[0] == 404


RESTORE_NEXT = "/2018-06-01/runtime/restore/next"
RESTORE_ERROR = "/2018-06-01/runtime/restore/error"
INIT_ERROR = "/2018-06-01/runtime/init/error"


def test_restore_is_refused_without_snapstart(api: RuntimeAPI) -> None:
    assert request(api, "GET", RESTORE_NEXT)[0] == 403
    assert request(api, "POST", RESTORE_ERROR, b"{}")[0] == 403
    assert api.events.empty()


def test_snapstart_restore_next_ends_init_once_and_restore_error_only_during_restore() -> None:
    from lambdalite.local.runtime_api import RestoreError, Snapshot

    api = RuntimeAPI(snap_start=True)
    try:
        assert request(api, "POST", RESTORE_ERROR, b"{}")[0] == 403      # before the snapshot
        assert request(api, "GET", RESTORE_NEXT)[0] == 200
        assert isinstance(api.events.get_nowait(), Snapshot)
        assert request(api, "GET", RESTORE_NEXT)[0] == 403               # once
        assert request(api, "POST", INIT_ERROR, b"{}")[0] == 403         # INIT is over
        body = json.dumps({"errorType": "RuntimeError", "errorMessage": "hook"}).encode()
        status, _, _ = request(api, "POST", RESTORE_ERROR, body,
                               {"Lambda-Runtime-Function-Error-Type": "Runtime.AfterRestoreError"})
        assert status == 202
        event = api.events.get_nowait()
        assert isinstance(event, RestoreError) and event.error_type == "Runtime.AfterRestoreError"
        assert request(api, "GET", NEXT)[0] == 403                      # the runtime must exit
    finally:
        api.close()


def raw(api: RuntimeAPI, data: bytes) -> bytes:
    import socket

    host, port = api.address.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_the_request_parser_answers_like_the_stdlibs(api: RuntimeAPI) -> None:
    """Its own header parsing (no email package) for what a runtime sends; the rest as the
    stdlib does: a bad header line is 400, HTTP/1.0 and 100-continue are served."""
    bad = raw(api, b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nno colon here\r\n\r\n")
    assert bad.startswith(b"HTTP/1.1 400 ") or bad.startswith(b"HTTP/1.0 400 ")
    # As the stdlib: answered in protocol_version (1.1), and the 1.0 connection is closed.
    assert raw(api, b"GET /nowhere HTTP/1.0\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 404 ")
    api.offer(invocation())
    next_, _, _ = request(api, "GET", NEXT)
    assert next_ == 200
    body = b'{"ok": true}'
    answer = raw(api, b"POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\n"
                      b"Host: x\r\nExpect: 100-continue\r\nConnection: close\r\n"
                      b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\n")
    assert any(isinstance(e, Outcome) and e.body == body
               for e in [api.events.get_nowait() for _ in range(api.events.qsize())])


def test_close_stops_accepting_at_once_and_twice_is_harmless() -> None:
    """close() ends the accept loop (woken through its pipe) before it returns, and the port
    takes no more connections."""
    server = RuntimeAPI()
    host, port = server.address.split(":")
    assert request(server, "GET", "/2018-06-01/runtime/invocation/nope")[0] == 404
    loop = server._thread
    server.close()
    assert not loop.is_alive()
    with pytest.raises(ConnectionRefusedError):
        http.client.HTTPConnection(host, int(port), timeout=5).connect()
    server.close()
