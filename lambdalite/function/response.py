"""Step 5, shape the response: an HTTP envelope for HTTP events, plain JSON otherwise.

Body of a prediction (the AWS SAM template's contract for one image, no options):

    {"predicted_label": 3}
    {"predicted_label": 3, "label": "cat"}                     manifest has real labels
    {"predicted_label": 3, "top_k": [{"index": 3, "probability": 0.98}, ...]}
    {"predictions": [<one of the above per image, in order>]}  request sent "images"
    {"warmup": true}                                           warm-up, nothing ran
    {"error": {"type": "NotAnImage", "message": "..."}}        HTTP 4xx
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from lambdalite.errors import LambdaliteError
from lambdalite.function.events import EventKind
from lambdalite.function.predictions import Prediction, Ranked

JSON_HEADERS = {"Content-Type": "application/json"}


def prediction_body(p: Prediction) -> dict[str, Any]:
    body: dict[str, Any] = {"predicted_label": p.index}
    if p.label is not None:
        body["label"] = p.label
    if p.top_k is not None:
        body["top_k"] = [_ranked(r) for r in p.top_k]
    return body


def _ranked(r: Ranked) -> dict[str, Any]:
    out: dict[str, Any] = {"index": r.index}
    if r.label is not None:
        out["label"] = r.label
    out["probability"] = r.probability
    return out


def result_body(predictions: Sequence[Prediction], batch: bool) -> dict[str, Any]:
    if batch:
        return {"predictions": [prediction_body(p) for p in predictions]}
    return prediction_body(predictions[0])


def http(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": dict(JSON_HEADERS), "body": json.dumps(body)}


def ok(kind: EventKind, predictions: Sequence[Prediction], batch: bool) -> dict[str, Any]:
    body = result_body(predictions, batch)
    return http(200, body) if kind.is_http else body


def warmup(kind: EventKind) -> dict[str, Any]:
    body = {"warmup": True}
    return http(200, body) if kind.is_http else body


def error(exc: LambdaliteError) -> dict[str, Any]:
    return http(exc.status, {"error": exc.to_dict()})
