"""``lambdalite evaluate``: every variant of a manifest, on one evaluation set, with LiteRT.

Per variant: accuracy (when the set has labels), agreement of its top-1 with the
float32 variant's top-1, file size and mean latency per example (one example per
``invoke``, as a Lambda request with one image runs). Needs no TensorFlow. It scores image
classifiers (one image input, one ``classes`` output); other models are refused with a reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lambdalite import progress as progress_
from lambdalite.conversion.data import Dataset, model_input
from lambdalite.conversion.errors import UsageError
from lambdalite.conversion.schema import validate_manifest
from lambdalite.conversion.tflite_info import open_interpreter
from lambdalite.function.backends.litert import dequantize, quantize
from lambdalite.manifest import Evaluation, Manifest

DEFAULT_TOLERANCE = 0.5  # accuracy points a variant may lose against float32
REFERENCE = "float32"


@dataclass(frozen=True)
class VariantScore:
    variant: str
    size_bytes: int
    evaluation: Evaluation
    predictions: np.ndarray  # top-1 index per example


@dataclass(frozen=True)
class EvaluationReport:
    model_dir: Path
    dataset: str
    examples: int
    tolerance: float
    scores: tuple[VariantScore, ...]

    @property
    def flagged(self) -> tuple[str, ...]:
        return tuple(s.variant for s in self.scores if s.evaluation.flagged)

    def flag_messages(self) -> tuple[str, ...]:
        """One line per flagged variant: which one, and by how much."""
        return tuple(
            f"variant {s.variant} lost {s.evaluation.accuracy_drop_points:.2f} accuracy points "
            f"against float32 (tolerance {self.tolerance:g})"
            for s in self.scores
            if s.evaluation.flagged
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "model_dir": str(self.model_dir),
            "dataset": self.dataset,
            "examples": self.examples,
            "tolerance_points": self.tolerance,
            "flagged": list(self.flagged),
            "variants": {
                s.variant: {"size_bytes": s.size_bytes, **s.evaluation._asdict()}
                for s in self.scores
            },
        }


def check_evaluable(manifest: Manifest) -> None:
    image = manifest.image_input
    if len(manifest.inputs) == 1 and image is not None and manifest.classifier_output:
        return
    shown_in = ", ".join(f"{i.name} ({i.kind})" for i in manifest.inputs)
    shown_out = ", ".join(f"{o.name} ({o.kind})" for o in manifest.outputs)
    raise UsageError(
        f"lambdalite evaluate scores image classifiers (one image input, one classes output); "
        f"{manifest.model.name} takes {shown_in} and gives {shown_out}. Record an evaluation "
        "set for it with `lambdalite convert --evaluation-set eval.npz` instead"
    )


def predict(path: Path, x: np.ndarray, num_threads: int = 1) -> tuple[np.ndarray, float]:
    """Top-1 per example and the mean seconds per ``invoke`` (batch of one)."""
    if path.suffix == ".onnx":
        return predict_onnx(path, x, num_threads)
    it = open_interpreter(path, num_threads)
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    if list(inp["shape"][1:]) != list(x.shape[1:]):
        raise _mismatch(path, list(inp["shape"]), list(x.shape))
    if int(inp["shape"][0]) != 1:
        it.resize_tensor_input(inp["index"], [1, *x.shape[1:]])
        it.allocate_tensors()
    top1 = np.empty(len(x), dtype=np.int64)
    elapsed = 0.0
    for i in range(len(x)):
        it.set_tensor(inp["index"], quantize(x[i : i + 1], inp))
        start = time.perf_counter()
        it.invoke()
        elapsed += time.perf_counter() - start
        logits = dequantize(it.get_tensor(out["index"]), out)
        top1[i] = int(np.argmax(logits.reshape(-1)))
    return top1, elapsed / max(len(x), 1)


def predict_onnx(path: Path, x: np.ndarray, num_threads: int = 1) -> tuple[np.ndarray, float]:
    """``predict`` for an ONNX variant: ONNX Runtime with the function's session options."""
    # Deferred: onnxruntime is needed only when the manifest has ONNX variants.
    from lambdalite.function.backends.onnxruntime import graph_ports, open_session

    session = open_session(str(path), num_threads)
    (inp, *_), (out, *_) = graph_ports(session)
    fits = len(inp.shape) == x.ndim and all(
        w in (-1, d) for w, d in zip(inp.shape[1:], x.shape[1:], strict=True))
    if not fits:
        raise _mismatch(path, inp.shape, list(x.shape))
    top1 = np.empty(len(x), dtype=np.int64)
    elapsed = 0.0
    for i in range(len(x)):
        feed = {inp.name: np.ascontiguousarray(x[i : i + 1], dtype=inp.dtype)}
        start = time.perf_counter()
        (logits,) = session.run([out.name], feed)
        elapsed += time.perf_counter() - start
        top1[i] = int(np.argmax(np.asarray(logits).reshape(-1)))
    return top1, elapsed / max(len(x), 1)


def score(
    predictions: dict[str, np.ndarray], labels: np.ndarray | None, tolerance: float
) -> dict[str, Evaluation]:
    """Accuracy, agreement with float32 and the drop flag, from top-1 predictions alone."""
    ref = predictions.get(REFERENCE)
    ref_acc = _accuracy(ref, labels) if ref is not None else None
    result = {}
    for name, pred in predictions.items():
        acc = _accuracy(pred, labels)
        drop = None if acc is None or ref_acc is None else round((ref_acc - acc) * 100.0, 4)
        result[name] = Evaluation(
            examples=len(pred),
            accuracy=acc,
            agreement_with_float32=None if ref is None else float(np.mean(pred == ref)),
            mean_latency_ms=0.0,
            accuracy_drop_points=drop,
            flagged=drop is not None and drop > tolerance,
        )
    return result


def evaluate(
    model_dir: Path,
    data: Dataset,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    num_threads: int = 1,
    progress: progress_.Progress | None = None,
) -> EvaluationReport:
    """One unit of ``progress`` per variant."""
    shown = progress_.resolve(progress)
    manifest = Manifest.load(model_dir)
    check_evaluable(manifest)
    assert manifest.preprocessing is not None  # check_evaluable: one image input
    x = model_input(data, manifest.preprocessing)
    labels = data.labels
    # float32 first: every other variant is compared with it.
    order = sorted(manifest.variants, key=lambda v: v != REFERENCE)
    preds: dict[str, np.ndarray] = {}
    latency: dict[str, float] = {}
    shown.total(len(order))
    for name in order:
        with progress_.step(shown, f"evaluating {name}"):
            preds[name], latency[name] = predict(
                model_dir / manifest.variants[name].file, x, num_threads
            )
    evaluations = score(preds, labels, tolerance)
    scores = tuple(
        VariantScore(
            variant=name,
            size_bytes=manifest.variants[name].size_bytes,
            evaluation=evaluations[name]._replace(
                mean_latency_ms=round(latency[name] * 1000.0, 4),
                dataset=Path(data.source).name,
            ),
            predictions=preds[name],
        )
        for name in order
    )
    return EvaluationReport(model_dir, data.source, len(x), tolerance, scores)


def write_evaluations(model_dir: Path, report: EvaluationReport) -> Path:
    manifest = Manifest.load(model_dir)
    for s in report.scores:
        manifest = manifest.with_variant(
            manifest.variants[s.variant]._replace(evaluation=s.evaluation)
        )
    validate_manifest(manifest)
    return manifest.save(model_dir)


def _accuracy(pred: np.ndarray, labels: np.ndarray | None) -> float | None:
    if labels is None:
        return None
    return float(np.mean(pred == labels))


def _mismatch(path: Path, want: list[int], got: list[int]) -> Exception:
    from lambdalite.conversion.errors import BadDataset

    return BadDataset(
        f"{path.name} takes input {want} but the evaluation data became {got} after "
        "preprocessing; check the manifest's preprocessing and the data"
    )
