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
a body whose Content-Type is ``application/x-npy`` is the ``.npy`` of a single-input model's
tensor (raw bytes when ``isBase64Encoded``, else base64 text);
otherwise it is the image, either raw bytes
(``isBase64Encoded``: the platform's transport encoding) or base64 text (the AWS SAM
machine-learning template's contract). The image's own base64 is decoded later, in
``decode``, and ``"inputs"`` become arrays in ``tensors`` (which knows the model); this module
only unwraps. Every malformed input raises a ClientError.
"""

from __future__ import annotations

import binascii
import json
import re
from typing import Any

from lambdalite.function.compat import StrEnum
from lambdalite.function.errors import (
    EmptyImage,
    InvalidBase64,
    InvalidInput,
    InvalidJSON,
    InvalidRequest,
    PayloadTooLarge,
    TooManyImages,
)
from lambdalite.function.tensors import NpyBytes
from lambdalite.records import Record

MAX_TOP_K = 1000
SCHEDULED_SOURCES = ("aws.events", "aws.scheduler")
_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/=_\-\s]+")
_JSON_START = (ord("{"), ord("["))
NPY_MEDIA_TYPE = "application/x-npy"


class EventKind(StrEnum):
    API_GATEWAY_V1 = "apigateway-rest"
    HTTP_API_V2 = "apigateway-http"
    FUNCTION_URL = "function-url"
    SCHEDULED = "scheduled"
    DIRECT = "direct"

    @property
    def is_http(self) -> bool:
        return self in (EventKind.API_GATEWAY_V1, EventKind.HTTP_API_V2, EventKind.FUNCTION_URL)


class EncodedImage(Record):
    data: bytes
    is_base64: bool  # True: base64 text still to decode; False: the image's bytes


class Limits(Record):
    max_images: int
    max_payload_bytes: int


class Request(Record):
    kind: EventKind
    images: tuple[EncodedImage, ...] = ()
    batch: bool = False  # the caller sent a list ("images") or tensors: answer with a list
    top_k: int | None = None
    warmup: bool = False
    inputs: Any = None  # "inputs" as sent (JSON value), or NpyBytes; None: none sent
    body: dict[str, Any] | None = None  # the JSON object itself, for hooks


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


def parse(event: Any, limits: Limits, *, open_json: bool = False) -> Request:
    """``open_json``: a JSON object need not carry an image or inputs (a preprocess hook
    reads it)."""
    kind = classify(event)
    if kind is EventKind.SCHEDULED:
        return Request(kind, warmup=True)
    if kind.is_http:
        return _parse_http(event, kind, limits, open_json)
    if not isinstance(event, dict):
        raise InvalidRequest(
            f"a direct invocation needs a JSON object, got {type(event).__name__}; "
            'send {"image": "<base64>"}, {"images": ["<base64>", ...]} or {"inputs": ...}'
        )
    return _parse_object(event, kind, limits, default_top_k=None, open_json=open_json)


# ---- HTTP envelopes -----------------------------------------------------------
def _parse_http(event: dict[str, Any], kind: EventKind, limits: Limits, open_json: bool
                ) -> Request:
    top_k = _query_top_k(event.get("queryStringParameters"))
    body = event.get("body")
    if body is None or body == "":
        raise EmptyImage('the request body is empty; send an image (or JSON with "image")')
    if not isinstance(body, str):
        raise InvalidRequest(f"the event's body must be a string, got {type(body).__name__}")
    if len(body) > limits.max_payload_bytes:
        raise PayloadTooLarge(_too_large(len(body), limits))
    transported = event.get("isBase64Encoded") is True
    media = _media_type(event.get("headers"))
    if media == NPY_MEDIA_TYPE:
        return Request(kind, inputs=NpyBytes(_npy_body(body, transported)), batch=True,
                       top_k=top_k)
    data = _transport_decode(body) if transported else body.encode("utf-8", errors="replace")
    if _is_json_type(media) or _looks_json(data):
        return _parse_object(_load_json(data), kind, limits, default_top_k=top_k,
                             open_json=open_json)
    # The platform base64-encodes any body it treats as binary; if the client itself
    # sent base64 text, that text arrives encoded a second time.
    is_text = not transported or _BASE64_TEXT.fullmatch(data) is not None
    return Request(kind, images=(EncodedImage(data, is_base64=is_text),), top_k=top_k)


def _transport_decode(body: str) -> bytes:
    try:
        return binascii.a2b_base64(body.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise InvalidBase64(
            "isBase64Encoded is true but the body is not base64; check the client or integration"
        ) from None


def _media_type(headers: Any) -> str | None:
    """The Content-Type's media type, lower case (header names are case-insensitive)."""
    if not isinstance(headers, dict):
        return None
    value = next((v for k, v in headers.items() if str(k).lower() == "content-type"), None)
    if not isinstance(value, str):
        return None
    return value.split(";", 1)[0].strip().lower()


def _is_json_type(media: str | None) -> bool:
    """Content-Type application/json or a +json type."""
    return media is not None and (media == "application/json" or media.endswith("+json"))


def _npy_body(body: str, transported: bool) -> bytes:
    if transported:
        return _transport_decode(body)
    try:  # sent as text: the .npy's base64 (a .npy's binary header is not UTF-8 text)
        return binascii.a2b_base64(body.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise InvalidInput(
            f"the {NPY_MEDIA_TYPE} body is neither binary (isBase64Encoded) nor base64 text; "
            "send the .npy file's bytes"
        ) from None


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
INPUTS_KEY = "inputs"


def _parse_object(obj: Any, kind: EventKind, limits: Limits, default_top_k: int | None,
                  open_json: bool = False) -> Request:
    if not isinstance(obj, dict):
        raise InvalidRequest(
            f"expected a JSON object, got {type(obj).__name__}; "
            'send {"image": "<base64>"}, {"images": ["<base64>", ...]} or {"inputs": ...}'
        )
    if obj.get("warmup") is True:
        return Request(kind, warmup=True)
    top_k = parse_top_k(obj["top_k"]) if "top_k" in obj else default_top_k
    present = [k for k in _IMAGE_KEYS if k in obj]
    tensors = obj.get(INPUTS_KEY)
    if INPUTS_KEY in obj and tensors is None:
        raise InvalidInput('"inputs" is null; send a nested list of numbers, '
                           '{"npy": "<base64>"} or {"<input name>": ..., ...}')
    if len(present) > 1 or (not present and tensors is None and not open_json):
        found = ", ".join(present) if present else "none of them"
        raise InvalidRequest('send one of "image", "images" or "body", and/or "inputs" '
                             f"(found {found})")
    if not present:
        return Request(kind, batch=tensors is not None, top_k=top_k, inputs=tensors, body=obj)
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
    return Request(kind, images=images, batch=batch, top_k=top_k, inputs=tensors, body=obj)


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
