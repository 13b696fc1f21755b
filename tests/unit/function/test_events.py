import base64
import json

import pytest

from lambdalite.function.errors import (
    EmptyImage,
    InvalidBase64,
    InvalidInput,
    InvalidJSON,
    InvalidRequest,
    PayloadTooLarge,
    TooManyImages,
)
from lambdalite.function.events import EncodedImage, EventKind, Limits, classify, parse, parse_top_k
from lambdalite.function.tensors import NpyBytes

LIMITS = Limits(max_images=4, max_payload_bytes=1000)
PNG = b"\x89PNG\r\n\x1a\n fake"
B64 = base64.b64encode(PNG).decode()


def v1(body, b64=True, query=None):
    return {
        "httpMethod": "POST",
        "body": body,
        "isBase64Encoded": b64,
        "queryStringParameters": query,
    }


def v2(body, b64=True, domain="x.execute-api.us-east-1.amazonaws.com", query=None):
    event = {
        "version": "2.0",
        "requestContext": {"http": {"method": "POST"}, "domainName": domain},
        "body": body,
        "isBase64Encoded": b64,
    }
    if query:
        event["queryStringParameters"] = query
    return event


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        (v1(B64), EventKind.API_GATEWAY_V1),
        (v2(B64), EventKind.HTTP_API_V2),
        (v2(B64, domain="abc.lambda-url.eu-west-1.on.aws"), EventKind.FUNCTION_URL),
        ({"source": "aws.events", "detail-type": "Scheduled Event"}, EventKind.SCHEDULED),
        ({"source": "aws.scheduler", "detail-type": "Scheduled Event"}, EventKind.SCHEDULED),
        ({"image": B64}, EventKind.DIRECT),
        ([1, 2], EventKind.DIRECT),
        (None, EventKind.DIRECT),
        ({"requestContext": "nope", "body": 1}, EventKind.DIRECT),
    ],
)
def test_classify(event, kind):
    assert classify(event) is kind


def test_sam_template_contract_base64_image_body():
    req = parse(v1(B64), LIMITS)
    assert req.images == (EncodedImage(PNG, is_base64=False),)
    assert not req.batch and not req.warmup and req.top_k is None


def test_v1_text_body_is_base64_of_the_image():
    req = parse(v1(B64, b64=False), LIMITS)
    assert req.images == (EncodedImage(B64.encode(), is_base64=True),)


def test_base64_text_sent_as_binary_is_decoded_twice():
    twice = base64.b64encode(B64.encode()).decode()
    assert parse(v2(twice), LIMITS).images == (EncodedImage(B64.encode(), is_base64=True),)


@pytest.mark.parametrize("b64", [True, False])
def test_json_bodies(b64):
    body = json.dumps({"images": [B64, B64], "top_k": 2})
    if b64:
        body = base64.b64encode(body.encode()).decode()
    req = parse(v2(body, b64=b64), LIMITS)
    assert req.batch and len(req.images) == 2 and req.top_k == 2
    assert all(i.is_base64 for i in req.images)


def test_top_k_from_query_string_and_json_wins():
    assert parse(v1(B64, query={"top_k": "3"}), LIMITS).top_k == 3
    body = json.dumps({"image": B64, "top_k": 1})
    assert parse(v1(body, b64=False, query={"top_k": "3"}), LIMITS).top_k == 1


def test_direct_shapes():
    assert parse({"image": B64}, LIMITS).images[0].data == B64.encode()
    assert parse({"body": B64}, LIMITS).images[0].data == B64.encode()
    req = parse({"images": [B64]}, LIMITS)
    assert req.batch and len(req.images) == 1


@pytest.mark.parametrize(
    "event",
    [
        {"warmup": True},
        {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}},
        v2(json.dumps({"warmup": True}), b64=False),
    ],
)
def test_warmup(event):
    req = parse(event, LIMITS)
    assert req.warmup and req.images == ()


@pytest.mark.parametrize(
    ("event", "error"),
    [
        (v1(None), EmptyImage),
        (v1(""), EmptyImage),
        (v1(12), InvalidRequest),
        (v1("x" * 1001), PayloadTooLarge),
        (v1("é"), InvalidBase64),
        (v1("{not json", b64=False), InvalidJSON),
        (v1("[1, 2]", b64=False), InvalidRequest),
        ("a string", InvalidRequest),
        (None, InvalidRequest),
        ({}, InvalidRequest),
        ({"image": B64, "images": [B64]}, InvalidRequest),
        ({"image": 5}, InvalidRequest),
        ({"image": "  "}, EmptyImage),
        ({"images": []}, InvalidRequest),
        ({"images": "abc"}, InvalidRequest),
        ({"images": [B64] * 5}, TooManyImages),
        ({"images": ["a" * 600, "a" * 600]}, PayloadTooLarge),
        ({"image": B64, "top_k": 0}, InvalidRequest),
        ({"image": B64, "top_k": True}, InvalidRequest),
        ({"image": B64, "top_k": "²"}, InvalidRequest),
        ({"warmup": "yes"}, InvalidRequest),
    ],
)
def test_client_mistakes(event, error):
    with pytest.raises(error) as info:
        parse(event, LIMITS)
    assert info.type is error


def test_parse_top_k():
    assert parse_top_k(" 5 ") == 5
    assert parse_top_k(1000) == 1000
    for bad in (1001, -1, 2.5, None, "5a"):
        with pytest.raises(InvalidRequest):
            parse_top_k(bad)


@pytest.mark.parametrize(
    "content_type", ["application/json", "Application/JSON; charset=utf-8", "application/x+json"]
)
@pytest.mark.parametrize("make", [v1, v2])
def test_declared_json_that_does_not_parse_is_invalid_json(make, content_type):
    # Not valid JSON and not starting with "{": without the header it would be taken
    # for an image (415 NotAnImage); the header says JSON, so the answer is 400 InvalidJSON.
    for body, b64 in (("image=abc", False), (base64.b64encode(b"image=abc").decode(), True)):
        event = make(body, b64=b64)
        event["headers"] = {"Content-Type" if make is v1 else "content-type": content_type}
        with pytest.raises(InvalidJSON, match="not valid JSON") as info:
            parse(event, LIMITS)
        assert info.value.status == 400


def test_declared_json_that_parses_is_used():
    event = v2(json.dumps({"image": B64}), b64=False)
    event["headers"] = {"content-type": "application/json"}
    assert parse(event, LIMITS).images == (EncodedImage(B64.encode(), is_base64=True),)
    image = v2(B64)
    image["headers"] = {"content-type": "image/png"}  # other types: shape decides, as before
    assert parse(image, LIMITS).images == (EncodedImage(PNG, is_base64=False),)


def test_inputs_are_kept_as_sent_for_the_tensor_step():
    req = parse({"inputs": [[1, 2]], "top_k": 2}, LIMITS)
    assert req.inputs == [[1, 2]] and req.images == () and req.batch and req.top_k == 2
    assert req.body == {"inputs": [[1, 2]], "top_k": 2}
    both = parse({"image": B64, "inputs": {"meta": [[0.5]]}}, LIMITS)
    assert both.images[0].data == B64.encode() and both.inputs == {"meta": [[0.5]]}
    assert not both.batch  # one image: a single answer, as before
    with pytest.raises(InvalidInput, match='"inputs" is null'):
        parse({"inputs": None}, LIMITS)


def test_an_npy_body_is_the_single_inputs_tensor():
    raw = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4'}"
    for event in (v2(base64.b64encode(raw).decode()), v1(base64.b64encode(raw).decode(),
                                                          b64=False)):
        event["headers"] = {"Content-Type": "application/x-npy"}
        req = parse(event, LIMITS)
        assert req.inputs == NpyBytes(raw) and req.batch and req.images == ()
    bad = v1("not base64 é", b64=False)
    bad["headers"] = {"content-type": "application/x-npy"}
    with pytest.raises(InvalidInput, match="application/x-npy body is neither binary"):
        parse(bad, LIMITS)


def test_a_preprocess_hook_may_take_any_json_object():
    with pytest.raises(InvalidRequest, match='send one of "image", "images" or "body", and/or '
                                             '"inputs"'):
        parse({"text": "hello"}, LIMITS)
    req = parse({"text": "hello"}, LIMITS, open_json=True)
    assert req.body == {"text": "hello"} and req.images == () and req.inputs is None
