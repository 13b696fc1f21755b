"""start-api: API Gateway REST (v1) and HTTP API (v2) in front of real functions, with urllib."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import EventSource, FunctionSpec
from lambdalite.local.http_api import HttpAPI
from lambdalite.local.interpreters import HOST_VERSION

HANDLERS = Path(__file__).resolve().parents[2] / "fixtures" / "handlers"
pytestmark = pytest.mark.timeout(120)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))

REST = FunctionSpec("Rest", "proxy.handler", HANDLERS, runtime=f"python{HOST_VERSION}",
                    memory_mb=128, timeout_s=3, events=(
                        EventSource("Items", "Api", "/items/{id}", "GET", stage="Prod",
                                    binary_media_types=("image/png",)),
                        EventSource("Post", "Api", "/items", "POST", stage="Prod",
                                    binary_media_types=("image/png",)),
                        EventSource("Files", "Api", "/files/{path+}", "ANY", stage="v1")))
HTTP = FunctionSpec("Http", "proxy.handler", HANDLERS, runtime=f"python{HOST_VERSION}",
                    memory_mb=128, timeout_s=3, events=(
                        EventSource("Get", "HttpApi", "/h/{name}", "ANY", stage="$default",
                                    payload_format_version="2.0"),
                        EventSource("Old", "HttpApi", "/old", "POST", stage="$default",
                                    payload_format_version="1.0")))


@pytest.fixture(scope="module")
def rest() -> Iterator[str]:
    with LocalLambda({"Rest": REST}, idle_timeout_s=600) as engine, \
            HttpAPI(engine, port=0, integration_timeout_s=2.0).start() as server:
        yield server.url


@pytest.fixture(scope="module")
def http() -> Iterator[str]:
    with LocalLambda({"Http": HTTP}, idle_timeout_s=600) as engine, \
            HttpAPI(engine, port=0, integration_timeout_s=2.0).start() as server:
        yield server.url


def fetch(url: str, data: bytes | None = None, method: str | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, list[str]], bytes]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, head, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            status, head, body = error.code, error.headers, error.read()
    multi: dict[str, list[str]] = {}
    for name, value in head.items():
        multi.setdefault(name.lower(), []).append(value)
    return status, multi, body


def test_rest_event_fields(rest: str) -> None:
    status, headers, body = fetch(f"{rest}/items/42?a=1&b=2&b=3",
                                  headers={"X-Dup": "v", "Accept": "text/plain"})
    assert status == 200 and headers["content-type"] == ["application/json"]
    assert headers["x-multi"] == ["a", "b"]           # multiValueHeaders
    event = json.loads(body)
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/items/{id}",
                                                                       "/items/42", "GET")
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"a": "1", "b": "3"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1"], "b": ["2", "3"]}
    assert event["headers"]["X-Dup"] == "v" and event["multiValueHeaders"]["X-Dup"] == ["v"]
    context = event["requestContext"]
    assert context["stage"] == "Prod" and context["httpMethod"] == "GET"
    assert context["path"] == "/Prod/items/42" and context["resourcePath"] == "/items/{id}"
    assert context["requestId"] == headers["x-amzn-requestid"][0]
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert event["body"] is None and event["isBase64Encoded"] is False
    assert event["stageVariables"] is None


def test_rest_binary_media_type_body_is_base64(rest: str) -> None:
    _, _, body = fetch(f"{rest}/items", data=PNG, headers={"Content-Type": "image/png"})
    event = json.loads(body)
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == PNG
    _, _, body = fetch(f"{rest}/items", data=b'{"x": 1}',
                       headers={"Content-Type": "application/json"})
    event = json.loads(body)
    assert event["isBase64Encoded"] is False and event["body"] == '{"x": 1}'


def test_rest_greedy_path_and_any_method(rest: str) -> None:
    status, _, body = fetch(f"{rest}/files/a/b/c.txt", data=b"", method="DELETE")
    event = json.loads(body)
    assert status == 200 and event["pathParameters"] == {"path": "a/b/c.txt"}
    assert event["requestContext"]["stage"] == "v1" and event["httpMethod"] == "DELETE"


def test_rest_base64_response_is_decoded(rest: str) -> None:
    status, headers, body = fetch(f"{rest}/items/1?mode=binary")
    assert status == 200 and headers["content-type"] == ["image/png"] and body == PNG


def test_rest_status_code_is_passed_through(rest: str) -> None:
    assert fetch(f"{rest}/items/1?status=418")[0] == 418


@pytest.mark.parametrize("mode", ["malformed", "raw", "raise"])
def test_rest_bad_answers_are_502(rest: str, mode: str) -> None:
    status, headers, body = fetch(f"{rest}/items/1?mode={mode}")
    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})
    assert headers["x-amzn-errortype"] == ["InternalServerErrorException"]


def test_rest_unknown_route_or_method_is_403(rest: str) -> None:
    for url, method in ((f"{rest}/nope", "GET"), (f"{rest}/items/1", "POST")):
        status, _, body = fetch(url, data=b"" if method == "POST" else None, method=method)
        assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})


def test_rest_integration_timeout_is_504(rest: str) -> None:
    status, _, body = fetch(f"{rest}/items/1?mode=sleep&s=2.5")
    assert (status, json.loads(body)) == (504, {"message": "Endpoint request timed out"})


def test_http_api_v2_event_fields(http: str) -> None:
    status, headers, body = fetch(f"{http}/h/ada?x=1&x=2&y=",
                                  headers={"Cookie": "c1=a; c2=b", "X-Two": "v"})
    assert status == 200
    assert headers["set-cookie"] == ["a=1", "b=2"]
    event = json.loads(body)
    assert event["version"] == "2.0" and event["routeKey"] == "ANY /h/{name}"
    assert (event["rawPath"], event["rawQueryString"]) == ("/h/ada", "x=1&x=2&y=")
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["pathParameters"] == {"name": "ada"}
    assert event["cookies"] == ["c1=a", "c2=b"] and "cookie" not in event["headers"]
    assert event["headers"]["x-two"] == "v"           # lower case names
    context = event["requestContext"]
    assert context["http"]["method"] == "GET" and context["stage"] == "$default"
    assert context["routeKey"] == "ANY /h/{name}"
    assert "body" not in event and event["isBase64Encoded"] is False


def test_http_api_body_encoding_by_content_type(http: str) -> None:
    event = json.loads(fetch(f"{http}/h/p", data=PNG, headers={"Content-Type": "image/png"})[2])
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == PNG
    event = json.loads(fetch(f"{http}/h/p", data=b'{"a": 1}',
                             headers={"Content-Type": "application/json"})[2])
    assert (event["isBase64Encoded"], event["body"]) == (False, '{"a": 1}')
    # PayloadFormatVersion 1.0 on an HTTP API: the REST-shaped event, binary by content type.
    old = json.loads(fetch(f"{http}/old", data=PNG, headers={"Content-Type": "image/png"})[2])
    assert "version" not in old and old["httpMethod"] == "POST"
    assert old["isBase64Encoded"] is True and base64.b64decode(old["body"]) == PNG


def test_http_api_inferred_response(http: str) -> None:
    status, headers, body = fetch(f"{http}/h/x?mode=raw")
    assert status == 200 and json.loads(body) == {"hello": "world"}
    assert headers["content-type"] == ["application/json"]


@pytest.mark.parametrize("mode", ["malformed", "raise"])
def test_http_api_failures_are_500(http: str, mode: str) -> None:
    status, _, body = fetch(f"{http}/h/x?mode={mode}")
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})


def test_http_api_unknown_route_is_404(http: str) -> None:
    status, _, body = fetch(f"{http}/nope")
    assert (status, json.loads(body)) == (404, {"message": "Not Found"})


def test_http_api_integration_timeout_is_503(http: str) -> None:
    status, _, body = fetch(f"{http}/h/x?mode=sleep&s=2.5")
    assert (status, json.loads(body)) == (503, {"message": "Service Unavailable"})


def test_both_apis_answer_a_wrong_method_in_the_style_of_the_paths_api() -> None:
    with LocalLambda({"Rest": REST, "Http": HTTP}, idle_timeout_s=600) as engine, \
            HttpAPI(engine, port=0).start() as server:
        for path, method, answer in (
                ("/old", "GET", (404, {"message": "Not Found"})),          # HttpApi path
                ("/items", "GET", (403, {"message": "Missing Authentication Token"})),   # REST
                ("/nope", "GET", (403, {"message": "Missing Authentication Token"}))):
            status, _, body = fetch(f"{server.url}{path}", method=method)
            assert (status, json.loads(body)) == answer, path
