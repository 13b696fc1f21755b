"""Accuracy of any model, measured through each row's own function on its evaluation set.

The manifest's ``evaluation_set`` (an ``.npz`` in the model folder, docs/CONVERT.md) holds
``inputs/<name>`` and ``outputs/<name>`` arrays, N rows each, and optionally ``answers`` (per
row, the JSON the function's answer must hold). Each row becomes one direct invocation, as a
client would send it: the image input's pixels as a PNG in ``image`` (so the function's own
preprocessing, or its preprocess hook, runs), every other input as ``{"npy": ...}`` in
``inputs``. A row is right when:

- the model has hooks and the set has ``answers``: the answer holds the expected JSON (every
  key of an object equal, recursively; the stegastamp example: the decoded secret);
- otherwise, for every ``outputs/<name>``: a ``classes`` output's class equals the expected
  index (or the expected scores' argmax); ``bits`` are equal at the output's threshold;
  ``scores`` and ``tensor`` values are within ``RTOL``/``ATOL`` (of the largest expected value).

The MNIST example keeps the accuracy ``lambdalite evaluate`` recorded in its manifest (its
labelled set is not an ``evaluation_set``).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lambdalite.benchmark.models import npy_b64
from lambdalite.errors import ModelError
from lambdalite.manifest import Manifest, OutputSpec

INPUTS, OUTPUTS, ANSWERS = "inputs/", "outputs/", "answers"
RTOL, ATOL = 1e-2, 1e-2


@dataclass(frozen=True)
class EvaluationRequests:
    dataset: str                          # the file name, for the notes
    payloads: tuple[bytes, ...]           # one direct invocation per row
    checks: tuple[Any, ...]               # per row: the expected answer (JSON) or arrays
    by_answers: bool                      # compared with ``answers`` (hooks), not outputs

    def describe(self) -> str:
        how = ("the hooks' answers against its answers" if self.by_answers
               else "the outputs against its outputs")
        return (f"accuracy: measured through each row's function on {self.dataset} "
                f"({len(self.payloads)} examples: {how})")


def evaluation_requests(model_dir: Path, manifest: Manifest) -> EvaluationRequests | None:
    """The evaluation set as requests, or None when the manifest names none."""
    if manifest.evaluation_set is None:
        return None
    path = model_dir / manifest.evaluation_set
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k]) for k in data.files}
    except (OSError, ValueError) as exc:
        raise ModelError(f"the manifest's evaluation set {path} cannot be read ({exc}); "
                         "convert the model again with --evaluation-set") from None
    rows = len(next(iter(arrays.values())))
    payloads = tuple(json.dumps(request_body(manifest, arrays, i)).encode() for i in range(rows))
    by_answers = manifest.hooks is not None and ANSWERS in arrays
    if by_answers:
        checks: tuple[Any, ...] = tuple(json.loads(a) for a in arrays[ANSWERS].tolist())
    else:
        checks = tuple({k[len(OUTPUTS):]: v[i] for k, v in arrays.items()
                        if k.startswith(OUTPUTS)} for i in range(rows))
    return EvaluationRequests(path.name, payloads, checks, by_answers)


def request_body(manifest: Manifest, arrays: Mapping[str, np.ndarray], row: int
                 ) -> dict[str, Any]:
    body: dict[str, Any] = {}
    image = manifest.image_input
    tensors: dict[str, Any] = {}
    for spec in manifest.inputs:
        value = arrays[INPUTS + spec.name][row]
        if spec is image:
            body["image"] = png_b64(value)
        else:
            tensors[spec.name] = {"npy": npy_b64(value[None])}
    if tensors:
        body["inputs"] = tensors
    return body


def png_b64(pixels: np.ndarray) -> str:
    from PIL import Image

    squeezed = pixels[..., 0] if pixels.ndim == 3 and pixels.shape[2] == 1 else pixels
    buf = io.BytesIO()
    Image.fromarray(np.asarray(squeezed, dtype=np.uint8)).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def accuracy(manifest: Manifest, evaluation: EvaluationRequests,
             answers: Sequence[bytes | None]) -> float:
    """The fraction of rows answered right (None: the invocation failed)."""
    right = 0
    for answer, check in zip(answers, evaluation.checks, strict=True):
        if answer is None:
            continue
        body = json.loads(answer)
        ok = (holds(body, check) if evaluation.by_answers
              else all(output_right(manifest, body, name, want) for name, want in check.items()))
        right += bool(ok)
    return right / max(len(evaluation.checks), 1)


def holds(answer: Any, expected: Any) -> bool:
    """``answer`` has every key of ``expected`` with an equal value (recursively)."""
    if isinstance(expected, dict):
        return isinstance(answer, dict) and all(
            k in answer and holds(answer[k], v) for k, v in expected.items())
    return bool(answer == expected)


def output_right(manifest: Manifest, body: Any, name: str, want: np.ndarray) -> bool:
    spec = next(o for o in manifest.outputs if o.name == name)
    if manifest.classifier_output is not None:
        got: Any = body.get("predictions", [body])[0]["predicted_label"]
        return bool(got == expected_class(want))
    value = body["outputs"][name][0]
    if spec.kind == "classes":
        return bool(value["index"] == expected_class(want))
    return values_right(spec, np.asarray(value, dtype=np.float64), np.asarray(want, np.float64))


def expected_class(want: np.ndarray) -> int:
    return int(want) if want.ndim == 0 else int(np.argmax(want))


def values_right(spec: OutputSpec, got: np.ndarray, want: np.ndarray) -> bool:
    if got.shape != want.shape:
        return False
    if spec.kind == "bits":
        return bool(np.array_equal(got > 0.5, want > spec.threshold))
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    return bool(np.allclose(got, want, rtol=RTOL, atol=ATOL * scale))
