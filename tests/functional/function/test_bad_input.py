"""Client mistakes: HTTP events get 4xx JSON errors, direct invocations raise typed errors,
and the function keeps serving afterwards."""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from lambdalite.errors import ClientError
from lambdalite.lambda_facts import SYNC_PAYLOAD_LIMIT


def png_header_bomb(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height pixels, with almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def truncated_png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64), np.uint8)).save(buf, "PNG")
    data = buf.getvalue()
    return data[: len(data) // 2]


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


CASES = [
    # (name, direct event, error type, http status)
    ("not base64", {"image": "@@not-base64@@"}, "InvalidBase64", 400),
    ("not an image", {"image": b64(b"GIF89? definitely not an image")}, "NotAnImage", 415),
    ("truncated", {"image": b64(truncated_png())}, "CorruptImage", 400),
    ("zero bytes", {"image": ""}, "EmptyImage", 400),
    ("image bomb", {"image": b64(png_header_bomb(100_000, 100_000))}, "ImageTooLarge", 413),
    ("wrong shape", {"picture": "abc"}, "InvalidRequest", 400),
    ("images not a list", {"images": {"a": 1}}, "InvalidRequest", 400),
    ("too many images", {"images": ["AAAA"] * 17}, "TooManyImages", 413),
    ("over 6 MB", {"image": "A" * (SYNC_PAYLOAD_LIMIT + 4)}, "PayloadTooLarge", 413),
    ("bad top_k", {"image": "AAAA", "top_k": -3}, "InvalidRequest", 400),
]


@pytest.mark.parametrize(
    ("name", "event", "error_type", "status"), CASES, ids=[c[0] for c in CASES]
)
def test_direct_raises_typed_error_then_keeps_serving(app, served, name, event, error_type, status):
    with pytest.raises(ClientError) as info:
        app(event, None)
    assert type(info.value).__name__ == error_type
    assert info.value.status == status and info.value.message
    sample = served.samples[0]
    assert app({"image": sample.b64}, None) == {"predicted_label": sample.label}


@pytest.mark.parametrize(
    ("name", "event", "error_type", "status"), CASES, ids=[c[0] for c in CASES]
)
@pytest.mark.parametrize("envelope", ["apigw_rest_v1.json", "http_api_v2.json"])
def test_http_gets_status_and_error_body(
    app, served, load_event, envelope, name, event, error_type, status
):
    http_event = load_event(envelope, body=json.dumps(event), isBase64Encoded=False)
    out = app(http_event, None)
    assert out["statusCode"] == status
    assert out["headers"]["Content-Type"] == "application/json"
    err = json.loads(out["body"])["error"]
    assert err["type"] == error_type and err["message"]
    sample = served.samples[0]
    ok = app(load_event(envelope, body=sample.b64), None)
    assert json.loads(ok["body"]) == {"predicted_label": sample.label}


def test_http_raw_bodies(app, load_event):
    cases = {
        "": 400,  # zero bytes
        b64(b"\x00\x01 random bytes"): 415,  # not an image
        b64(truncated_png()): 400,
        b64(png_header_bomb(70_000, 70_000)): 413,
        "A" * (SYNC_PAYLOAD_LIMIT + 1): 413,
    }
    for body, status in cases.items():
        assert app(load_event("http_api_v2.json", body=body), None)["statusCode"] == status


@pytest.mark.parametrize("envelope", ["apigw_rest_v1.json", "http_api_v2.json"])
def test_body_declared_json_that_is_not_json_is_400(app, served, load_event, envelope):
    event = load_event(envelope, body="image=" + served.samples[0].b64, isBase64Encoded=False)
    event["headers"] = {"Content-Type": "application/json"}
    out = app(event, None)
    assert out["statusCode"] == 400
    assert json.loads(out["body"])["error"]["type"] == "InvalidJSON"


def test_huge_header_gets_our_limit_message_not_pillows(app, load_event):
    # 20000 x 20000 is over twice Pillow's own limit, where Pillow would raise its
    # "decompression bomb DOS attack" error from Image.open; our header check answers first.
    event = load_event("http_api_v2.json", body=b64(png_header_bomb(20_000, 20_000)))
    out = app(event, None)
    err = json.loads(out["body"])["error"]
    assert (out["statusCode"], err["type"]) == (413, "ImageTooLarge")
    assert "20000x20000 = 400000000 pixels" in err["message"]
    assert "LAMBDALITE_MAX_PIXELS" in err["message"]
    assert "decompression bomb" not in err["message"].lower()


def test_pixel_cap_above_pillows_limit_is_honoured(make_app, served, monkeypatch):
    # Pillow's limit set below a digit's 28x28 (it raises above twice the limit): with
    # LAMBDALITE_MAX_PIXELS higher, ours is the one that counts and the digit is served.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    app = make_app(max_pixels=10**9)
    sample = served.samples[0]
    assert app({"image": sample.b64}, None) == {"predicted_label": sample.label}
    assert Image.MAX_IMAGE_PIXELS == 100  # restored after the request


def test_image_cap_is_configurable(make_app, served):
    app = make_app(max_images=2)
    with pytest.raises(ClientError, match="limit is 2"):
        app({"images": [served.samples[0].b64] * 3}, None)
