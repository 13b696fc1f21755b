"""What bench sends (the model's event, a generated one, or --event FILE) and how it scores
an evaluation set's answers: no builds, no servers."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest

from lambdalite.benchmark.accuracy import (
    EvaluationRequests,
    accuracy,
    evaluation_requests,
    holds,
)
from lambdalite.benchmark.config import BenchOptions, config_for
from lambdalite.benchmark.models import FREE_DIM, make_event, resolve_model, tensor_event
from lambdalite.errors import OptionError
from lambdalite.examples import stegastamp_example
from lambdalite.manifest import InputSpec, Manifest, OutputSpec, Preprocessing

INPUTS = [InputSpec("signal", "float32", [-1, -1, 2]), InputSpec("ids", "int32", [-1, 3]),
          InputSpec("mask", "bool", [-1, 4]),
          InputSpec("pixels", "float32", [-1, 5, 5, 1], "image",
                    Preprocessing(color_mode="L", height=5, width=5, scale=0.5, offset=-1.0))]


def decoded(payload: bytes) -> dict[str, np.ndarray]:
    body = json.loads(payload)["inputs"]
    return {k: np.load(io.BytesIO(base64.b64decode(v["npy"])), allow_pickle=False)
            for k, v in body.items()}


def test_a_tensor_event_follows_the_manifest_seeded() -> None:
    event = tensor_event(INPUTS)
    arrays = decoded(event.payload)
    assert arrays["signal"].shape == (1, FREE_DIM, 2) and arrays["signal"].dtype == np.float32
    assert ((arrays["signal"] >= 0) & (arrays["signal"] < 1)).all()
    assert arrays["ids"].dtype == np.int32 and set(arrays["ids"].ravel()) <= set(range(10))
    assert arrays["mask"].dtype == np.bool_ and arrays["mask"].shape == (1, 4)
    pixels = arrays["pixels"]           # noise pixels, preprocessed: p * 0.5 - 1
    assert pixels.shape == (1, 5, 5, 1) and np.allclose((pixels + 1) / 0.5 % 1, 0)
    assert tensor_event(INPUTS).payload == event.payload            # same bytes every run
    assert event.label.startswith("direct invoke, seeded tensors (signal float32 [1, 16, 2], "
                                  "ids int32 [1, 3], mask bool [1, 4], pixels float32")


def test_an_event_file_replaces_the_models_event_and_must_be_json(tmp_path: Path) -> None:
    model = resolve_model("stegastamp")
    manifest = Manifest.load(model)
    assert make_event(model, manifest).label.startswith("the stegastamp example's")
    mine = tmp_path / "event.json"
    mine.write_text('{"image": "abc"}')
    assert make_event(model, manifest, mine).payload == b'{"image": "abc"}'
    (tmp_path / "bad.json").write_text("{image")
    with pytest.raises(OptionError, match=r"event .*bad.json is not JSON"):
        make_event(model, manifest, tmp_path / "bad.json")
    with pytest.raises(OptionError, match="cannot read it"):
        make_event(model, manifest, tmp_path / "missing.json")
    assert config_for(BenchOptions(event=mine)).settings()["event"] == str(mine)


def test_the_stegastamp_evaluation_set_is_scored_by_the_hooks_answers() -> None:
    model = stegastamp_example() / "model"
    manifest = Manifest.load(model)
    evaluation = evaluation_requests(model, manifest)
    assert evaluation is not None and evaluation.by_answers and len(evaluation.payloads) == 8
    assert set(json.loads(evaluation.payloads[0])) == {"image"}          # a PNG, as sent
    right = [json.dumps({**c, "bitflips": c.get("bitflips", 0)}).encode()
             for c in evaluation.checks]
    assert accuracy(manifest, evaluation, right) == 1.0
    assert accuracy(manifest, evaluation, [None, *right[1:]]) == 7 / 8   # a failed call
    assert evaluation.checks[-1] == {"secret": None}


def test_answers_hold_the_expected_keys() -> None:
    assert holds({"secret": "a", "bitflips": 2}, {"secret": "a"})
    assert not holds({"secret": "b", "bitflips": 0}, {"secret": "a"})
    assert not holds([1], {"secret": "a"}) and holds([1, 2], [1, 2])
    assert holds({"a": {"b": 1, "c": 2}}, {"a": {"b": 1}})


def test_outputs_are_compared_by_kind() -> None:
    manifest = Manifest.load(stegastamp_example() / "model")._replace(hooks=None, outputs=[
        OutputSpec("flags", "float32", [-1, 3], "bits"),
        OutputSpec("value", "float32", [-1, 2], "tensor"),
        OutputSpec("kind", "float32", [-1, 3], "classes")])
    checks = ({"flags": np.array([0.9, 0.1, 0.7]), "value": np.array([10.0, -2.0]),
               "kind": np.array(2)},)
    evaluation = EvaluationRequests("eval.npz", (b"{}",), checks, by_answers=False)

    def answer(flags: list[int], value: list[float], kind: int) -> bytes:
        return json.dumps({"outputs": {"flags": [flags], "value": [value],
                                       "kind": [{"index": kind, "score": 0.9}]}}).encode()

    assert accuracy(manifest, evaluation, [answer([1, 0, 1], [10.05, -2.0], 2)]) == 1.0
    assert accuracy(manifest, evaluation, [answer([1, 1, 1], [10.0, -2.0], 2)]) == 0.0
    assert accuracy(manifest, evaluation, [answer([1, 0, 1], [10.5, -2.0], 2)]) == 0.0
    assert accuracy(manifest, evaluation, [answer([1, 0, 1], [10.0, -2.0], 0)]) == 0.0
