"""Step 5, shape the response: an HTTP envelope for HTTP events, plain JSON otherwise.

A model whose one output is ``classes`` answers as the AWS SAM template does:

    {"predicted_label": 3}
    {"predicted_label": 3, "label": "cat"}                     manifest has real labels
    {"predicted_label": 3, "top_k": [{"index": 3, "probability": 0.98}, ...]}
    {"predictions": [<one of the above per image, in order>]}  request sent "images" or tensors

Any other model answers every output by name, each with its batch dimension:

    {"outputs": {"<name>": <value>, ...}}
        tensor   the values, a nested list (NaN/Infinity, which JSON cannot hold, as null)
        bits     0/1 per value: 1 where the value is above the output's threshold
        scores   the values, per row; with top_k, per row [{"index", "label"?, "score"}, ...]
        classes  per row {"index", "label"?, "score"}: the best class (score: its
                 probability); with top_k, per row the k best as a list

    {"warmup": true}                                           warm-up, nothing ran
    {"error": {"type": "NotAnImage", "message": "..."}}        HTTP 4xx (5xx: a hook failed)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lambdalite.errors import LambdaliteError
from lambdalite.function.events import EventKind
from lambdalite.function.predictions import (
    Prediction,
    Ranked,
    effective_labels,
    predict_labels,
    probabilities,
    rank_rows,
)
from lambdalite.manifest import OutputSpec

JSON_HEADERS = {"Content-Type": "application/json"}


def prediction_body(p: Prediction) -> dict[str, Any]:
    body: dict[str, Any] = {"predicted_label": p.index}
    if p.label is not None:
        body["label"] = p.label
    if p.top_k is not None:
        body["top_k"] = [_ranked(r) for r in p.top_k]
    return body


def _ranked(r: Ranked, value: str = "probability") -> dict[str, Any]:
    out: dict[str, Any] = {"index": r.index}
    if r.label is not None:
        out["label"] = r.label
    out[value] = r.probability
    return out


def result_body(predictions: Sequence[Prediction], batch: bool) -> dict[str, Any]:
    if batch:
        return {"predictions": [prediction_body(p) for p in predictions]}
    return prediction_body(predictions[0])


def answer(
    outputs: Mapping[str, np.ndarray],
    specs: Sequence[OutputSpec],
    top_k: int | None,
    batch: bool,
) -> dict[str, Any]:
    """The body for the model's outputs, as the manifest's output kinds say."""
    if len(specs) == 1 and specs[0].kind == "classes":
        spec = specs[0]
        predictions = predict_labels(outputs[spec.name], activation=spec.activation,
                                     labels=effective_labels(spec.labels), top_k=top_k)
        return result_body(predictions, batch)
    return {"outputs": {s.name: output_value(outputs[s.name], s, top_k) for s in specs}}


def output_value(values: np.ndarray, spec: OutputSpec, top_k: int | None) -> Any:
    if spec.kind == "bits":
        return (values > spec.threshold).astype(np.uint8).tolist()
    if spec.kind == "tensor":
        return json_values(values)
    rows = values.reshape(values.shape[0] if values.ndim > 1 else 1, -1)
    labels = effective_labels(spec.labels)
    if spec.kind == "scores":
        if not top_k:
            return json_values(values)
        return [[_scored(r) for r in row] for row in rank_rows(rows.astype(np.float64),
                                                                labels, top_k)]
    ranked = rank_rows(probabilities(rows, spec.activation), labels, top_k or 1)
    if not top_k:
        return [_scored(row[0]) for row in ranked]
    return [[_scored(r) for r in row] for row in ranked]


def _scored(r: Ranked) -> dict[str, Any]:
    return _ranked(r, "score")


def json_values(values: np.ndarray) -> Any:
    """A nested list; non-finite floats (which JSON cannot hold) become null."""
    if values.dtype.kind == "f":
        finite = np.isfinite(values)
        if not finite.all():
            held = values.astype(object)
            held[~finite] = None
            return held.tolist()
    return values.tolist()


def http(status: int, body: Any) -> dict[str, Any]:
    return {"statusCode": status, "headers": dict(JSON_HEADERS), "body": json.dumps(body)}


def reply(kind: EventKind, body: Any) -> Any:
    return http(200, body) if kind.is_http else body


def ok(kind: EventKind, predictions: Sequence[Prediction], batch: bool) -> Any:
    return reply(kind, result_body(predictions, batch))


def warmup(kind: EventKind) -> Any:
    return reply(kind, {"warmup": True})


def error(exc: LambdaliteError) -> dict[str, Any]:
    return http(exc.status, {"error": exc.to_dict()})


def failure(exc: BaseException) -> dict[str, Any]:
    """A hook's own exception, for an HTTP event: a 500 named by its class."""
    return http(500, {"error": {"type": type(exc).__name__, "message": str(exc)}})
