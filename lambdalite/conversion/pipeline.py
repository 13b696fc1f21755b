"""The convert and evaluate sequences, written once: ``lambdalite.convert`` / ``evaluate``, the
``lambdalite convert`` / ``evaluate`` commands, ``lambdalite train`` and the large benchmark
model all run them.

    result = lambdalite.convert(ConvertOptions(model=Path("saved_model"), out=Path("model")))
    report = lambdalite.evaluate(EvaluateOptions(model_dir=Path("model"), data=Path("eval.npz")))

Convert: detect the format (file system only), check the options (no model needed), read the
model (imports TensorFlow; a ``.tflite`` is read with LiteRT and TensorFlow is never imported),
plan, execute. Each check runs as early as it can, so a mistake fails in milliseconds rather
than after TensorFlow has loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lambdalite import progress as progress_
from lambdalite.conversion.data import check_data_path, load_dataset
from lambdalite.conversion.evaluate import (
    DEFAULT_TOLERANCE,
    EvaluationReport,
    check_evaluable,
    write_evaluations,
)
from lambdalite.conversion.evaluate import evaluate as run
from lambdalite.conversion.execute import ConvertResult
from lambdalite.conversion.execute import execute as execute_tf
from lambdalite.conversion.formats import ModelFormat, detect_format, inspect_model
from lambdalite.conversion.plan import ConversionPlan, ConvertOptions, check_options, make_plan
from lambdalite.errors import OptionError
from lambdalite.manifest import Manifest


def plan(options: ConvertOptions, *, progress: progress_.Progress | None = None) -> ConversionPlan:
    """What ``convert`` would do (``--dry-run`` prints it); reads the model with TensorFlow
    (a ``.tflite`` with LiteRT)."""
    fmt = detect_format(options.model)  # fails fast, before TensorFlow is imported
    check_options(options, fmt)  # before TensorFlow loads: option mistakes fail in milliseconds
    if fmt is ModelFormat.TFLITE:
        from lambdalite.conversion.tflite_source import inspect_tflite

        progress_.resolve(progress).update("reading the .tflite (LiteRT)")
        return make_plan(options, inspect_tflite(options.model))
    progress_.resolve(progress).update("reading the model (imports TensorFlow)")
    facts = inspect_model(options.model, fmt, options.tags, options.signature)
    return make_plan(options, facts)


def execute(planned: ConversionPlan, progress: progress_.Progress | None = None
            ) -> ConvertResult:
    """Make what ``planned`` says: convert with TensorFlow, or take the ``.tflite`` as it is."""
    if planned.format is ModelFormat.TFLITE:
        from lambdalite.conversion.tflite_source import execute_tflite

        return execute_tflite(planned, progress)
    return execute_tf(planned, progress)


def convert(options: ConvertOptions, *, progress: progress_.Progress | None = None
            ) -> ConvertResult:
    """Every variant that can be made, and the manifest; ``result.plan`` is what was planned.

    A variant that fails is recorded in ``result.outcomes``; ConversionError when none could."""
    return execute(plan(options, progress=progress), progress)


@dataclass(frozen=True)
class EvaluateOptions:
    """What to evaluate: every variant of ``model_dir`` with LiteRT on ``data``.

    ``data``: an ``.npz`` with ``x`` (and ``y``) or a folder of images (label subfolders).
    ``limit``: the first N examples only. ``write``: record the results in manifest.json;
    None writes unless ``limit`` is set (a subset must not replace the full-set numbers)."""

    model_dir: Path
    data: Path
    tolerance: float = DEFAULT_TOLERANCE  # accuracy points a variant may lose against float32
    threads: int = 1
    limit: int | None = None
    write: bool | None = None

    @property
    def writes(self) -> bool:
        return self.limit is None if self.write is None else self.write


@dataclass(frozen=True)
class EvaluateResult:
    report: EvaluationReport
    manifest_path: Path | None  # None: not written (``EvaluateOptions.write``)


def evaluate(options: EvaluateOptions, *, progress: progress_.Progress | None = None
             ) -> EvaluateResult:
    _check(options)
    check_data_path(options.data)  # a usage mistake: before the manifest is read
    manifest = Manifest.load(options.model_dir)
    check_evaluable(manifest)
    dataset = load_dataset(options.data, manifest.classifier_output.labels
                           if manifest.classifier_output else None)
    if options.limit is not None and options.limit < len(dataset):
        dataset = dataset.subset(np.arange(options.limit))
    report = run(options.model_dir, dataset, tolerance=options.tolerance,
                 num_threads=options.threads, progress=progress)
    written = write_evaluations(options.model_dir, report) if options.writes else None
    return EvaluateResult(report, written)


def _check(options: EvaluateOptions) -> None:
    if options.tolerance < 0:
        raise OptionError(f"{{tolerance}} {options.tolerance} is negative: give the accuracy "
                          "points a variant may lose, e.g. 0.5")
    if options.threads < 1:
        raise OptionError("{threads} must be at least 1")
    if options.limit is not None and options.limit < 1:
        raise OptionError("{limit} must be at least 1 (or None: every example)")
