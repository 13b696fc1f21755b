"""What a function's trigger sends it for one request body, and how its caller sees the answer.

    trigger = pick_trigger(spec)                  # its first Api/HttpApi route, else its Function
                                                  # URL, else a direct invocation
    payload = trigger.payload(Body.from_file(Path("digit.png")))
    reply = trigger.reply(engine.invoke(spec.name, payload))   # status (None: direct), body, ok

One class per trigger, as the services build their events: ``GatewayTrigger`` (an ``Api`` route:
REST proxy event 1.0, whose body is base64-encoded when its type is one of the API's
BinaryMediaTypes; an ``HttpApi`` route: payload 2.0, every non-text body base64-encoded),
``FunctionUrlTrigger`` (payload 2.0 with the Function URL's domain) and ``DirectTrigger`` (the
body as the JSON a direct invocation of the lambdalite function takes: an image as
``{"image": "<base64>"}``, a ``.npy`` as ``{"inputs": {"npy": "<base64>"}}``, JSON as it is).
``local invoke --body-file`` and ``lambdalite predict`` use them; ``function_url.py`` too.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lambdalite.errors import UsageError
from lambdalite.local import events
from lambdalite.local.engine_types import FunctionSpec, InvokeResult
from lambdalite.local.http_api import (
    ApiRoute,
    MalformedResponse,
    gateway_event,
    integration_failure,
    proxy_response,
    routes_from,
)
from lambdalite.local.server import Answer

TRIGGER_KINDS = ("api", "http-api", "function-url", "direct")
NPY_TYPE = "application/x-npy"
JSON_TYPE = "application/json"
# Types mimetypes does not know everywhere (.npy), or knows differently (.jpg on old tables).
_TYPES = {".npy": NPY_TYPE, ".json": JSON_TYPE, ".png": "image/png", ".jpg": "image/jpeg",
          ".jpeg": "image/jpeg", ".gif": "image/gif", ".bmp": "image/bmp", ".webp": "image/webp"}
_PARAM = re.compile(r"\{([^}/]+?)\+?\}")


@dataclass(frozen=True)
class Body:
    """A request body: its bytes, its Content-Type, and where it came from (for messages)."""

    data: bytes
    content_type: str
    name: str = "the body"

    @classmethod
    def from_file(cls, path: Path) -> Body:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        return cls(data, content_type_of(path), str(path))


def content_type_of(path: Path) -> str:
    suffix = path.suffix.lower()
    return _TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


@dataclass(frozen=True)
class Reply:
    """The answer as the trigger's caller sees it."""

    ok: bool                 # a 2xx answer, or a direct invocation that did not fail
    status: int | None       # HTTP status; None for a direct invocation
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


class Trigger(ABC):
    kind: str                # one of TRIGGER_KINDS

    @abstractmethod
    def describe(self) -> str:
        """One line: what calls the function (``POST /classify_digit (REST API)``)."""

    @abstractmethod
    def event(self, body: Body) -> Any:
        """The event (JSON-serialisable) the function receives for ``body``."""

    @abstractmethod
    def reply(self, result: InvokeResult) -> Reply:
        """How the caller sees the invocation's result."""

    def payload(self, body: Body) -> bytes:
        return json.dumps(self.event(body)).encode()


class _HttpTrigger(Trigger):
    """A trigger in front of which an HTTP request arrives: it reads the proxy response back."""

    route: ApiRoute

    def reply(self, result: InvokeResult) -> Reply:
        if result.function_error:
            return _reply(self._failure())
        try:
            answer = proxy_response(result.payload, self.route)
        except MalformedResponse:
            return _reply(self._failure())
        return _reply(answer)

    @abstractmethod
    def _failure(self) -> Answer: ...


class GatewayTrigger(_HttpTrigger):
    """An ``Api`` or ``HttpApi`` event of the function, called as API Gateway would call it."""

    def __init__(self, route: ApiRoute) -> None:
        self.route = route
        self.kind = "api" if route.rest else "http-api"
        self.path = _PARAM.sub("sample", route.path) if route.path != "$default" else "/"
        self.method = "POST" if route.method == "ANY" else route.method

    def describe(self) -> str:
        api = "REST API" if self.route.rest else "HTTP API"
        return f"{self.method} {self.path} ({api}, payload {self.route.payload_version})"

    def event(self, body: Body) -> Any:
        request = events.Request(self.method, self.path,
                                 headers=(("Content-Type", body.content_type),), body=body.data)
        params = self.route.pattern.fullmatch(self.path)
        values = dict(zip(self.route.names, params.groups(), strict=True)) if params else {}
        return gateway_event(self.route, request, values)

    def _failure(self) -> Answer:
        return integration_failure(self.route.rest)


class FunctionUrlTrigger(_HttpTrigger):
    """The function's Function URL (``FunctionUrlConfig``)."""

    kind = "function-url"

    def __init__(self, function: str, auth_type: str = "NONE", region: str = "us-east-1") -> None:
        self.function = function
        self.auth_type = auth_type
        self.region = region
        self.url_id = events.function_url_id(function)
        # Read back as payload 2.0 is read: the mapping of an HTTP API route.
        self.route = ApiRoute(function, "FunctionUrl", "$default", "ANY", "$default", "2.0", (),
                              re.compile(r"/.*"), ())

    def describe(self) -> str:
        return f"Function URL {self.domain} (AuthType {self.auth_type})"

    @property
    def domain(self) -> str:
        return events.function_url_domain(self.url_id, self.region)

    def event(self, body: Body) -> Any:
        request = events.Request("POST", "/", headers=(("Content-Type", body.content_type),),
                                 body=body.data)
        return self.request_event(request)

    def request_event(self, request: events.Request) -> dict[str, Any]:
        return events.function_url_event(request, url_id=self.url_id, region=self.region,
                                         auth_type=self.auth_type)

    def _failure(self) -> Answer:
        return url_error(502, "Internal Server Error")


class DirectTrigger(Trigger):
    """A direct invocation (the Invoke API): the event is the JSON the function takes."""

    kind = "direct"

    def describe(self) -> str:
        return "direct invocation (Invoke API)"

    def event(self, body: Body) -> Any:
        media = body.content_type.split(";", 1)[0].strip().lower()
        encoded = base64.b64encode(body.data).decode()
        if media == JSON_TYPE or media.endswith("+json"):
            try:
                return json.loads(body.data)
            except ValueError as exc:
                raise UsageError(f"{body.name} is not valid JSON: {exc}") from None
        if media == NPY_TYPE:
            return {"inputs": {"npy": encoded}}
        if media.startswith("image/") or media == "application/octet-stream":
            return {"image": encoded}
        raise UsageError(f"{body.name} ({media}) cannot be sent in a direct invocation: send an "
                         "image, a .npy or a .json file")

    def reply(self, result: InvokeResult) -> Reply:
        return Reply(result.function_error is None, None, result.payload)


def url_error(status: int, message: str) -> Answer:
    """A Function URL's own answer (throttled, too large, the function failed)."""
    return Answer(status, (("Content-Type", JSON_TYPE),), json.dumps({"Message": message}).encode())


def triggers_of(spec: FunctionSpec, region: str = "us-east-1") -> list[Trigger]:
    """Every trigger of the function, in the template's order, then its Function URL, then the
    direct invocation (which every function has)."""
    routes = routes_from({spec.name: spec})
    found: list[Trigger] = []
    for source in spec.events:
        route = next((r for r in routes if (r.path, r.method, r.kind) == (
            source.path, source.method or "ANY", source.type)), None)
        if route is not None:
            found.append(GatewayTrigger(route))
    if spec.function_url_auth is not None:
        found.append(FunctionUrlTrigger(spec.name, spec.function_url_auth, region))
    found.append(DirectTrigger())
    return found


def pick_trigger(spec: FunctionSpec, kind: str | None = None,
                 region: str = "us-east-1") -> Trigger:
    """The trigger ``kind`` (one of TRIGGER_KINDS), or the function's first one."""
    available = triggers_of(spec, region)
    if kind is None:
        return available[0]
    if kind not in TRIGGER_KINDS:
        raise UsageError(f"--trigger must be one of {', '.join(TRIGGER_KINDS)}, not {kind!r}")
    for trigger in available:
        if trigger.kind == kind:
            return trigger
    kinds = ", ".join(dict.fromkeys(t.kind for t in available))
    raise UsageError(f"{spec.name} has no {kind} trigger in the template (it has: {kinds})")


def _reply(answer: Answer) -> Reply:
    return Reply(200 <= answer.status < 300, answer.status, answer.body, answer.headers)


__all__ = ["TRIGGER_KINDS", "Body", "DirectTrigger", "FunctionUrlTrigger", "GatewayTrigger",
           "Reply", "Trigger", "content_type_of", "pick_trigger", "triggers_of", "url_error"]
