import json

import numpy as np
import pytest

from lambdalite.function import response
from lambdalite.function.errors import NotAnImage
from lambdalite.function.events import EventKind
from lambdalite.function.predictions import (
    Prediction,
    effective_labels,
    predict_labels,
    probabilities,
)


def test_sam_contract_body_exactly():
    out = response.ok(EventKind.API_GATEWAY_V1, [Prediction(3)], batch=False)
    assert out == {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": '{"predicted_label": 3}',
    }


def test_direct_is_plain_json_and_batches_are_lists():
    preds = predict_labels(
        np.eye(3, dtype=np.float32)[[2, 0]], activation="softmax", labels=None, top_k=None
    )
    assert response.ok(EventKind.DIRECT, preds, batch=True) == {
        "predictions": [{"predicted_label": 2}, {"predicted_label": 0}]
    }
    assert response.ok(EventKind.DIRECT, preds[:1], batch=False) == {"predicted_label": 2}


def test_top_k_softmax_on_logits_with_labels():
    logits = np.array([[1.0, 3.0, 2.0]], np.float32)
    (p,) = predict_labels(logits, activation="none", labels=["a", "b", "c"], top_k=2)
    body = response.prediction_body(p)
    assert body["predicted_label"] == 1 and body["label"] == "b"
    assert [r["label"] for r in body["top_k"]] == ["b", "c"]
    probs = [r["probability"] for r in body["top_k"]]
    assert probs[0] > probs[1] and sum(probs) < 1.0
    assert probs[0] == pytest.approx(np.exp(3) / np.exp([1, 2, 3]).sum(), abs=1e-6)
    json.dumps(body)  # plain Python types only


def test_probabilities_keep_model_activation():
    x = np.array([[0.2, 0.8]])
    assert np.allclose(probabilities(x, "softmax"), x)
    assert np.allclose(probabilities(x, "none").sum(axis=1), 1.0)


def test_top_k_larger_than_classes_is_all_classes():
    (p,) = predict_labels(np.array([[0.1, 0.9]]), activation="softmax", labels=None, top_k=5)
    assert [r.index for r in p.top_k] == [1, 0]


def test_identity_labels_are_dropped():
    assert effective_labels([str(i) for i in range(10)]) is None
    assert effective_labels(None) is None
    assert effective_labels(["cat", "dog"]) == ["cat", "dog"]


def test_http_error_and_warmup():
    err = response.error(NotAnImage("nope"))
    assert err["statusCode"] == 415
    assert json.loads(err["body"]) == {"error": {"type": "NotAnImage", "message": "nope"}}
    assert response.warmup(EventKind.DIRECT) == {"warmup": True}
    assert json.loads(response.warmup(EventKind.FUNCTION_URL)["body"]) == {"warmup": True}


def _out(name, kind, shape, **kw):
    from lambdalite.manifest import OutputSpec

    return OutputSpec(name, "float32", shape, kind, **kw)


def test_one_classes_output_answers_as_the_sam_template():
    spec = _out("probs", "classes", [-1, 3], activation="softmax")
    probs = np.array([[0.1, 0.7, 0.2]], np.float32)
    assert response.answer({"probs": probs}, [spec], None, batch=False) == {"predicted_label": 1}
    assert response.answer({"probs": probs}, [spec], None, batch=True) == {
        "predictions": [{"predicted_label": 1}]}


def test_other_outputs_answer_by_name_and_kind():
    specs = [
        _out("decoded", "bits", [-1, 4], threshold=0.5),
        _out("embedding", "tensor", [-1, 2]),
        _out("tags", "scores", [-1, 3], activation="sigmoid", labels=["a", "b", "c"]),
        _out("kind", "classes", [-1, 2], activation="none", labels=["cat", "dog"]),
    ]
    outputs = {
        "decoded": np.array([[0.9, 0.5, 0.51, 0.0]], np.float32),
        "embedding": np.array([[1.5, float("nan")]], np.float32),
        "tags": np.array([[0.2, 0.9, 0.4]], np.float32),
        "kind": np.array([[0.0, 2.0]], np.float32),
    }
    body = response.answer(outputs, specs, None, batch=True)["outputs"]
    assert body["decoded"] == [[1, 0, 1, 0]]  # 1 strictly above the threshold
    assert body["embedding"] == [[1.5, None]]  # JSON has no NaN
    assert body["tags"][0] == pytest.approx([0.2, 0.9, 0.4])
    assert body["kind"] == [{"index": 1, "label": "dog",
                             "score": pytest.approx(float(np.exp(2) / (1 + np.exp(2))), abs=1e-6)}]
    ranked = response.answer(outputs, specs, 2, batch=True)["outputs"]
    assert [[r["label"] for r in row] for row in ranked["tags"]] == [["b", "c"]]
    assert ranked["tags"][0][0]["score"] == pytest.approx(0.9)
    assert [[r["index"] for r in row] for row in ranked["kind"]] == [[1, 0]]
    assert ranked["decoded"] == body["decoded"]  # top_k only ranks classes/scores
    json.dumps(body, allow_nan=False)
