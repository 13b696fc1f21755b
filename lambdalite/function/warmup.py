"""The INIT levers: a warm-up inference, and SnapStart's runtime hooks.

Warm-up: one inference at INIT, so that what a runtime does at its first invoke (LiteRT sizes
its arena and sets XNNPACK's operators up for the shape; TensorFlow traces its graph) happens
during INIT, not in the first request's Duration. A model whose one input is an image and that
has no hooks is warmed through the whole request chain (``rehearsal_event``: a blank PNG of its
input size, decoded, preprocessed, answered and logged to nowhere), so that the chain's own
first run (Pillow's PNG decoder, numpy's casts, the JSON encoder, Python's specializing
interpreter on the request path) is done too; any other model gets zeros shaped from its
inputs (a dynamic dimension as 1) through the backend only (a hook's code never runs on
made-up data). A failed warm-up is logged and INIT goes on: the first request then pays what
the warm-up would have. ``LAMBDALITE_WARMUP`` on / off / auto (the default: ``wanted``).

SnapStart: Lambda's Python runtimes (3.12+) run the callables registered with
``snapshot_restore_py`` (AWS's module, which awslambdaric requires and whose hooks its
bootstrap runs when ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``): before the snapshot, the
warm-up; after each restore, new seeds for ``random`` and numpy's global generator (restored
environments would otherwise all draw the same numbers, and a hooks module may draw some).
Nothing else the function holds differs between environments: the model is a read-only
memory-mapped file of the task root, no socket, temporary file or connection is opened at
INIT, and a restored environment's first request is still reported as its cold start.
"""

from __future__ import annotations

import binascii
import io
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from lambdalite.function.backends import Backend
    from lambdalite.function.observability import JsonLogger
    from lambdalite.manifest import InputSpec, Manifest

Clock = Callable[[], float]
MB = 1024 * 1024
# A warm-up adds one inference to INIT and saves the first invoke's set-up: MNIST's first
# Duration drops from ~3x to ~2x its warm p50 for ~0.2 ms of INIT (through the request chain:
# ~1 ms of INIT, and the first request's instructions fall from 1.30x to 1.08x a warm one's,
# python3.12, callgrind; the rest of its wall time is the CPU's caches), while the large benchmark
# model (208 MB) runs no slower the first time than the next, so warming it only adds a whole
# inference to every cold start (docs/BENCHMARKS.md, "Levers"). Auto warms files up to this.
AUTO_MAX_MODEL_BYTES = 32 * MB


def wanted(explicit: bool | None, snap_start: bool, model_bytes: int | None) -> tuple[bool, str]:
    """(warm up?, why) from LAMBDALITE_WARMUP, else auto: under SnapStart always (the snapshot
    keeps it: no cold start pays), else for a model file up to AUTO_MAX_MODEL_BYTES."""
    if explicit is not None:
        return explicit, "LAMBDALITE_WARMUP"
    if snap_start:
        return True, "auto: SnapStart"
    if model_bytes is None or model_bytes <= AUTO_MAX_MODEL_BYTES:
        return True, "auto"
    return False, (f"auto: the model is {model_bytes / MB:.0f} MB, over "
                   f"{AUTO_MAX_MODEL_BYTES // MB} MB; LAMBDALITE_WARMUP=on to warm it")


def model_bytes(backend: Backend) -> int | None:
    """The backend's model file size (None: a folder, e.g. TensorFlow's SavedModel)."""
    path = getattr(backend, "model_path", None)
    try:
        return os.path.getsize(path) if path is not None and os.path.isfile(path) else None
    except OSError:
        return None


def zeros_inputs(specs: Sequence[InputSpec], shapes: Mapping[str, Sequence[int]]
                 ) -> dict[str, np.ndarray]:
    """One row of zeros for every input, shaped as the model file has it (else the manifest)."""
    return {
        spec.name: np.zeros([1 if d < 0 else d for d in shapes.get(spec.name, spec.shape)],
                            np.dtype(spec.dtype))
        for spec in specs
    }


def rehearsal_event(manifest: Manifest) -> dict[str, str] | None:
    """The request the chain warm-up sends: one blank PNG of the image input's size, for a
    model whose only input is that image and that has no hooks; None for any other model."""
    image = manifest.image_input
    if (manifest.hooks is not None or image is None or image.preprocessing is None
            or len(manifest.inputs) != 1):
        return None
    pre = image.preprocessing
    png = io.BytesIO()
    Image.new(pre.color_mode, (pre.width, pre.height)).save(png, "PNG")
    return {"image": binascii.b2a_base64(png.getvalue(), newline=False).decode("ascii")}


def warm_up(backend: Backend, specs: Sequence[InputSpec], logger: JsonLogger,
            clock: Clock = time.perf_counter, rehearse: Callable[[], object] | None = None
            ) -> float | None:
    """One inference: ``rehearse`` (the whole chain on a generated request) when given, else
    zeros through the backend; its cost in ms, or None (logged) when the model refused it."""
    started = clock()
    try:
        if rehearse is not None:
            rehearse()
        else:
            shapes: Mapping[str, Sequence[int]] = getattr(backend, "input_shapes", None) or {}
            backend.predict(zeros_inputs(specs, shapes))
    except Exception as exc:  # noqa: BLE001 - an optimisation: never fail INIT for it
        logger.warning("warm-up inference failed; the first request pays the model's set-up",
                       error_type=type(exc).__name__, error=str(exc)[:300])
        return None
    return round((clock() - started) * 1000.0, 3)


def runtime_hooks() -> Any | None:
    """AWS's ``snapshot_restore_py`` module, or None where the runtime has none."""
    try:
        import snapshot_restore_py  # deferred: only a SnapStart INIT asks for it
    except ImportError:
        return None
    return snapshot_restore_py


def register_snapstart(before_snapshot: Callable[[], None], logger: JsonLogger,
                       hooks: Any | None = None) -> bool:
    """Register ``before_snapshot`` and ``reseed`` with the runtime; False (logged) without
    ``snapshot_restore_py``. ``hooks``: the module (tests pass their own)."""
    hooks = hooks if hooks is not None else runtime_hooks()
    if hooks is None:
        logger.warning("AWS_LAMBDA_INITIALIZATION_TYPE=snap-start but this runtime has no "
                       "snapshot_restore_py: the warm-up runs at INIT and nothing is re-seeded "
                       "after a restore")
        return False
    hooks.register_before_snapshot(before_snapshot)
    hooks.register_after_restore(reseed, logger)
    return True


def reseed(logger: JsonLogger) -> None:
    """After a restore: fresh seeds from the OS for the generators a snapshot would share."""
    import random  # deferred: only a restored SnapStart environment needs it

    random.seed()
    np.random.seed()  # the legacy global generator; default_rng() seeds itself when created
    logger.info("restored from snapshot", reseeded=["random", "numpy.random"])
