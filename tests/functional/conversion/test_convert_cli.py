"""The commands as a user runs them: evaluate, converter warnings, errors and exit codes."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lambdalite.cli import main
from lambdalite.conversion.evaluate import predict
from lambdalite.conversion.schema import schema_errors

from .conftest import TF1_TAGS, Conversions, Tiny, convert_cli, load_manifest

pytestmark = pytest.mark.tf


def test_evaluate_json_numbers_and_manifest(
    converted: Conversions, tiny: Tiny, capsys: pytest.CaptureFixture[str]
) -> None:
    out = converted("saved_model_tf2")
    capsys.readouterr()
    assert main(["evaluate", str(out), "--data", str(tiny.eval_npz), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    x01 = tiny.x_eval.astype(np.float32) / 255.0
    reference = tiny.reference["saved_model_tf2"](x01).argmax(axis=1)
    int8_top1, _ = predict(out / "int8.tflite", x01)
    assert report["examples"] == len(tiny.y_eval)
    v = report["variants"]
    assert v["float32"]["accuracy"] == pytest.approx(np.mean(reference == tiny.y_eval))
    assert v["float32"]["agreement_with_float32"] == 1.0
    assert v["int8"]["accuracy"] == pytest.approx(np.mean(int8_top1 == tiny.y_eval))
    assert v["int8"]["agreement_with_float32"] == pytest.approx(np.mean(int8_top1 == reference))
    assert v["int8"]["accuracy_drop_points"] == pytest.approx(
        (v["float32"]["accuracy"] - v["int8"]["accuracy"]) * 100, abs=1e-3
    )
    assert all(s["mean_latency_ms"] > 0 for s in v.values())
    assert report["flagged"] == [n for n, s in v.items() if s["flagged"]]
    # The results are written into the manifest, which still matches the schema.
    data = load_manifest(out)
    assert schema_errors(data) == []
    assert data["variants"]["int8"]["evaluation"]["accuracy"] == v["int8"]["accuracy"]
    assert data["variants"]["int8"]["evaluation"]["dataset"] == "eval.npz"


def test_evaluate_an_image_folder_prints_a_table(
    converted: Conversions, tiny: Tiny, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = converted("keras")  # has labels top/upper/lower/bottom
    names = ["top", "upper", "lower", "bottom"]
    for i, (img, label) in enumerate(zip(tiny.x_eval[:40], tiny.y_eval[:40], strict=True)):
        folder = tmp_path / names[label]
        folder.mkdir(exist_ok=True)
        Image.fromarray(img[..., 0], "L").save(folder / f"{i}.png")
    before = load_manifest(out)
    capsys.readouterr()
    code = main(["evaluate", str(out), "--data", str(tmp_path), "--no-write"])
    text = capsys.readouterr().out
    assert code == 0
    assert "40 examples" in text and "float32" in text and "int8" in text
    x01 = tiny.x_eval[:40].astype(np.float32) / 255.0
    top1, _ = predict(out / "float32.tflite", x01)
    assert f"{np.mean(top1 == tiny.y_eval[:40]) * 100:.2f}%" in text
    assert load_manifest(out) == before  # --no-write


@pytest.fixture(scope="module")
def flex_model(tf, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """A SavedModel using MatrixInverse: no TFLite builtin, only TF Select (Flex)."""

    class Inverse(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 4, 4, 1], tf.float32, name="image")])
        def __call__(self, x):  # type: ignore[no-untyped-def]
            inv = tf.linalg.inv(tf.reshape(x, [-1, 4, 4]) + tf.eye(4))
            return {"out": tf.nn.softmax(tf.reduce_sum(inv, axis=2))}

    path = tmp_path_factory.mktemp("flex") / "saved_model"
    module = Inverse()
    tf.saved_model.save(module, str(path), signatures=module.__call__)
    return path


def test_op_that_needs_tf_select_is_named_with_what_to_do(
    flex_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = convert_cli(str(flex_model), "--out", str(tmp_path / "o"), "--variants", "float32")
    err = capsys.readouterr().err
    assert code == 4
    assert "no variant could be made" in err
    assert "ops MatrixInverse have no TFLite builtin kernel and need TF Select" in err
    assert "MLIR" not in err  # the converter's internals are not dumped on the user


def test_allow_tf_select_converts_but_says_litert_cannot_run_it(
    flex_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    code = convert_cli(str(flex_model), "--out", str(out), "--variants", "float32",
                       "--allow-tf-select")  # fmt: skip
    err = capsys.readouterr().err
    assert code == 4
    assert "needs TF Select for MatrixInverse (--allow-tf-select)" in err
    assert not (out / "float32.tflite").exists() and not (out / "manifest.json").exists()


def test_default_tags_on_a_tf1_model_say_which_tags_exist(
    tiny: Tiny, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = convert_cli(str(tiny.sources["saved_model_tf1"]), "--out", str(tmp_path / "o"))
    err = capsys.readouterr().err
    assert code == 2
    assert "no MetaGraph tagged ['serve']" in err and str(list(TF1_TAGS)) in err
    assert "--tags" in err


def test_unknown_signature_lists_the_signatures(
    tiny: Tiny, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = convert_cli(str(tiny.sources["saved_model_tf1"]), "--out", str(tmp_path / "o"),
                       "--tags", ",".join(TF1_TAGS), "--signature", "predict")  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "no signature 'predict'" in err and "classify" in err and "logits" in err


def test_corrupt_saved_model_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "broken"
    model.mkdir()
    (model / "saved_model.pb").write_bytes(b"\xff\xfe not a protobuf \x00\x01")
    code = convert_cli(str(model), "--out", str(tmp_path / "o"))
    assert code == 3
    assert "corrupt saved_model.pb" in capsys.readouterr().err


def test_corrupt_keras_zip_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "m.keras"
    with zipfile.ZipFile(model, "w") as z:  # a whole zip, but no Keras model inside
        z.writestr("notes.txt", "not a model")
    code = convert_cli(str(model), "--out", str(tmp_path / "o"))
    assert code == 3
    assert "Keras could not load" in capsys.readouterr().err


def test_dry_run_prints_the_plan_and_writes_nothing(
    tiny: Tiny, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    code = convert_cli(str(tiny.sources["h5"]), "--out", str(out), "--dry-run",
                       "--calibration", str(tiny.calibration), "--scale", "1")  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0
    assert "variants    float32, dynamic, float16, int8" in text
    assert "input = pixel * 1 + 0" in text
    assert not out.exists()
