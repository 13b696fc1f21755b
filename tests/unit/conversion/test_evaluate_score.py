"""Evaluation numbers on a known small set: accuracy, agreement, drop, flag."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lambdalite.conversion.evaluate import EvaluationReport, VariantScore, score
from lambdalite.manifest import Evaluation

LABELS = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])


def test_accuracy_agreement_and_drop_on_a_known_set() -> None:
    preds = {
        "float32": np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 0]),  # 9/10 right
        "int8": np.array([0, 1, 2, 3, 4, 5, 6, 7, 0, 0]),  # 8/10 right, 9/10 agree
        "float16": np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),  # 10/10 right, 9/10 agree
    }
    got = score(preds, LABELS, tolerance=0.5)
    assert got["float32"].accuracy == pytest.approx(0.9)
    assert got["float32"].agreement_with_float32 == 1.0
    assert got["float32"].accuracy_drop_points == 0.0 and not got["float32"].flagged
    assert got["int8"].accuracy == pytest.approx(0.8)
    assert got["int8"].agreement_with_float32 == pytest.approx(0.9)
    assert got["int8"].accuracy_drop_points == pytest.approx(10.0)
    assert got["int8"].flagged
    assert got["float16"].accuracy_drop_points == pytest.approx(-10.0)
    assert not got["float16"].flagged
    assert all(e.examples == 10 for e in got.values())


def test_tolerance_is_the_flag_threshold() -> None:
    preds = {"float32": LABELS, "dynamic": np.where(LABELS == 9, 0, LABELS)}  # drop 10 points
    assert score(preds, LABELS, tolerance=10.0)["dynamic"].flagged is False
    assert score(preds, LABELS, tolerance=9.99)["dynamic"].flagged is True


def test_without_labels_only_agreement_is_known() -> None:
    got = score({"float32": LABELS, "int8": LABELS[::-1].copy()}, None, tolerance=0.5)
    assert got["int8"].accuracy is None and got["int8"].accuracy_drop_points is None
    assert got["int8"].agreement_with_float32 == 0.0
    assert not got["int8"].flagged


def test_without_float32_there_is_no_agreement_or_drop() -> None:
    got = score({"int8": LABELS}, LABELS, tolerance=0.5)
    assert got["int8"].accuracy == 1.0
    assert got["int8"].agreement_with_float32 is None and got["int8"].accuracy_drop_points is None


def test_report_json_shape() -> None:
    ev = Evaluation(
        examples=10,
        accuracy=0.8,
        agreement_with_float32=0.9,
        mean_latency_ms=0.1,
        accuracy_drop_points=10.0,
        flagged=True,
        dataset="d.npz",
    )
    report = EvaluationReport(Path("m"), "d.npz", 10, 0.5, (VariantScore("int8", 123, ev, LABELS),))
    data = report.to_dict()
    assert data["flagged"] == ["int8"]
    assert data["variants"]["int8"]["size_bytes"] == 123
    assert data["variants"]["int8"]["accuracy"] == 0.8


def _report(drops: dict[str, float], tolerance: float = 0.5) -> EvaluationReport:
    scores = tuple(
        VariantScore(
            variant=name,
            size_bytes=1,
            evaluation=Evaluation(
                examples=10,
                accuracy=0.9 - drop / 100,
                agreement_with_float32=1.0,
                mean_latency_ms=0.1,
                accuracy_drop_points=drop,
                flagged=drop > tolerance,
            ),
            predictions=np.zeros(10, np.int64),
        )
        for name, drop in drops.items()
    )
    return EvaluationReport(Path("m"), "d.npz", 10, tolerance, scores)


def test_flag_messages_name_the_variant_and_the_drop() -> None:
    report = _report({"float32": 0.0, "dynamic": 0.2, "int8": 1.25})
    assert report.flag_messages() == (
        "variant int8 lost 1.25 accuracy points against float32 (tolerance 0.5)",
    )
    assert _report({"float32": 0.0}).flag_messages() == ()


def test_train_shortfalls_below_target_or_flagged() -> None:
    from lambdalite.examples.train import TARGET_ACCURACY, shortfalls

    good = _report({"float32": 0.0, "int8": 0.4})
    assert shortfalls(0.983, good) == ()
    assert shortfalls(TARGET_ACCURACY - 0.001, good) == (
        "held-out accuracy 0.9690 is below the 0.97 target",
    )
    missed = shortfalls(0.99, _report({"float32": 0.0, "float16": 0.7}))
    assert missed == ("variant float16 lost 0.70 accuracy points against float32 (tolerance 0.5)",)
