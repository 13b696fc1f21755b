"""Step 1, parse: a Lambda event (any envelope) -> a typed ``Request``.

Envelopes (how the payload is wrapped) are told apart by shape, as Lambda itself
does not say which service called:

    API Gateway REST (v1) proxy  "httpMethod" at top level
    HTTP API (v2)                requestContext.http, version "2.0"
    Function URL                 v2 shape, requestContext.domainName "<id>.lambda-url.<region>.on.aws"
    Scheduled Event              source "aws.events"/"aws.scheduler", detail-type "Scheduled Event"
    direct invocation            anything else (must be a JSON object)

An HTTP body is JSON when its Content-Type header says so (``application/json`` or
``...+json``; then a body that does not parse is InvalidJSON, 400), or when its first
non-blank character is ``{`` or ``[`` (no image format and no base64 text starts so);
otherwise it is the image, either raw bytes
(``isBase64Encoded``: the platform's transport encoding) or base64 text (the AWS SAM
machine-learning template's contract). The image's own base64 is decoded later, in
``decode``; this module only unwraps. Every malformed input raises a ClientError.
"""

from __future__ import annotations

import binascii
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lambdalite.function.errors import (
    EmptyImage,
    InvalidBase64,
    InvalidJSON,
    InvalidRequest,
    PayloadTooLarge,
    TooManyImages,
)

MAX_TOP_K = 1000
SCHEDULED_SOURCES = ("aws.events", "aws.scheduler")
_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/=_\-\s]+")
_JSON_START = (ord("{"), ord("["))


class EventKind(StrEnum):
    API_GATEWAY_V1 = "apigateway-rest"
    HTTP_API_V2 = "apigateway-http"
    FUNCTION_URL = "function-url"
    SCHEDULED = "scheduled"
    DIRECT = "direct"

    @property
    def is_http(self) -> bool:
        return self in (EventKind.API_GATEWAY_V1, EventKind.HTTP_API_V2, EventKind.FUNCTION_URL)


@dataclass(frozen=True)
class EncodedImage:
    data: bytes
    is_base64: bool  # True: base64 text still to decode; False: the image's bytes


@dataclass(frozen=True)
class Limits:
    max_images: int
    max_payload_bytes: int


@dataclass(frozen=True)
class Request:
    kind: EventKind
    images: tuple[EncodedImage, ...] = ()
    batch: bool = False  # the caller sent a list ("images"): answer with a list
    top_k: int | None = None
    warmup: bool = False


def classify(event: Any) -> EventKind:
    """Which envelope this is. Never raises: it also decides how errors are returned."""
    if not isinstance(event, dict):
        return EventKind.DIRECT
    ctx = event.get("requestContext")
    if isinstance(ctx, dict) and isinstance(ctx.get("http"), dict):
        domain = ctx.get("domainName")
        if isinstance(domain, str) and ".lambda-url." in domain:
            return EventKind.FUNCTION_URL
        return EventKind.HTTP_API_V2
    if "httpMethod" in event and "body" in event:
        return EventKind.API_GATEWAY_V1
    if event.get("source") in SCHEDULED_SOURCES and event.get("detail-type") == "Scheduled Event":
        return EventKind.SCHEDULED
    return EventKind.DIRECT


def parse(event: Any, limits: Limits) -> Request:
    kind = classify(event)
    if kind is EventKind.SCHEDULED:
        return Request(kind, warmup=True)
    if kind.is_http:
        return _parse_http(event, kind, limits)
    if not isinstance(event, dict):
        raise InvalidRequest(
            f"a direct invocation needs a JSON object, got {type(event).__name__}; "
            'send {"image": "<base64>"} or {"images": ["<base64>", ...]}'
        )
    return _parse_object(event, kind, limits, default_top_k=None)


# ---- HTTP envelopes -----------------------------------------------------------
def _parse_http(event: dict[str, Any], kind: EventKind, limits: Limits) -> Request:
    top_k = _query_top_k(event.get("queryStringParameters"))
    body = event.get("body")
    if body is None or body == "":
        raise EmptyImage('the request body is empty; send an image (or JSON with "image")')
    if not isinstance(body, str):
        raise InvalidRequest(f"the event's body must be a string, got {type(body).__name__}")
    if len(body) > limits.max_payload_bytes:
        raise PayloadTooLarge(_too_large(len(body), limits))
    transported = event.get("isBase64Encoded") is True
    data = _transport_decode(body) if transported else body.encode("utf-8", errors="replace")
    if _declares_json(event.get("headers")) or _looks_json(data):
        return _parse_object(_load_json(data), kind, limits, default_top_k=top_k)
    # The platform base64-encodes any body it treats as binary; if the client itself
    # sent base64 text, that text arrives encoded a second time.
    is_text = not transported or _BASE64_TEXT.fullmatch(data) is not None
    return Request(kind, images=(EncodedImage(data, is_base64=is_text),), top_k=top_k)


def _transport_decode(body: str) -> bytes:
    try:
        return binascii.a2b_base64(body.encode("ascii"), strict_mode=False)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise InvalidBase64(
            "isBase64Encoded is true but the body is not base64; check the client or integration"
        ) from None


def _declares_json(headers: Any) -> bool:
    """Content-Type application/json or a +json type (header names are case-insensitive)."""
    if not isinstance(headers, dict):
        return False
    value = next((v for k, v in headers.items() if str(k).lower() == "content-type"), None)
    if not isinstance(value, str):
        return False
    media = value.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _looks_json(data: bytes) -> bool:
    stripped = data.lstrip()
    return bool(stripped) and stripped[0] in _JSON_START


def _load_json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InvalidJSON(f"the body is not valid JSON ({exc})") from None


def _query_top_k(query: Any) -> int | None:
    if not isinstance(query, dict) or "top_k" not in query:
        return None
    return parse_top_k(query["top_k"])


# ---- JSON objects (HTTP JSON bodies and direct invocations) -------------------
_IMAGE_KEYS = ("image", "images", "body")


def _parse_object(obj: Any, kind: EventKind, limits: Limits, default_top_k: int | None) -> Request:
    if not isinstance(obj, dict):
        raise InvalidRequest(
            f"expected a JSON object, got {type(obj).__name__}; "
            'send {"image": "<base64>"} or {"images": ["<base64>", ...]}'
        )
    if obj.get("warmup") is True:
        return Request(kind, warmup=True)
    top_k = parse_top_k(obj["top_k"]) if "top_k" in obj else default_top_k
    present = [k for k in _IMAGE_KEYS if k in obj]
    if len(present) != 1:
        found = ", ".join(present) if present else "none of them"
        raise InvalidRequest(f'send exactly one of "image", "images" or "body" (found {found})')
    key = present[0]
    if key == "images":
        items = obj["images"]
        if not isinstance(items, list) or not items:
            raise InvalidRequest('"images" must be a non-empty list of base64 strings')
        if len(items) > limits.max_images:
            raise TooManyImages(
                f"{len(items)} images in one request; the limit is {limits.max_images} "
                "(LAMBDALITE_MAX_IMAGES); split the batch"
            )
        texts = [_image_text(item, f'"images"[{i}]') for i, item in enumerate(items)]
        batch = True
    else:
        texts = [_image_text(obj[key], f'"{key}"')]
        batch = False
    total = sum(len(t) for t in texts)
    if total > limits.max_payload_bytes:
        raise PayloadTooLarge(_too_large(total, limits))
    images = tuple(EncodedImage(t.encode("utf-8", errors="replace"), True) for t in texts)
    return Request(kind, images=images, batch=batch, top_k=top_k)


def _image_text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(f"{where} must be a base64 string, got {type(value).__name__}")
    if not value.strip():
        raise EmptyImage(f"{where} is empty; send a base64-encoded image")
    return value


def parse_top_k(value: Any) -> int:
    # bool is an int subclass: {"top_k": true} is a mistake, not 1.
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOP_K:
        raise InvalidRequest(f"top_k must be an integer from 1 to {MAX_TOP_K}, got {value!r}")
    return value


def _too_large(size: int, limits: Limits) -> str:
    return (
        f"the request is {size} bytes; Lambda's synchronous payload limit is "
        f"{limits.max_payload_bytes} bytes; send smaller or fewer images"
    )
