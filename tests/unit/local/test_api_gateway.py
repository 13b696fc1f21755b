"""API Gateway emulation without a server: route priority, event shapes, proxy responses."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from lambdalite.local import events
from lambdalite.local.engine_types import EventSource, FunctionSpec
from lambdalite.local.http_api import MalformedResponse, match, proxy_response, routes_from

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def spec(*sources: EventSource) -> dict[str, FunctionSpec]:
    return {"Fn": FunctionSpec("Fn", "app.handler", Path("."), events=sources)}


ROUTES = routes_from(spec(
    EventSource("Greedy", "HttpApi", "/{proxy+}", "ANY"),
    EventSource("Param", "HttpApi", "/items/{id}", "GET"),
    EventSource("Exact", "HttpApi", "/items/special", "ANY"),
    EventSource("ExactGet", "HttpApi", "/items/special", "GET"),
    EventSource("Default", "HttpApi", "$default", "ANY"),
    EventSource("Sched", "Schedule", schedule="rate(1 minute)"),
))


@pytest.mark.parametrize(("method", "path", "route", "params"), [
    ("GET", "/items/special", "/items/special", {}),
    ("POST", "/items/special", "/items/special", {}),
    ("GET", "/items/7", "/items/{id}", {"id": "7"}),
    ("POST", "/items/7", "/{proxy+}", {"proxy": "items/7"}),
    ("GET", "/", "$default", {}),
])
def test_most_specific_route_wins(method: str, path: str, route: str,
                                  params: dict[str, str]) -> None:
    found = match(ROUTES, method, path)
    assert found is not None and found[0].path == route and found[1] == params
    if path == "/items/special" and method == "GET":
        assert found[0].method == "GET"   # a method beats ANY on the same path


def test_schedules_are_not_routes() -> None:
    assert len(ROUTES) == 5


def route(kind: str = "Api", version: str = "1.0"):
    source = EventSource("E", kind, "/x", "GET", payload_format_version=version)
    return routes_from(spec(source))[0]


def test_v1_response_headers_merge_and_remap() -> None:
    answer = proxy_response(json.dumps({
        "statusCode": 201, "body": "hi",
        "headers": {"X-A": "1", "X-B": "single", "Content-Length": "999", "X-N": 5},
        "multiValueHeaders": {"X-B": ["m1", "m2"]}}).encode(), route())
    assert answer.status == 201 and answer.body == b"hi"
    assert ("X-B", "m1") in answer.headers and ("X-B", "single") not in answer.headers
    assert ("x-amzn-Remapped-Content-Length", "999") in answer.headers
    assert ("X-N", "5") in answer.headers


@pytest.mark.parametrize("payload", [
    b"[1, 2]", b'"text"', b'{"body": "no status"}', b'{"statusCode": 200, "extra": 1}',
    b'{"statusCode": "abc"}', b'{"statusCode": 200, "body": {"a": 1}}',
    b'{"statusCode": 200, "body": "!!", "isBase64Encoded": true}',
    b'{"statusCode": 200, "headers": {"a": {"b": 1}}}', b'{"statusCode": 200, "headers": []}',
    b'{"statusCode": 200, "multiValueHeaders": {"a": "b"}}', b"not json",
])
def test_v1_malformed_responses(payload: bytes) -> None:
    with pytest.raises(MalformedResponse):
        proxy_response(payload, route())


def test_v2_inferred_and_structured_responses() -> None:
    inferred = proxy_response(b'"just text"', route("HttpApi", "2.0"))
    assert (inferred.status, inferred.body) == (200, b'"just text"')
    structured = proxy_response(json.dumps({
        "statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(),
        "isBase64Encoded": True, "cookies": ["a=1"], "ignored": True}).encode(),
        route("HttpApi", "2.0"))
    assert structured.body == b"\x00\x01" and ("Set-Cookie", "a=1") in structured.headers
    with pytest.raises(MalformedResponse):
        proxy_response(b'{"statusCode": 200, "cookies": "a=1"}', route("HttpApi", "2.0"))


def test_events_have_the_keys_of_the_recorded_samples() -> None:
    """Same top-level and requestContext keys as the sample events in tests/events."""
    request = events.Request("POST", "/classify", headers=(("Content-Type", "image/png"),),
                             body=b"\x89PNG")
    rest = events.rest_event(request, events.Route("/classify", "POST", "Prod",
                                                   binary_media_types=("image/png",)))
    sample = json.loads((EVENTS_DIR / "apigw_rest_v1.json").read_text())
    assert set(sample) <= set(rest)
    assert set(sample["requestContext"]) <= set(rest["requestContext"])
    assert rest["isBase64Encoded"] is True
    v2 = events.http_api_event(request, events.Route("/classify", "POST", "$default"))
    sample = json.loads((EVENTS_DIR / "http_api_v2.json").read_text())
    assert set(sample) <= set(v2) and set(sample["requestContext"]) <= set(v2["requestContext"])
    assert v2["isBase64Encoded"] is True
    scheduled = events.schedule_event("rule")
    sample = json.loads((EVENTS_DIR / "scheduled_event.json").read_text())
    assert set(sample) == set(scheduled) and scheduled["detail-type"] == "Scheduled Event"


@pytest.mark.parametrize(("content_type", "types", "binary"), [
    ("image/png", ("image/png",), True), ("image/jpeg", ("image/*",), True),
    ("application/json", ("*/*",), True), ("application/json", ("image/png",), False),
    ("image/png; q=1", ("image/png",), True), (None, ("*/*",), False),
])
def test_rest_binary_media_types(content_type: str | None, types: tuple[str, ...],
                                 binary: bool) -> None:
    assert events.is_binary_rest(content_type, types) is binary


@pytest.mark.parametrize(("content_type", "text"), [
    ("text/plain", True), ("application/json; charset=utf-8", True),
    ("application/vnd.api+json", True), ("image/png", False),
    ("application/octet-stream", False), (None, True),
])
def test_http_api_text_types(content_type: str | None, text: bool) -> None:
    assert events.is_text(content_type) is text
