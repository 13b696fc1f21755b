"""The event each trigger sends for one body, and how its caller sees the answer (no server)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from lambdalite.errors import UsageError
from lambdalite.local import events
from lambdalite.local.engine_types import EventSource, FunctionSpec, InvokeResult, Report
from lambdalite.local.triggers import (
    Body,
    DirectTrigger,
    FunctionUrlTrigger,
    content_type_of,
    pick_trigger,
    triggers_of,
)

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"


def spec(*sources: EventSource, url: str | None = None) -> FunctionSpec:
    return FunctionSpec("Fn", "app.handler", Path("."), events=sources, function_url_auth=url)


def result(payload: object, error: str | None = None) -> InvokeResult:
    return InvokeResult("id", json.dumps(payload).encode(), "Unhandled" if error else None,
                        error, "", Report("id", 1.0, 1, 128, 10), False, "e", 1.0)


def test_the_first_event_in_template_order_is_the_default_then_url_then_direct() -> None:
    fn = spec(EventSource("Sched", "Schedule", schedule="rate(1 minute)"),
              EventSource("Http", "HttpApi", "/items/{id}", "GET"),
              EventSource("Rest", "Api", "/classify", "POST"), url="NONE")
    assert [t.kind for t in triggers_of(fn)] == ["http-api", "api", "function-url", "direct"]
    assert pick_trigger(fn).describe() == "GET /items/sample (HTTP API, payload 2.0)"
    assert pick_trigger(spec()).kind == "direct"


def test_a_trigger_the_function_lacks_is_a_usage_error_naming_what_it_has() -> None:
    with pytest.raises(UsageError, match=r"Fn has no function-url trigger .*\(it has: api, "
                                         r"direct\)"):
        pick_trigger(spec(EventSource("Rest", "Api", "/x", "POST")), "function-url")


def test_rest_base64_encodes_a_binary_media_type_and_fills_path_parameters() -> None:
    rest = pick_trigger(spec(EventSource("Rest", "Api", "/items/{id}", "POST",
                                         binary_media_types=("image/png",))))
    event = rest.event(Body(PNG, "image/png"))
    assert (event["httpMethod"], event["path"], event["resource"]) == (
        "POST", "/items/sample", "/items/{id}")
    assert event["pathParameters"] == {"id": "sample"}
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == PNG
    text = rest.event(Body(b'{"a": 1}', "application/json"))
    assert (text["isBase64Encoded"], text["body"]) == (False, '{"a": 1}')


def test_http_api_encodes_every_non_text_body() -> None:
    http = pick_trigger(spec(EventSource("Http", "HttpApi", "$default", "ANY")))
    event = http.event(Body(b"\x93NUMPY", "application/x-npy"))
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["isBase64Encoded"] is True and event["rawPath"] == "/"


def test_function_url_event_has_the_shape_and_domain_lambda_sends() -> None:
    sample = json.loads((EVENTS_DIR / "function_url.json").read_text())
    url = FunctionUrlTrigger("Fn", "NONE")
    event = url.event(Body(PNG, "image/png"))
    assert set(sample) - {"cookies", "queryStringParameters"} <= set(event)
    assert set(sample["requestContext"]) <= set(event["requestContext"])
    context = event["requestContext"]
    assert context["domainName"] == f"{url.url_id}.lambda-url.us-east-1.on.aws"
    assert (context["domainPrefix"], context["apiId"], context["accountId"]) == (
        url.url_id, url.url_id, "anonymous")
    assert (event["routeKey"], context["stage"], event["isBase64Encoded"]) == (
        "$default", "$default", True)
    assert "authorizer" not in context
    iam = FunctionUrlTrigger("Fn", "AWS_IAM").event(Body(b"{}", "application/json"))
    assert iam["requestContext"]["authorizer"]["iam"]["accountId"] == events.ACCOUNT_ID


def test_the_function_sees_a_function_url_event_as_one() -> None:
    from lambdalite.function.events import EventKind, classify

    event = FunctionUrlTrigger("Fn").event(Body(PNG, "image/png"))
    assert classify(event) is EventKind.FUNCTION_URL


@pytest.mark.parametrize(("content_type", "data", "expected"), [
    ("image/png", PNG, {"image": base64.b64encode(PNG).decode()}),
    ("application/octet-stream", PNG, {"image": base64.b64encode(PNG).decode()}),
    ("application/x-npy", b"\x93NUMPY", {"inputs": {"npy": base64.b64encode(b"\x93NUMPY")
                                                    .decode()}}),
    ("application/json", b'{"inputs": [1, 2]}', {"inputs": [1, 2]}),
])
def test_a_direct_invocation_carries_the_body_as_the_function_takes_it(
        content_type: str, data: bytes, expected: object) -> None:
    assert DirectTrigger().event(Body(data, content_type)) == expected


@pytest.mark.parametrize(("body", "message"), [
    (Body(b"{nope", "application/json", "x.json"), "x.json is not valid JSON"),
    (Body(b"hello", "text/plain", "x.txt"), r"x.txt \(text/plain\) cannot be sent in a direct"),
])
def test_a_direct_body_it_cannot_carry_is_a_usage_error(body: Body, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        DirectTrigger().event(body)


def test_replies_read_the_proxy_response_as_the_callers_see_it() -> None:
    rest = pick_trigger(spec(EventSource("Rest", "Api", "/x", "POST")))
    ok = rest.reply(result({"statusCode": 201, "body": "made"}))
    assert (ok.ok, ok.status, ok.body) == (True, 201, b"made")
    failed = rest.reply(result({"errorMessage": "boom"}, error="ValueError"))
    assert (failed.ok, failed.status) == (False, 502)
    url = FunctionUrlTrigger("Fn").reply(result({"answer": 42}))   # 2.0 infers a response
    assert (url.ok, url.status, json.loads(url.body)) == (True, 200, {"answer": 42})
    direct = DirectTrigger().reply(result({"errorType": "X"}, error="X"))
    assert (direct.ok, direct.status) == (False, None)


@pytest.mark.parametrize(("name", "expected"), [
    ("a.npy", "application/x-npy"), ("a.JSON", "application/json"), ("a.jpg", "image/jpeg"),
    ("a.webp", "image/webp"), ("a.unknown-suffix", "application/octet-stream"),
])
def test_content_type_of_a_file(name: str, expected: str) -> None:
    assert content_type_of(Path(name)) == expected
