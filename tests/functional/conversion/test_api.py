"""``lambdalite.convert`` and ``lambdalite.evaluate`` called directly: typed options in,
typed results out, progress through a callback; the same pipeline the CLI runs."""

from __future__ import annotations

from pathlib import Path

import pytest

import lambdalite
from lambdalite.manifest import Manifest
from lambdalite.progress import Callback

from .conftest import CLASSES, Tiny


def test_convert_then_evaluate_through_the_api(tiny: Tiny, tmp_path: Path) -> None:
    out = tmp_path / "model"
    seen: list[tuple[str, int, int | None]] = []
    result = lambdalite.convert(
        lambdalite.ConvertOptions(model=tiny.sources["keras"], out=out,
                                  variants=("dynamic", "float32"), name="tiny"),
        progress=Callback(lambda what, done, total: seen.append((what, done, total))))
    assert isinstance(result, lambdalite.ConvertResult) and result.plan is not None
    assert result.plan.variants == ("float32", "dynamic")       # canonical order
    assert [o.variant for o in result.outcomes if o.ok] == ["float32", "dynamic"]
    assert result.manifest_path == out / "manifest.json"
    assert seen[0][0] == "reading the model (imports TensorFlow)"
    assert seen[-1][1:] == (2, 2)                               # one unit per variant

    evaluated = lambdalite.evaluate(lambdalite.EvaluateOptions(model_dir=out, data=tiny.eval_npz))
    report = evaluated.report
    assert report.examples == len(tiny.y_eval) and evaluated.manifest_path == out / "manifest.json"
    recorded = Manifest.load(out).variants["dynamic"].evaluation
    assert recorded is not None and recorded.accuracy == report.scores[1].evaluation.accuracy
    assert recorded.accuracy is not None and recorded.accuracy > 1 / CLASSES


def test_an_option_mistake_names_the_field_before_tensorflow_reads_the_model(
    tiny: Tiny, tmp_path: Path
) -> None:
    with pytest.raises(lambdalite.OptionError, match="^int8_io must be one of"):
        lambdalite.convert(lambdalite.ConvertOptions(model=tiny.sources["keras"],
                                                     out=tmp_path / "m", int8_io="int4"))
    assert not (tmp_path / "m").exists()
