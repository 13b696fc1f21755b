"""The write-up's runtime as bench rows: ``tflite-runtime==2.7.0`` on python3.9 (config.PEER_*).

Its float32 row runs the manifest's own float32 file, which 2.7.0 loads as it is. TF 2.21's
dynamic file does not load there (FULLY_CONNECTED version 12) and its int8 file gives wrong
answers, so those rows run files converted with ``dense_per_tensor`` (conversion/variants.py),
as TF 2.7's converter wrote them: ``dense_per_tensor_model`` converts the manifest's original
TF model once into a cached folder (the large model's cache root), with a float32 to evaluate
them against, as ``lambdalite convert`` + ``evaluate`` do for lambdalite's own variants (on
LiteRT; bench compares the peer rows' answers with LiteRT's). The rows are skipped, with
the reason, where this machine has no Python 3.9 with awslambdaric, where the model folder has
no original TF model, or where TensorFlow is not installed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from lambdalite import progress as progress_
from lambdalite.benchmark.config import PEER, PEER_MARK, PEER_PACKAGE, PEER_RUNTIME
from lambdalite.benchmark.large_model import cache_root, keep_built
from lambdalite.benchmark.machine import package_version
from lambdalite.errors import DependencyError, ModelError
from lambdalite.manifest import MANIFEST_NAME, Manifest

# Where int8 calibration data sits next to a bundled model folder: the large model's seeded
# images, the MNIST example's evaluation digits.
CALIBRATION_FILES = ("calibration.npz", "eval.npz")


def why_no_peer_rows() -> str | None:
    """Why the peer rows cannot run here (no Python 3.9 with awslambdaric), None if they can."""
    from lambdalite.local.engine import runtime_warning  # deferred: the engine's machinery

    warning = runtime_warning(PEER_RUNTIME)
    if warning is None:
        return None
    return f"no {PEER} rows ({PEER_MARK}: {PEER_PACKAGE} on {PEER_RUNTIME}): {warning}"


def calibration_for(model_dir: Path) -> Path | None:
    return next((p for p in (model_dir.parent / n for n in CALIBRATION_FILES) if p.is_file()),
                None)


def dense_per_tensor_model(model_dir: Path, manifest: Manifest, variants: tuple[str, ...],
                           progress: progress_.Progress | None = None) -> Path:
    """A model folder with ``variants`` (dynamic, int8) converted with ``dense_per_tensor``
    from ``manifest``'s original TF model, made once and cached.

    ModelError when the folder has no original model (or int8 no calibration data),
    DependencyError without TensorFlow."""
    if not manifest.model.tf_model:
        raise ModelError(f"{manifest.model.name} has no original TF model to convert with "
                         "--dense-per-tensor (convert it with --keep-tf-model)")
    calibration = calibration_for(model_dir)
    if "int8" in variants and calibration is None:
        raise ModelError(f"int8 needs calibration data next to {model_dir} "
                         f"({' or '.join(CALIBRATION_FILES)})")
    tf_version = package_version("tensorflow")
    if tf_version is None:
        raise DependencyError("converting with --dense-per-tensor needs TensorFlow: "
                              "pip install 'lambdalite[tf]'")
    spec = json.dumps({"source": manifest.model.source.sha256, "tf": tf_version,
                       "variants": sorted(variants), "evaluated": True}, sort_keys=True)
    key = hashlib.sha256(spec.encode()).hexdigest()[:12]
    folder = cache_root() / f"{manifest.model.name}-dense-per-tensor-{key}"
    if (folder / MANIFEST_NAME).exists():
        return folder
    work = folder.with_name(f"{folder.name}.partial-{os.getpid()}")   # one per process
    shutil.rmtree(work, ignore_errors=True)
    _convert(model_dir, manifest, ("float32", *variants), calibration, work, progress)
    # `lambdalite evaluate` scores image classifiers only (conversion/evaluate.py's rule): a
    # model with other outputs (the large model's bits) is converted without it, and its rows
    # are checked by their answers against LiteRT's instead.
    classifier = (len(manifest.inputs) == 1 and manifest.image_input is not None
                  and manifest.classifier_output is not None)
    if calibration is not None and classifier:
        from lambdalite.conversion.pipeline import EvaluateOptions, evaluate

        evaluate(EvaluateOptions(model_dir=work, data=calibration), progress=progress)
    keep_built(work, folder, folder / MANIFEST_NAME)   # or another process's, finished first
    return folder


def _convert(model_dir: Path, manifest: Manifest, variants: tuple[str, ...],
             calibration: Path | None, out: Path, progress: progress_.Progress | None) -> None:
    """The manifest's own interface (preprocessing, kinds, labels, activation) again."""
    from lambdalite.conversion.pipeline import convert  # deferred: imports TensorFlow
    from lambdalite.conversion.plan import ACTIVATIONS, ConvertOptions

    pre = manifest.preprocessing
    labels = next((o.labels for o in manifest.outputs if o.labels), None)
    activation = next((o.activation for o in manifest.outputs if o.activation in ACTIVATIONS),
                      None)
    assert manifest.model.tf_model is not None
    convert(ConvertOptions(
        model=model_dir / manifest.model.tf_model, out=out, variants=variants,
        calibration=calibration, name=manifest.model.name, dense_per_tensor=True,
        color=pre.color_mode if pre else None, size=(pre.height, pre.width) if pre else None,
        resize_filter=pre.resize_filter if pre else "bilinear",
        scale=pre.scale if pre else None, offset=pre.offset if pre else None,
        labels=tuple(labels) if labels else None, output_activation=activation,
        input_kinds={i.name: i.kind for i in manifest.inputs},
        output_kinds={o.name: o.kind for o in manifest.outputs},
    ), progress=progress)


# Images per request when measuring accuracy on the peer's runtime: the function's default
# LAMBDALITE_MAX_IMAGES.
EVAL_BATCH = 16


@dataclass(frozen=True)
class LabelledEvents:
    """A labelled data set as the function's batch requests ({"images": [...]}), in order."""

    events: tuple[bytes, ...]
    labels: tuple[int, ...]
    dataset: str

    def accuracy(self, answers: list[bytes]) -> float:
        """Top-1 of the function's answers ({"predictions": [{"predicted_label": n}, ...]})."""
        predicted = [int(p["predicted_label"]) for a in answers
                     for p in json.loads(a)["predictions"]]
        if len(predicted) != len(self.labels):
            raise ModelError(f"{len(predicted)} predictions for {len(self.labels)} examples")
        return sum(p == y for p, y in zip(predicted, self.labels, strict=True)) / len(self.labels)


def labelled_events(model_dir: Path, manifest: Manifest) -> LabelledEvents | None:
    """The calibration file's labelled images as batch requests: how accuracy is measured on
    the peer's own runtime (the dangerous case is a file that loads and answers wrongly).
    None when there is no labelled image set or the model is no image classifier."""
    path = calibration_for(model_dir)
    pre = manifest.preprocessing
    if path is None or pre is None or manifest.classifier_output is None:
        return None
    import numpy as np
    from PIL import Image

    with np.load(path) as data:
        if "y" not in data or "x" not in data:
            return None
        x, y = data["x"], data["y"]
    images = []
    for pixels in x.astype(np.uint8):
        buf = io.BytesIO()
        plane = pixels[..., 0] if pixels.ndim == 3 and pixels.shape[-1] == 1 else pixels
        Image.fromarray(plane).save(buf, "PNG")
        images.append(base64.b64encode(buf.getvalue()).decode())
    events = tuple(json.dumps({"images": images[i: i + EVAL_BATCH]}).encode()
                   for i in range(0, len(images), EVAL_BATCH))
    return LabelledEvents(events, tuple(int(v) for v in y), path.name)
