"""Lambda's Invoke API for ``lambdalite local start-lambda`` (boto3 ``endpoint_url=...``).

    POST /2015-03-31/functions/{FunctionName}/invocations[?Qualifier=$LATEST]
    X-Amz-Invocation-Type: RequestResponse (200) | Event (202) | DryRun (204)
    X-Amz-Log-Type: Tail -> X-Amz-Log-Result: base64 of the last 4 KB of the log
    X-Amz-Client-Context: base64 JSON -> context.client_context
    GET|PUT /2015-03-31/functions/{FunctionName}/configuration  (``function_config.py``)

A function error is a 200 with ``X-Amz-Function-Error: Unhandled`` and the error JSON; errors
of the call itself carry ``x-amzn-ErrorType`` and ``{"Type", "message"}`` as Lambda answers
them (the "Invoke" page of the Lambda API reference).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from lambdalite.lambda_facts import SYNC_PAYLOAD_LIMIT
from lambdalite.local.engine_types import (
    INVOCATION_TYPES,
    InvocationType,
    InvokeResult,
    LambdaEngine,
)
from lambdalite.local.errors import (
    InvalidParameterValue,
    InvalidRequestContent,
    InvokeAPIError,
    RequestTimeout,
    RequestTooLarge,
    ResourceNotFound,
    TooManyRequests,
    UnknownOperation,
)
from lambdalite.local.function_config import FunctionConfigurations
from lambdalite.local.log_lines import LATEST
from lambdalite.local.server import Answer, BodyTooLarge, Handler, LocalServer, workers_for

log = logging.getLogger(__name__)

DEFAULT_PORT = 3001
LOG_TAIL_BYTES = 4096
CLIENT_CONTEXT_LIMIT = 3583   # bytes of base64 (Lambda API reference, Invoke)
_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
_CONFIG_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/configuration/?$")
_CONFIG_METHODS = ("GET", "PUT")
_ARN = re.compile(r"^arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:(?P<rest>.+)$")
ResultCallback = Callable[[InvokeResult], None]


class InvokeAPI(LocalServer):
    """The Invoke API over a ``LambdaEngine``; ``function_names`` maps a template's
    FunctionName properties to logical ids (both are accepted, like `sam local`);
    ``server_options``: ``LocalServer``'s (workers, timeouts, max_connections)."""

    def __init__(self, engine: LambdaEngine, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 *, function_names: Mapping[str, str] | None = None,
                 on_result: ResultCallback | None = None, **server_options: Any) -> None:
        self.engine = engine
        self.function_names = dict(function_names or {})
        self.on_result = on_result
        self.configurations = FunctionConfigurations(engine)
        server_options.setdefault("workers", workers_for(engine))
        super().__init__(_InvokeHandler, host, port, **server_options)

    def refusal(self, status: int, message: str) -> Answer:
        # "InvalidRequestContentException: the request body could not be parsed as JSON, or a
        # request header is invalid" (Lambda API reference, Invoke, Errors).
        if status == 400:
            return error_answer(InvalidRequestContent(message))
        if status == 429:
            return error_answer(TooManyRequests(f"Rate Exceeded: {message}",
                                                reason="CallerRateLimitExceeded"))
        return error_answer(RequestTimeout(message))

    def answer(self, method: str, target: str, headers: Mapping[str, str],
               body: bytes) -> Answer:
        """One HTTP request -> the Invoke API's answer (never raises)."""
        try:
            return self._invoke(method, target, headers, body)
        except InvokeAPIError as exc:
            return error_answer(exc)
        except Exception:
            log.exception("Invoke API failed on %s %s", method, target)
            return error_answer(InvokeAPIError("internal error of the local Invoke API; "
                                               "see its log"))

    def _invoke(self, method: str, target: str, headers: Mapping[str, str],
                body: bytes) -> Answer:
        url = urlsplit(target)
        qualifier = parse_qs(url.query).get("Qualifier", [None])[0]
        config = _CONFIG_PATH.match(url.path)
        if config is not None and method in _CONFIG_METHODS:
            return self._configuration(method, unquote(config.group("name")), qualifier, body)
        match = _INVOKE_PATH.match(url.path)
        if match is None or method != "POST":
            raise UnknownOperation(
                f"Unknown operation {method} {url.path}: this server serves POST "
                "/2015-03-31/functions/{name}/invocations and GET/PUT .../configuration")
        name = self._function(unquote(match.group("name")), qualifier)
        invocation_type = _invocation_type(headers.get("x-amz-invocation-type"))
        log_type = headers.get("x-amz-log-type") or "None"
        if log_type not in ("None", "Tail"):
            raise InvalidParameterValue(f"LogType must be None or Tail, not {log_type!r}")
        client_context = _client_context(headers.get("x-amz-client-context"))
        payload = body or b"{}"    # no payload: the function gets {} (as `sam local`)
        if len(payload) <= SYNC_PAYLOAD_LIMIT:
            _check_json(payload)
        result = self.engine.invoke(name, payload, invocation_type=invocation_type,
                                    client_context=client_context)
        common = (("x-amzn-RequestId", result.request_id),)
        if invocation_type == "Event":
            return Answer(202, common)
        if invocation_type == "DryRun":
            return Answer(204, common)
        if self.on_result is not None:
            self.on_result(result)
        out = [*common, ("Content-Type", "application/json"), ("X-Amz-Executed-Version", LATEST)]
        if result.function_error:
            out.append(("X-Amz-Function-Error", result.function_error))
        if log_type == "Tail":
            out.append(("X-Amz-Log-Result", log_tail(result.logs)))
        return Answer(200, tuple(out), result.payload)

    def _configuration(self, method: str, raw: str, qualifier: str | None,
                       body: bytes) -> Answer:
        """GetFunctionConfiguration (GET) or UpdateFunctionConfiguration (PUT)."""
        name = self._function(raw, qualifier)
        if method == "GET":
            config = self.configurations.get(name)
        else:
            config = self.configurations.update(name, body)
        headers = (("x-amzn-RequestId", str(uuid.uuid4())), ("Content-Type", "application/json"))
        return Answer(200, headers, json.dumps(config).encode())

    def _function(self, raw: str, qualifier: str | None) -> str:
        """Name, partial ARN (name:qualifier) or ARN -> logical id; only $LATEST exists."""
        name = raw
        if arn := _ARN.match(raw):
            name = arn.group("rest")
        if ":" in name:
            name, _, in_name = name.partition(":")
            qualifier = qualifier or in_name
        name = self.function_names.get(name, name)
        if name not in self.engine.functions or qualifier not in (None, LATEST):
            known = ", ".join(sorted(self.engine.functions))
            shown = raw if qualifier is None or ":" in raw else f"{raw}:{qualifier}"
            raise ResourceNotFound(f"Function not found: {shown} (this server has: {known}; "
                                   "only $LATEST exists locally)")
        return name


def error_answer(exc: InvokeAPIError) -> Answer:
    body: dict[str, str] = {"Type": "User" if exc.status < 500 else "Service",
                            "message": exc.message}
    if isinstance(exc, TooManyRequests):
        body["Reason"] = exc.reason
    headers = (("x-amzn-ErrorType", exc.error_type), ("Content-Type", "application/json"))
    return Answer(exc.status, headers, json.dumps(body).encode())


def log_tail(logs: str) -> str:
    """X-Amz-Log-Result: the last 4 KB of the invocation's log, base64."""
    return base64.b64encode(logs.encode("utf-8")[-LOG_TAIL_BYTES:]).decode()


def _invocation_type(value: str | None) -> InvocationType:
    if value is None or value == "":
        return "RequestResponse"
    for known in INVOCATION_TYPES:
        if value == known:
            return known
    raise InvalidParameterValue(f"InvocationType must be one of {', '.join(INVOCATION_TYPES)}, "
                                f"not {value!r}")


def _client_context(value: str | None) -> str | None:
    """The base64 header -> the JSON text the runtime passes to the function (in a header of
    its own: ``runtime_api`` sends it as ASCII JSON)."""
    if value is None:
        return None
    if len(value) > CLIENT_CONTEXT_LIMIT:
        raise InvalidParameterValue(f"Client context must be at most {CLIENT_CONTEXT_LIMIT} "
                                    "bytes of base64")
    try:
        text = base64.b64decode(value, validate=True).decode("utf-8")
        if isinstance(json.loads(text), dict):
            return text
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidRequestContent("Client context must be a valid Base64-encoded JSON object.")


def _check_json(payload: bytes) -> None:
    """Lambda accepts only standard JSON: NaN and Infinity are InvalidRequestContentException,
    as is JSON nested deeper than a runtime can unmarshal."""
    try:
        json.loads(payload, parse_constant=_not_json)
    except RecursionError:
        raise InvalidRequestContent("Could not parse request body into json: it is nested "
                                    "too deeply") from None
    except ValueError as exc:
        raise InvalidRequestContent(f"Could not parse request body into json: {exc}") from None


def _not_json(name: str) -> object:
    raise ValueError(f"{name} is not a JSON value")


class _InvokeHandler(Handler):
    def handle_request(self) -> None:
        app: InvokeAPI = self.server  # type: ignore[assignment]
        try:
            body = self.read_body()
        except BodyTooLarge as exc:
            answer = error_answer(RequestTooLarge(
                f"Request must be smaller than {SYNC_PAYLOAD_LIMIT} bytes for the Invoke "
                f"operation (got {exc})"))
        else:
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer = app.answer(self.command, self.path, headers, body)
        self.send(answer.status, answer.body, answer.headers)
