"""The playground's server: the page, the functions it can call, and each call's figures.

    GET  /                   the page (static/index.html), /static/<file> its CSS and JS
    GET  /api/targets        what the page can call: each route of the API Gateway front and
                             each Function URL, with the function's model (from its manifest)
    POST /api/call?target=N  the body sent over HTTP to that front (the real one, on its own
                             port), the answer back with the invocation's REPORT figures

A call is told apart by a header the playground adds (``X-Lambdalite-Playground: <nonce>``),
which reaches the function in its event like any header; ``CallRecorder`` sits between the
fronts and the engine and keeps each such invocation's result under its nonce.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any, cast
from urllib.parse import parse_qs, urlencode, urlsplit

from lambdalite import envvars
from lambdalite.local.engine_types import FunctionSpec, InvocationType, InvokeResult, LambdaEngine
from lambdalite.local.server import BodyTooLarge, Handler, LocalServer
from lambdalite.local.triggers import GatewayTrigger

HEADER = "X-Lambdalite-Playground"
_NONCE = re.compile(rb'"x-lambdalite-playground": "([0-9a-f]{32})"', re.I)
KEEP = 64                      # calls remembered until the page fetches their figures
LOG_TAIL = 4096                # of a failed call's log, shown in the page
CALL_TIMEOUT_S = 24 * 3600.0   # the front answers first (its own integration timeout)
STATIC = {"playground.css": "text/css; charset=utf-8",
          "playground.js": "text/javascript; charset=utf-8"}
# Everything the page uses is served here: nothing from elsewhere, not even by mistake.
SECURITY = (("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:"),
            ("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store"))


class CallRecorder:
    """A ``LambdaEngine`` in front of the real one: invocations carrying a playground nonce are
    remembered (the last ``KEEP``) so that the page can show their figures."""

    def __init__(self, engine: LambdaEngine) -> None:
        self.engine = engine
        self._results: OrderedDict[str, InvokeResult] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def functions(self) -> dict[str, FunctionSpec]:
        return self.engine.functions

    @property
    def limits_notice(self) -> str:
        return self.engine.limits_notice

    def invoke(self, function_name: str, payload: bytes, *,
               invocation_type: InvocationType = "RequestResponse",
               client_context: str | None = None,
               cognito_identity: str | None = None) -> InvokeResult:
        result = self.engine.invoke(function_name, payload, invocation_type=invocation_type,
                                    client_context=client_context,
                                    cognito_identity=cognito_identity)
        if found := _NONCE.search(payload):
            with self._lock:
                self._results[found.group(1).decode()] = result
                while len(self._results) > KEEP:
                    self._results.popitem(last=False)
        return result

    def take(self, nonce: str) -> InvokeResult | None:
        with self._lock:
            return self._results.pop(nonce, None)

    def close(self) -> None:
        self.engine.close()


@dataclass(frozen=True)
class Target:
    """One thing the page can call: a route of the API Gateway front, or a Function URL."""

    function: str
    kind: str                 # "REST API" | "HTTP API" | "Function URL"
    method: str
    path: str
    port: int                 # the front's port on 127.0.0.1

    def describe(self) -> str:
        return f"{self.function} - {self.method} {self.path} ({self.kind})"


def targets_of(fronts: Sequence[LocalServer]) -> list[Target]:
    from lambdalite.local.function_url import FunctionUrlServer
    from lambdalite.local.http_api import HttpAPI

    found = []
    for front in fronts:
        if isinstance(front, HttpAPI):
            for route in front.routes:
                trigger = GatewayTrigger(route)
                found.append(Target(route.function, "REST API" if route.rest else "HTTP API",
                                    trigger.method, trigger.path, front.port))
        elif isinstance(front, FunctionUrlServer):
            found.append(Target(front.function, "Function URL", "POST", "/", front.port))
    return found


def model_of(spec: FunctionSpec) -> dict[str, Any] | None:
    """What the page needs of the function's model (its manifest.json), if it has one: the
    name, the image input's size and colour mode, the labels; None when it has no manifest."""
    folder = spec.environment.get(envvars.MODEL_DIR) or "model"
    path = spec.code_dir / folder / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    model = manifest.get("model") or {}
    pre = manifest.get("preprocessing")
    image = None
    if isinstance(pre, dict) and pre.get("height") and pre.get("width"):
        image = {"width": pre["width"], "height": pre["height"],
                 "colorMode": pre.get("color_mode", "RGB")}
    inputs = [i for i in manifest.get("inputs") or [] if isinstance(i, dict)]   # manifest v2
    for item in inputs:
        if item.get("kind") == "image" and image is None:
            shape = item.get("shape") or []
            image = {"width": shape[2] if len(shape) > 2 else None,
                     "height": shape[1] if len(shape) > 1 else None, "colorMode": "RGB"}
    labels = model.get("labels")
    return {"name": model.get("name"), "image": image,
            "labels": labels if isinstance(labels, list) else None,
            "inputs": [{"name": i.get("name"), "kind": i.get("kind"), "shape": i.get("shape"),
                        "dtype": i.get("dtype")} for i in inputs]}


class PlaygroundServer(LocalServer):
    """The page and its API on (host, port); ``fronts`` are the servers the calls go through."""

    def __init__(self, engine: LambdaEngine, recorder: CallRecorder,
                 fronts: Sequence[LocalServer], host: str = "127.0.0.1", port: int = 0) -> None:
        self.engine = engine
        self.recorder = recorder
        self.targets = targets_of(fronts)
        super().__init__(_PlaygroundHandler, host, port)

    def listing(self) -> dict[str, Any]:
        return {
            "limits": self.engine.limits_notice,
            "targets": [{"id": i, "label": t.describe(), "function": t.function,
                         "kind": t.kind, "method": t.method, "path": t.path,
                         "model": model_of(self.engine.functions[t.function])}
                        for i, t in enumerate(self.targets)],
        }

    def call(self, target: Target, body: bytes, content_type: str, query: str
             ) -> dict[str, Any]:
        """``body`` through the target's front over HTTP, as any client sends it."""
        nonce = secrets.token_hex(16)
        headers = {"Content-Type": content_type, HEADER: nonce}
        connection = http.client.HTTPConnection("127.0.0.1", target.port, timeout=CALL_TIMEOUT_S)
        try:
            connection.request(target.method, target.path + (f"?{query}" if query else ""),
                               body=body, headers=headers)
            response = connection.getresponse()
            answer, status = response.read(), response.status
            answer_type = response.getheader("Content-Type") or ""
        finally:
            connection.close()
        result = self.recorder.take(nonce)
        shown: dict[str, Any] = {"status": status, "contentType": answer_type,
                                 "call": _figures(result) if result else None}
        try:
            shown["body"] = answer.decode("utf-8")
        except UnicodeDecodeError:
            shown["bodyBase64"] = base64.b64encode(answer).decode()
        return shown


def _figures(result: InvokeResult) -> dict[str, Any]:
    report = result.report
    figures: dict[str, Any] = {
        "requestId": result.request_id, "cold": result.cold,
        "initDurationMs": report.init_duration_ms, "durationMs": report.duration_ms,
        "billedDurationMs": report.billed_duration_ms, "memorySizeMb": report.memory_size_mb,
        "maxMemoryUsedMb": report.max_memory_used_mb, "errorType": result.error_type,
        "report": report.line()}
    if result.function_error:
        figures["logTail"] = result.logs[-LOG_TAIL:]
    return figures


class _PlaygroundHandler(Handler):

    def handle_request(self) -> None:
        app = cast(PlaygroundServer, self.server)
        url = urlsplit(self.path)
        if self.command == "POST" and url.path == "/api/call":
            self._call(app, url.query)
        elif self.command != "POST" and url.path in ("/", "/index.html"):
            self._static("index.html", "text/html; charset=utf-8")
        elif self.command != "POST" and url.path.removeprefix("/static/") in STATIC:
            name = url.path.removeprefix("/static/")
            self._static(name, STATIC[name])
        elif self.command != "POST" and url.path == "/api/targets":
            self._json(200, app.listing())
        else:
            self._json(404, {"error": f"no {self.command} {url.path} in the playground"})

    def _call(self, app: PlaygroundServer, query: str) -> None:
        params = parse_qs(query)
        try:
            target = app.targets[int(params.pop("target", ["-1"])[0])]
        except (ValueError, IndexError):
            self._json(400, {"error": "target must be the index of one of /api/targets"})
            return
        try:
            body = self.read_body()
        except BodyTooLarge:
            self._json(413, {"error": "the file is larger than the playground takes (32 MB)"})
            return
        content_type = self.headers.get("Content-Type") or "application/octet-stream"
        try:
            shown = app.call(target, body, content_type, urlencode(params, doseq=True))
        except OSError as exc:
            self._json(502, {"error": f"the {target.kind} front did not answer: {exc}"})
            return
        self._json(200, shown)

    def _static(self, name: str, content_type: str) -> None:
        data = (files("lambdalite.local.playground") / "static" / name).read_bytes()
        self.send(200, data, (("Content-Type", content_type), *SECURITY))

    def _json(self, status: int, value: Any) -> None:
        self.send(status, json.dumps(value).encode(),
                  (("Content-Type", "application/json"), *SECURITY))


__all__ = ["HEADER", "CallRecorder", "PlaygroundServer", "Target", "model_of", "targets_of"]
