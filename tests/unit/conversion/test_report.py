"""The rich tables say ok/failed/skipped with reasons, sizes and flags."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from lambdalite.conversion.capture import Note, NoteKind
from lambdalite.conversion.evaluate import EvaluationReport, VariantScore
from lambdalite.conversion.execute import ConvertResult, VariantOutcome
from lambdalite.conversion.plan import Skipped
from lambdalite.conversion.report import conversion_table, evaluation_table
from lambdalite.manifest import (
    Evaluation,
    InputSpec,
    Manifest,
    ModelInfo,
    OutputSpec,
    Preprocessing,
    Quantization,
    Source,
    TensorSpec,
    Variant,
)


def _render(table: Table) -> str:
    console = Console(record=True, width=200, color_system=None)
    console.print(table)
    return console.export_text()


def _variant(name: str, dtype: str) -> Variant:
    q = Quantization(0.0039, -128) if dtype == "int8" else Quantization()
    return Variant(
        name=name,
        file=f"{name}.tflite",
        size_bytes=2048,
        sha256="0" * 64,
        inputs=[TensorSpec("in", [-1, 28, 28, 1], dtype, q)],
        outputs=[TensorSpec("out", [-1, 10], dtype, q)],
    )


def test_conversion_table_shows_ok_failed_skipped_and_notes() -> None:
    manifest = Manifest(
        model=ModelInfo(name="m", source=Source("m.keras", "keras"), tf_version="2.21.0"),
        inputs=[InputSpec("in", "float32", [-1, 28, 28, 1], "image",
                          Preprocessing(color_mode="L", height=28, width=28))],
        outputs=[OutputSpec("out", "float32", [-1, 10], "classes")],
        variants={"float32": _variant("float32", "float32")},
    )
    result = ConvertResult(
        manifest=manifest,
        manifest_path=Path("out/manifest.json"),
        outcomes=(
            VariantOutcome(
                "float32",
                True,
                size_bytes=2048,
                notes=(Note(NoteKind.TF_SELECT, "uses Flex ops: FlexErfinv"),),
            ),
            VariantOutcome("float16", False, reason="ConverterError: op Foo is not supported [x]"),
        ),
        skipped=(Skipped("int8", "no calibration data; pass --calibration"),),
    )
    text = _render(conversion_table(result))
    assert "float32" in text and "ok" in text and "2.0 KiB" in text
    assert "float32 [-1, 28, 28, 1]" in text
    assert "TF Select: uses Flex ops: FlexErfinv" in text
    assert "failed: ConverterError: op Foo is not supported [x]" in text
    assert "skipped: no calibration data" in text
    assert result.failed == (result.outcomes[1],)


def test_evaluation_table_flags_a_variant_that_lost_accuracy() -> None:
    def ev(acc: float, drop: float, flagged: bool) -> Evaluation:
        return Evaluation(
            examples=100,
            accuracy=acc,
            agreement_with_float32=0.97,
            mean_latency_ms=0.25,
            accuracy_drop_points=drop,
            flagged=flagged,
        )

    report = EvaluationReport(
        Path("m"),
        "eval.npz",
        100,
        0.5,
        (
            VariantScore("float32", 3 << 20, ev(0.98, 0.0, False), np.zeros(100)),
            VariantScore("int8", 1024, ev(0.96, 2.0, True), np.zeros(100)),
        ),
    )
    text = _render(evaluation_table(report))
    assert "100 examples from eval.npz (tolerance 0.5 points)" in text
    assert "3.00 MiB" in text and "1.0 KiB" in text
    assert "98.00%" in text and "97.00%" in text and "0.250 ms" in text
    assert "+2.00 FLAGGED" in text
    assert report.flagged == ("int8",)
