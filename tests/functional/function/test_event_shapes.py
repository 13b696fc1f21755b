"""Every event shape, with real digit images, through the real LiteRT backend."""

from __future__ import annotations

import base64
import json

import pytest


def body_of(response):
    assert response["headers"]["Content-Type"] == "application/json"
    return json.loads(response["body"])


def test_sam_template_contract_exactly(app, served, load_event, context):
    for sample in served.samples:
        out = app(load_event("apigw_rest_v1.json", body=sample.b64), context)
        assert out == {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"predicted_label": sample.label}),
        }


def test_rest_v1_text_body_and_query_top_k(app, served, load_event):
    sample = served.samples[0]
    event = load_event(
        "apigw_rest_v1.json",
        body=sample.b64,
        isBase64Encoded=False,
        queryStringParameters={"top_k": "3"},
    )
    body = body_of(app(event, None))
    assert body["predicted_label"] == sample.label
    assert [r["index"] for r in body["top_k"]][0] == sample.label and len(body["top_k"]) == 3
    assert all(0.0 <= r["probability"] <= 1.0 for r in body["top_k"])


@pytest.mark.parametrize("name", ["http_api_v2.json", "function_url.json"])
def test_v2_raw_image_png_and_jpeg(app, served, load_event, name):
    for sample in served.samples[:4]:
        for raw in (sample.data, sample.jpeg):
            out = app(load_event(name, body=base64.b64encode(raw).decode()), None)
            assert out["statusCode"] == 200
            assert body_of(out) == {"predicted_label": sample.label}


@pytest.mark.parametrize("name", ["http_api_v2.json", "function_url.json"])
def test_v2_json_bodies(app, served, load_event, name):
    samples = served.samples
    single = json.dumps({"image": samples[0].b64})
    out = app(load_event(name, body=single, isBase64Encoded=False), None)
    assert body_of(out) == {"predicted_label": samples[0].label}
    batch = json.dumps({"images": [s.b64 for s in samples], "top_k": 2})
    encoded = base64.b64encode(
        batch.encode()
    ).decode()  # as a Function URL sends application/octet-stream
    body = body_of(app(load_event(name, body=encoded), None))
    assert [p["predicted_label"] for p in body["predictions"]] == [s.label for s in samples]
    assert all(len(p["top_k"]) == 2 for p in body["predictions"])


def test_direct_invocations_return_plain_json(app, served, load_event):
    samples = served.samples
    assert app({"image": samples[1].b64}, None) == {"predicted_label": samples[1].label}
    assert app({"body": samples[2].b64}, None) == {"predicted_label": samples[2].label}
    event = load_event("direct_batch.json")
    event["images"] = [base64.b64encode(s.jpeg).decode() for s in samples]
    out = app(event, None)
    assert [p["predicted_label"] for p in out["predictions"]] == [s.label for s in samples]
    assert all(len(p["top_k"]) == 3 for p in out["predictions"])


def test_batch_equals_one_by_one(app, served):
    samples = served.samples
    one_by_one = [app({"image": s.b64, "top_k": 1}, None) for s in samples]
    batch = app({"images": [s.b64 for s in samples], "top_k": 1}, None)["predictions"]
    for a, b in zip(one_by_one, batch, strict=True):
        assert a["predicted_label"] == b["predicted_label"]
        assert a["top_k"][0]["probability"] == pytest.approx(b["top_k"][0]["probability"], abs=1e-5)


def test_rgb_rgba_and_odd_sizes_are_accepted(app, served):
    import io

    from PIL import Image

    sample = served.samples[3]
    gray = Image.open(io.BytesIO(sample.data)).convert("L")
    variants = [
        gray.convert("RGB"),
        gray.convert("RGBA"),
        gray.resize((112, 112)),
        gray.convert("P"),
    ]
    for fmt, img in zip(["PNG", "WEBP", "BMP", "GIF"], variants, strict=True):
        buf = io.BytesIO()
        img.save(buf, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
        out = app({"image": base64.b64encode(buf.getvalue()).decode()}, None)
        assert out == {"predicted_label": sample.label}, fmt
