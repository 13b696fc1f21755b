"""API Gateway in front of the local Lambda, for ``lambdalite local start-api``.

Routes come from the functions' ``Api`` (REST API, proxy event 1.0) and ``HttpApi`` (HTTP
API, payload 2.0 unless PayloadFormatVersion is 1.0) events. A request becomes the event API
Gateway would send (``events.py``); the function's answer becomes the HTTP response, with API
Gateway's own answers where it would give them:

                       REST API (Api)                          HTTP API (HttpApi)
    no route           403 {"message":"Missing Authentication Token"}   404 {"message":"Not Found"}
    (a wrong method on a known path gets the answer of the API that owns the path)
    function error,    502 {"message": "Internal server error"}  500 {"message":"Internal Server Error"}
    malformed answer
    Lambda refused     500 {"message": "Internal server error"}  500 {"message":"Internal Server Error"}
    (throttled, ...)
    integration        504 {"message": "Endpoint request timed out"}    503 {"message":"Service Unavailable"}
    timeout (29/30 s)
    body over 10 MB    413 {"message":"Request Too Long"}
    any other method   as no route (API Gateway: "an unsupported API method or resource")
    bad framing, slow  400 / 408, and 429 past the server's connection limit ("THROTTLED")

Sources: the Lambda developer guide, "Handling Lambda errors with an API Gateway API" (a refused
invoke is 500, a function error or a response in the wrong format 502), and the API Gateway
developer guide, "Gateway response types" (MISSING_AUTHENTICATION_TOKEN, THROTTLED 429, ...).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from lambdalite.local import events
from lambdalite.local.engine_types import FunctionSpec, InvokeResult, LambdaEngine
from lambdalite.local.errors import InvokeAPIError
from lambdalite.local.server import Answer, BodyTooLarge, Handler, LocalServer, workers_for

log = logging.getLogger(__name__)

DEFAULT_PORT = 3000
API_PAYLOAD_LIMIT = 10 * 1024 * 1024    # API Gateway quota: payload size 10 MB
REST_TIMEOUT_S, HTTP_TIMEOUT_S = 29.0, 30.0   # API Gateway integration timeouts (defaults)
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
V1_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})
V2_KEYS = frozenset({"statusCode", "headers", "body", "isBase64Encoded", "cookies"})
# Framing headers a function cannot set; API Gateway passes them on as x-amzn-Remapped-*.
REMAPPED = frozenset({"content-length", "connection", "transfer-encoding", "date", "server"})
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")   # RFC 9110 field-name
_HEADER_BREAK = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")       # would end or split the header
ResultCallback = Callable[[InvokeResult], None]


class MalformedResponse(ValueError):
    """The function's answer is not a valid Lambda proxy response."""


@dataclass(frozen=True)
class ApiRoute:
    function: str
    kind: str                  # "Api" (REST) | "HttpApi"
    path: str                  # template: "/items/{id}", "/{proxy+}", or "$default"
    method: str                # upper case or ANY
    stage: str
    payload_version: str       # "1.0" | "2.0"
    binary_media_types: tuple[str, ...]
    pattern: re.Pattern[str]
    names: tuple[str, ...]     # path parameter names, in order

    @property
    def rest(self) -> bool:
        return self.kind == "Api"

    def specificity(self) -> tuple[int, ...]:
        """Sort key, most specific first: literal paths, then {param}, then {greedy+};
        a method before ANY; the $default route last (API Gateway's rule)."""
        if self.path == "$default":
            return (2, 0, 0, 0)
        segments = [s for s in self.path.split("/") if s]
        greedy = sum(s.endswith("+}") for s in segments)
        literal = sum(not s.startswith("{") for s in segments)
        return (greedy, -literal, -len(segments), int(self.method == "ANY"))


def routes_from(functions: Mapping[str, FunctionSpec]) -> list[ApiRoute]:
    routes = []
    for spec in functions.values():
        for event in spec.events:
            if event.type not in ("Api", "HttpApi") or event.path is None:
                continue
            pattern, names = _compile(event.path)
            version = "1.0" if event.type == "Api" else (event.payload_format_version or "2.0")
            routes.append(ApiRoute(
                spec.name, event.type, event.path, event.method or "ANY",
                event.stage or ("Prod" if event.type == "Api" else "$default"), version,
                event.binary_media_types, pattern, names))
    return sorted(routes, key=ApiRoute.specificity)


def match(routes: Iterable[ApiRoute], method: str,
          path: str) -> tuple[ApiRoute, dict[str, str]] | None:
    for route in routes:   # sorted most specific first
        if route.method != method and not (route.method == "ANY" and method in HTTP_METHODS):
            continue
        found = route.pattern.fullmatch(path)
        if found:
            return route, {n: v for n, v in zip(route.names, found.groups(), strict=True)}
    return None


def _compile(path: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    if path == "$default":
        return re.compile(r"/.*"), ()
    names, parts = [], []
    for segment in path.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            names.append(segment[1:-2])
            parts.append("(.+)")
        elif segment.startswith("{") and segment.endswith("}"):
            names.append(segment[1:-1])
            parts.append("([^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("/" + "/".join(parts)), tuple(names)


def gateway_event(route: ApiRoute, request: events.Request,
                  params: Mapping[str, str]) -> dict[str, Any]:
    """The event API Gateway sends the route's function for ``request``."""
    shape = events.rest_event if route.payload_version == "1.0" else events.http_api_event
    return shape(request, events.Route(route.path, route.method, route.stage, dict(params),
                                       route.binary_media_types, http_api=not route.rest))


# -- the function's answer -> HTTP --------------------------------------------------------------

def proxy_response(payload: bytes, route: ApiRoute) -> Answer:
    """Map a Lambda proxy response back to HTTP; MalformedResponse where API Gateway fails."""
    try:
        answer = json.loads(payload)
    except ValueError:
        raise MalformedResponse("the function's response is not JSON") from None
    if route.payload_version == "2.0":
        if not (isinstance(answer, dict) and "statusCode" in answer):
            # HTTP API infers the response: 200, JSON, the function's output as the body.
            return Answer(200, (("Content-Type", "application/json"),), payload)
        # Only the 2.0 fields are read; other keys are not an error there (REST is strict).
        return _structured({k: v for k, v in answer.items() if k in V2_KEYS}, V2_KEYS)
    if not isinstance(answer, dict):
        raise MalformedResponse("the response must be a JSON object with a statusCode")
    return _structured(answer, V1_KEYS)


def _structured(answer: dict[str, Any], allowed: frozenset[str]) -> Answer:
    extra = sorted(answer.keys() - allowed)
    if extra:
        raise MalformedResponse(f"unexpected keys in the response: {', '.join(extra)}")
    status = answer.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode must be an HTTP status, not {status!r}")
    body = answer.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedResponse("body must be a string (serialize it with json.dumps)")
    raw = (body or "").encode("utf-8")
    if answer.get("isBase64Encoded") is True and body:
        try:
            raw = base64.b64decode(body, validate=True)
        except binascii.Error:
            raise MalformedResponse("isBase64Encoded is true but body is not base64") from None
    headers = _headers(answer.get("headers"), answer.get("multiValueHeaders"))
    cookies = answer.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
        raise MalformedResponse("cookies must be a list of strings")
    headers += [("Set-Cookie", c) for c in cookies]
    return Answer(status, tuple(headers), raw)


def _headers(single: Any, multi: Any) -> list[tuple[str, str]]:
    if single is not None and not isinstance(single, dict):
        raise MalformedResponse("headers must be an object")
    if multi is not None and not isinstance(multi, dict):
        raise MalformedResponse("multiValueHeaders must be an object")
    out: list[tuple[str, str]] = []
    for name, values in (multi or {}).items():
        if not isinstance(values, list):
            raise MalformedResponse(f"multiValueHeaders.{name} must be a list")
        out += [(name, _header_value(v)) for v in values]
    seen = {name.lower() for name, _ in out}
    out += [(n, _header_value(v)) for n, v in (single or {}).items() if n.lower() not in seen]
    for name, value in out:
        if not _HEADER_NAME.fullmatch(name):
            raise MalformedResponse(f"{name!r} is not a valid header name")
        if _HEADER_BREAK.search(value):
            raise MalformedResponse(f"the value of header {name} holds a line break or another "
                                    "control character")
    return [(f"x-amzn-Remapped-{n}" if n.lower() in REMAPPED else n, v) for n, v in out]


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedResponse(f"header values must be strings, not {value!r}")


def gateway_error(rest: bool, status: int, message: str) -> Answer:
    headers = [("Content-Type", "application/json")]
    if rest:
        kinds = {403: "MissingAuthenticationTokenException", 502: "InternalServerErrorException",
                 500: "InternalServerErrorException", 504: "InternalServerErrorException",
                 413: "RequestTooLarge", 400: "BadRequestException",
                 429: "TooManyRequestsException"}
        headers.append(("x-amzn-ErrorType", kinds.get(status, "ApiGatewayException")))
    return Answer(status, tuple(headers), json.dumps({"message": message}).encode())


def integration_failure(rest: bool, refused: bool = False) -> Answer:
    """The function failed or answered in the wrong format (REST: 502), or Lambda refused the
    invoke (``refused``: throttled, too large; REST: 500); HTTP API answers 500 to both."""
    if rest:
        return gateway_error(True, 500 if refused else 502, "Internal server error")
    return gateway_error(False, 500, "Internal Server Error")


# -- the server ---------------------------------------------------------------------------------

class HttpAPI(LocalServer):
    """``server_options``: ``LocalServer``'s (workers, timeouts, max_connections)."""

    def __init__(self, engine: LambdaEngine, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 *, on_result: ResultCallback | None = None,
                 integration_timeout_s: float | None = None, **server_options: Any) -> None:
        self.engine = engine
        self.routes = routes_from(engine.functions)
        self.on_result = on_result
        self.integration_timeout_s = integration_timeout_s
        self.rest_only = all(r.rest for r in self.routes)
        server_options.setdefault("workers", workers_for(engine))
        super().__init__(_ApiHandler, host, port, **server_options)

    def refusal(self, status: int, message: str) -> Answer:
        """Before routing, the answer is REST's when the API has any REST route."""
        rest = not self.routes or any(r.rest for r in self.routes)
        return gateway_error(rest, status, message)

    def answer(self, request: events.Request) -> Answer:
        found = match(self.routes, request.method, request.path)
        if found is None:
            return self._no_route(request.path)
        route, params = found
        if len(request.body) > API_PAYLOAD_LIMIT:
            return gateway_error(route.rest, 413, "Request Too Long")
        result = self._invoke(route, json.dumps(gateway_event(route, request, params)).encode())
        if isinstance(result, Answer):
            return result
        if result.function_error:
            log.warning("%s %s: function %s failed (%s)", request.method, request.path,
                        route.function, result.error_type)
            return integration_failure(route.rest)
        try:
            answer = proxy_response(result.payload, route)
        except MalformedResponse as exc:
            log.warning("%s %s: malformed Lambda proxy response from %s: %s", request.method,
                        request.path, route.function, exc)
            return integration_failure(route.rest)
        headers = [*answer.headers, ("x-amzn-RequestId", request.request_id)]
        if route.rest and not any(n.lower() == "content-type" for n, _ in headers):
            headers.append(("Content-Type", "application/json"))   # REST API's default
        return Answer(answer.status, tuple(headers), answer.body)

    def _no_route(self, path: str) -> Answer:
        """No route for this method: the API that owns the path answers (a wrong method on an
        HttpApi path is HTTP API's 404, not REST's 403); an unknown path, REST's if any."""
        owner = next((r for r in self.routes if r.pattern.fullmatch(path)), None)
        rest = owner.rest if owner is not None else (
            not self.routes or any(r.rest for r in self.routes))
        if rest:
            return gateway_error(True, 403, "Missing Authentication Token")
        return gateway_error(False, 404, "Not Found")

    def _invoke(self, route: ApiRoute, payload: bytes) -> InvokeResult | Answer:
        """Invoke within API Gateway's integration timeout (29 s REST, 30 s HTTP API)."""
        box: list[InvokeResult | Answer] = []

        def run() -> None:
            try:
                result = self.engine.invoke(route.function, payload)
            except InvokeAPIError as exc:   # throttled, too large: Lambda refused the call
                log.warning("invoking %s failed: %s", route.function, exc.message)
                box.append(integration_failure(route.rest, refused=True))
                return
            except Exception:
                log.exception("invoking %s failed", route.function)
                box.append(integration_failure(route.rest))
                return
            if self.on_result is not None:
                self.on_result(result)
            box.append(result)

        limit = self.integration_timeout_s
        if limit is None:
            limit = REST_TIMEOUT_S if route.rest else HTTP_TIMEOUT_S
        worker = threading.Thread(target=run, name="api-invoke", daemon=True)
        worker.start()
        worker.join(limit)
        if box:
            return box[0]
        if route.rest:
            return gateway_error(True, 504, "Endpoint request timed out")
        return gateway_error(False, 503, "Service Unavailable")


class _ApiHandler(Handler):
    def handle_request(self) -> None:
        app: HttpAPI = self.server  # type: ignore[assignment]
        try:
            body = self.read_body()
        except BodyTooLarge:
            answer = gateway_error(app.rest_only, 413, "Request Too Long")
        else:
            url = urlsplit(self.path)
            request = events.Request(
                method=self.command, path=unquote(url.path) or "/", query=url.query,
                headers=tuple(self.headers.items()), body=body,
                source_ip=self.client_address[0], protocol=self.request_version)
            answer = app.answer(request)
        self.send(answer.status, answer.body, answer.headers)
