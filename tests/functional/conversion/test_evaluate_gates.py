"""`evaluate --strict` fails on a flagged variant; `--limit` does not overwrite the manifest.

Real LiteRT on the committed MNIST variants (no TensorFlow). The evaluation set is built
from eval.npz: a digit on which int8 and float32 disagree, labelled with float32's answer,
plus nine digits every variant gets right. int8 then scores 9/10 against float32's 10/10:
a 10-point drop, flagged at the default 0.5-point tolerance.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from lambdalite.cli import main
from lambdalite.conversion.data import load_dataset, model_input
from lambdalite.conversion.evaluate import predict
from lambdalite.manifest import Manifest


@dataclass(frozen=True)
class Gate:
    model_dir: Path
    data: Path


@pytest.fixture(scope="module")
def gate(mnist_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Gate:
    root = tmp_path_factory.mktemp("evaluate-gates")
    model_dir = root / "model"
    model_dir.mkdir()
    for f in [*mnist_model_dir.glob("*.tflite"), mnist_model_dir / "manifest.json"]:
        shutil.copy2(f, model_dir / f.name)
    manifest = Manifest.load(model_dir)
    full = load_dataset(mnist_model_dir.parent / "eval.npz")
    x = model_input(full, manifest.preprocessing)
    ref, _ = predict(model_dir / manifest.variants["float32"].file, x)
    tops = {n: predict(model_dir / v.file, x)[0] for n, v in manifest.variants.items()}
    differ = np.flatnonzero(tops["int8"] != ref)
    if len(differ) == 0:
        pytest.skip("int8 agrees with float32 on every MNIST digit: no drop to provoke")
    all_right = np.flatnonzero(np.all([t == full.labels for t in tops.values()], axis=0))[:9]
    pick = np.concatenate([differ[:1], all_right])
    labels = full.labels[pick].copy()
    labels[0] = ref[pick[0]]  # float32's answer counts as right: int8's is then wrong
    data = root / "gate.npz"
    assert full.pixels is not None
    np.savez(data, x=full.pixels[pick], y=labels)
    return Gate(model_dir, data)


def _evaluate(gate: Gate, *flags: str) -> int:
    return main(["evaluate", str(gate.model_dir), "--data", str(gate.data), *flags])


def test_flagged_variant_warns_and_exits_0_without_strict(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _evaluate(gate, "--no-write") == 0
    err = capsys.readouterr().err
    assert "variant int8 lost 10.00 accuracy points against float32 (tolerance 0.5)" in err


@pytest.mark.parametrize("as_json", [False, True])
def test_strict_exits_4_naming_the_variant_and_the_drop(
    gate: Gate, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    flags = ["--strict", "--no-write", *(["--json"] if as_json else [])]
    assert _evaluate(gate, *flags) == 4
    out, err = capsys.readouterr()
    assert "variant int8 lost 10.00 accuracy points against float32" in err
    assert "float32 lost" not in err
    if as_json:
        assert json.loads(out)["flagged"] == ["int8"]


def test_strict_passes_when_within_tolerance(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _evaluate(gate, "--strict", "--no-write", "--tolerance", "10") == 0


def test_limit_does_not_overwrite_the_manifest_unless_asked(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = gate.model_dir / "manifest.json"
    before = manifest.read_text()
    assert _evaluate(gate, "--limit", "4") == 0
    assert "--limit 4: results not written to the manifest" in capsys.readouterr().err
    assert manifest.read_text() == before
    assert _evaluate(gate, "--limit", "4", "--write") == 0
    written = Manifest.load(gate.model_dir)
    assert {v.evaluation.examples for v in written.variants.values() if v.evaluation} == {4}
    manifest.write_text(before)
