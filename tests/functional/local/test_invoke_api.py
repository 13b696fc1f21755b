"""start-lambda's Invoke API with boto3's own Lambda client against the real server and engine."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambdalite.lambda_facts import ASYNC_PAYLOAD_LIMIT, SYNC_PAYLOAD_LIMIT
from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import FunctionSpec
from lambdalite.local.interpreters import HOST_VERSION
from lambdalite.local.invoke_api import InvokeAPI

HANDLERS = Path(__file__).resolve().parents[2] / "fixtures" / "handlers"
pytestmark = pytest.mark.timeout(120)


def fn(name: str, handler: str, **kw: object) -> FunctionSpec:
    return FunctionSpec(name, handler, HANDLERS, runtime=f"python{HOST_VERSION}",
                        **{"memory_mb": 128, "timeout_s": 3.0, **kw})  # type: ignore[arg-type]


FUNCTIONS = [fn("Echo", "echo.handler"), fn("Raises", "raises.handler"),
             fn("Sleepy", "sleepy.handler", timeout_s=0.5),
             fn("Pair", "sleepy.handler", reserved_concurrency=2),
             fn("Chatty", "chatty.handler"), fn("Load", "echo.handler", memory_mb=512)]


@pytest.fixture(scope="module")
def events_done() -> list[object]:
    return []


@pytest.fixture(scope="module")
def server(events_done: list[object]) -> Iterator[InvokeAPI]:
    with LocalLambda({f.name: f for f in FUNCTIONS}, idle_timeout_s=600,
                     on_event_result=events_done.append) as engine:
        api = InvokeAPI(engine, port=0, function_names={"echo-fn": "Echo"})
        api.start()
        yield api
        api.stop()


def make_client(url: str):
    return boto3.client("lambda", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x",
                        config=Config(retries={"max_attempts": 1}, read_timeout=30,
                                      max_pool_connections=20))


@pytest.fixture(scope="module")
def client(server: InvokeAPI):
    return make_client(server.url)


def payload(response: dict) -> object:
    return json.loads(response["Payload"].read())


def test_sync_invoke(client) -> None:
    response = client.invoke(FunctionName="Echo", Payload=json.dumps({"n": 1}))
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    body = payload(response)
    assert body["event"] == {"n": 1}
    assert body["function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:Echo"
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == body["request_id"]


def test_names_arns_and_function_name_alias(client) -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:Echo"
    for name in ("echo-fn", arn, f"{arn}:$LATEST", "Echo:$LATEST"):
        assert payload(client.invoke(FunctionName=name))["event"] == {}   # no payload: {}
    assert payload(client.invoke(FunctionName="Echo", Qualifier="$LATEST"))["event"] == {}


def test_client_context_reaches_the_function(client) -> None:
    context = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
    response = client.invoke(FunctionName="Echo", ClientContext=context)
    assert payload(response)["client_context"] == {"k": "v"}


def test_log_type_tail_returns_the_last_4kb_of_the_log(client) -> None:
    response = client.invoke(FunctionName="Chatty", Payload=b'{"n": 7}', LogType="Tail")
    log = base64.b64decode(response["LogResult"]).decode()
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert f"hello from {request_id}" in log and "logged 7" in log
    assert f"END RequestId: {request_id}" in log and "REPORT RequestId" in log
    assert "LogResult" not in client.invoke(FunctionName="Chatty")


def test_log_tail_is_cut_to_4kb() -> None:
    from lambdalite.local.invoke_api import log_tail

    tail = base64.b64decode(log_tail("x" * 10_000 + "REPORT end"))
    assert len(tail) == 4096 and tail.endswith(b"REPORT end")


def test_function_error_is_200_with_unhandled(client) -> None:
    response = client.invoke(FunctionName="Raises")
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    error = payload(response)
    assert error["errorType"] == "BoomError" and error["errorMessage"] == "boom"


def test_timeout_is_a_function_error(client) -> None:
    response = client.invoke(FunctionName="Sleepy", Payload=b'{"seconds": 5}')
    assert response["FunctionError"] == "Unhandled"
    error = payload(response)
    assert error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 0.50 seconds" in error["errorMessage"]


def test_event_and_dry_run(client, server: InvokeAPI, events_done: list[object]) -> None:
    response = client.invoke(FunctionName="Echo", InvocationType="Event", Payload=b'{"e": 1}')
    assert response["StatusCode"] == 202 and response["Payload"].read() == b""
    assert server.engine.wait_events(30)   # type: ignore[attr-defined]
    assert any(json.loads(r.payload)["event"] == {"e": 1} for r in events_done)  # type: ignore[attr-defined]
    dry = client.invoke(FunctionName="Echo", InvocationType="DryRun")
    assert dry["StatusCode"] == 204


def error_of(call) -> tuple[int, str, str, dict]:
    with pytest.raises(ClientError) as info:
        call()
    response = info.value.response
    return (response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"],
            response["Error"]["Message"], response["ResponseMetadata"]["HTTPHeaders"])


def test_unknown_function_is_404(client) -> None:
    status, code, message, headers = error_of(lambda: client.invoke(FunctionName="Nope"))
    assert (status, code) == (404, "ResourceNotFoundException")
    assert headers["x-amzn-errortype"] == "ResourceNotFoundException"
    assert "Function not found: Nope" in message and "Echo" in message
    status, code, _, _ = error_of(lambda: client.invoke(FunctionName="Echo", Qualifier="7"))
    assert (status, code) == (404, "ResourceNotFoundException")


def test_bad_requests_are_400(client) -> None:
    status, code, message, _ = error_of(lambda: client.invoke(FunctionName="Echo", Payload=b"{"))
    assert (status, code) == (400, "InvalidRequestContentException")
    assert message.startswith("Could not parse request body into json")
    status, code, _, _ = error_of(lambda: client.invoke(FunctionName="Echo",
                                                        ClientContext="!!notbase64"))
    assert (status, code) == (400, "InvalidRequestContentException")
    status, code, _, _ = error_of(lambda: client.invoke(FunctionName="Echo",
                                                        InvocationType="Sometimes"))
    assert (status, code) == (400, "InvalidParameterValueException")


def test_payload_too_large_is_413(client) -> None:
    big = b'"' + b"x" * SYNC_PAYLOAD_LIMIT + b'"'
    status, code, message, _ = error_of(lambda: client.invoke(FunctionName="Echo", Payload=big))
    assert (status, code) == (413, "RequestTooLargeException")
    assert "Request must be smaller than 6291456 bytes" in message
    status, code, _, _ = error_of(lambda: client.invoke(
        FunctionName="Echo", InvocationType="Event", Payload=b'"' + b"x" * ASYNC_PAYLOAD_LIMIT + b'"'))
    assert (status, code) == (413, "RequestTooLargeException")


def test_raw_error_body_has_aws_shape(server: InvokeAPI) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{server.url}/2015-03-31/functions/Nope/invocations",
                                     data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    with info.value as error:
        assert error.code == 404 and json.loads(error.read())["Type"] == "User"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{server.url}/2015-03-31/functions", timeout=10)
    with info.value as error:
        assert error.headers["x-amzn-ErrorType"] == "UnknownOperationException"


def test_parallel_invokes_run_concurrently_and_throttle(client) -> None:
    """Two 1 s invocations of a reserved-concurrency-2 function overlap (two environments);
    a third at the same time is throttled with 429."""
    results: list[object] = []
    barrier = threading.Barrier(3)

    def call() -> None:
        barrier.wait()
        try:
            results.append(payload(client.invoke(FunctionName="Pair",
                                                 Payload=b'{"seconds": 1.0}')))
        except ClientError as exc:
            results.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(map(str, results)).count("{'slept': True}") == 2
    assert "TooManyRequestsException" in results


def test_many_parallel_echo_calls_use_several_environments(client, server: InvokeAPI) -> None:
    out: list[dict] = []
    lock = threading.Lock()

    def call(i: int) -> None:
        body = payload(client.invoke(FunctionName="Echo", Payload=json.dumps({"i": i})))
        with lock:
            out.append(body)  # type: ignore[arg-type]

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(b["event"]["i"] for b in out) == list(range(8))
    assert len({b["request_id"] for b in out}) == 8


LOAD_THREADS, LOAD_CALLS = 6, 2000


def test_load_over_http_loses_and_duplicates_nothing(server: InvokeAPI) -> None:
    """A few thousand Invoke API calls from parallel boto3 clients (one per thread): every
    caller gets its own payload back exactly once, under a request id seen nowhere else."""
    clients = [make_client(server.url) for _ in range(LOAD_THREADS)]   # created serially
    got: list[list[tuple[int, object, str, str]]] = [[] for _ in range(LOAD_THREADS)]

    def worker(k: int) -> None:
        for i in range(k, LOAD_CALLS, LOAD_THREADS):
            response = clients[k].invoke(FunctionName="Load", Payload=json.dumps({"i": i}))
            body = payload(response)
            got[k].append((i, body["event"], body["request_id"],   # type: ignore[index]
                           response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(LOAD_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, calls in enumerate(got):
        assert [i for i, *_ in calls] == list(range(k, LOAD_CALLS, LOAD_THREADS))
        assert all(event == {"i": i} for i, event, *_ in calls)   # its own payload, to its caller
    ids = [request_id for calls in got for _, _, request_id, header in calls if header == request_id]
    assert len(ids) == LOAD_CALLS == len(set(ids))
    assert len(server.engine.environments("Load")) <= LOAD_THREADS   # warm reuse, no leak


def test_a_client_context_outside_latin1_reaches_the_function(client) -> None:
    """The runtime receives the client context in a header: text outside Latin-1 used to
    kill the environment (Runtime.ExitError)."""
    custom = {"k": "\u4e2d", "line": "a\nb"}
    context = base64.b64encode(json.dumps({"custom": custom}, ensure_ascii=False)
                               .replace(", ", ",\n").encode()).decode()
    first = client.invoke(FunctionName="Echo", ClientContext=context)
    assert "FunctionError" not in first, payload(first)
    body = payload(first)
    assert body["client_context"] == custom
    assert payload(client.invoke(FunctionName="Echo"))["pid"] == body["pid"]   # same environment
