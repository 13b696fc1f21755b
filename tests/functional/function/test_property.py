"""Random bytes and random JSON never crash the function, never get a 5xx, and a good
request right after still works."""

from __future__ import annotations

import base64
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdalite.errors import ClientError

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
# Objects that look like requests, so the deeper steps get exercised too.
request_like = st.fixed_dictionaries(
    {},
    optional={
        "image": st.text(max_size=60)
        | st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode()),
        "images": st.lists(
            st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode()), max_size=20
        ),
        "body": json_values,
        "inputs": json_values,
        "top_k": json_values,
        "warmup": json_values,
        "httpMethod": st.just("POST"),
        "isBase64Encoded": st.booleans(),
        "requestContext": json_values,
        "queryStringParameters": json_values,
    },
)


def check(app, served, event):
    try:
        out = app(event, None)
    except ClientError as exc:
        assert 400 <= exc.status < 500
    else:
        if isinstance(out, dict) and "statusCode" in out:
            assert out["statusCode"] < 500, out
            json.loads(out["body"])
    sample = served.samples[0]
    assert app({"image": sample.b64}, None) == {"predicted_label": sample.label}


@SETTINGS
@given(
    raw=st.binary(max_size=2048),
    encoded=st.booleans(),
    envelope=st.sampled_from(["v1", "v2", "direct"]),
)
def test_random_bytes(app, served, load_event, raw, encoded, envelope):
    text = base64.b64encode(raw).decode()
    if envelope == "v1":
        event = load_event(
            "apigw_rest_v1.json",
            body=text if encoded else raw.decode("latin-1"),
            isBase64Encoded=encoded,
        )
    elif envelope == "v2":
        event = load_event("http_api_v2.json", body=text)
    else:
        event = {"image": text}
    check(app, served, event)


@SETTINGS
@given(value=json_values | request_like, as_http=st.booleans())
def test_random_json(app, served, load_event, value, as_http):
    event = (
        load_event("function_url.json", body=json.dumps(value), isBase64Encoded=False)
        if as_http
        else value
    )
    check(app, served, event)
