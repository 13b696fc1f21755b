"""``lambdalite convert model.tflite``: a file made elsewhere, taken as it is with LiteRT only, named
after its tensor types, and served; with TensorFlow impossible to import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lambdalite.cli import main
from lambdalite.conversion.pipeline import convert
from lambdalite.conversion.plan import ConvertOptions
from lambdalite.conversion.schema import schema_errors
from lambdalite.conversion.tflite_source import inspect_tflite
from lambdalite.errors import OptionError
from lambdalite.manifest import Manifest

from .conftest import Models, TfliteFiles

pytestmark = pytest.mark.tf


@pytest.mark.parametrize("variant", ["float32", "dynamic", "float16", "int8"])
def test_the_variant_is_told_from_the_tensor_types(tflite_files: TfliteFiles, variant: str,
                                                   tmp_path: Path, serve) -> None:
    path = tflite_files.files[variant]
    assert inspect_tflite(path).variant == variant
    result = convert(ConvertOptions(model=path, out=tmp_path))
    manifest = Manifest.load(tmp_path)
    assert list(manifest.variants) == [variant] and manifest.default_variant == variant
    assert (tmp_path / f"{variant}.tflite").read_bytes() == path.read_bytes()
    assert schema_errors(json.loads((tmp_path / "manifest.json").read_text())) == []
    assert manifest.model.source.format == "tflite" and manifest.model.tf_version is None
    (features,) = manifest.inputs
    # The logical interface is float whatever the file's types: the backend quantizes.
    assert (features.name, features.dtype, features.shape) == ("features", "float32", [-1, 32])
    assert result.plan is not None and result.plan.tf_version is None
    x = tflite_files.x[:4]
    got = np.array(serve(tmp_path)({"inputs": x.tolist()})["outputs"]["output_0"])
    tolerance = 0.15 if variant == "int8" else 2e-2
    np.testing.assert_allclose(got, tflite_files.dense(x), atol=tolerance)


def test_the_api_path_asked_for_is_in_the_manifest(tflite_files: TfliteFiles,
                                                  tmp_path: Path) -> None:
    convert(ConvertOptions(model=tflite_files.files["float32"], out=tmp_path,
                           api_path="/score"))
    assert Manifest.load(tmp_path).api_path == "/score"
    assert json.loads((tmp_path / "manifest.json").read_text())["api_path"] == "/score"
    assert schema_errors(json.loads((tmp_path / "manifest.json").read_text())) == []


def test_quantized_variants_need_the_original_model(tflite_files: TfliteFiles,
                                                     tmp_path: Path) -> None:
    path = tflite_files.files["float32"]
    with pytest.raises(OptionError, match="quantized variants need the original TensorFlow model"):
        convert(ConvertOptions(model=path, out=tmp_path, variants=("float32", "dynamic")))
    assert main(["convert", str(path), "--out", str(tmp_path), "--variants", "int8",
                 "--calibration", str(path)]) == 2
    with pytest.raises(OptionError, match=r"calibration, keep_tf_model: .* is a \.tflite file"):
        convert(ConvertOptions(model=path, out=tmp_path, calibration=path, keep_tf_model=True))
    convert(ConvertOptions(model=path, out=tmp_path, variants=("float32",)))  # what it is: fine


def test_a_file_without_a_signature_is_named_by_its_tensors(tflite_files: TfliteFiles,
                                                             tmp_path: Path, serve) -> None:
    convert(ConvertOptions(model=tflite_files.no_signature, out=tmp_path))
    manifest = Manifest.load(tmp_path)
    assert [i.name for i in manifest.inputs] == ["x"] and [o.name for o in manifest.outputs] == ["y"]
    app = serve(tmp_path)
    assert app.backend.describe()["signature"] is None
    assert app({"inputs": {"x": [[1.0, 2.0, 3.0]]}}) == {"outputs": {"y": [[3.0, 5.0, 7.0]]}}


NO_TENSORFLOW = """
import json, sys
from pathlib import Path
for name in ("tensorflow", "keras", "tf_keras"):
    sys.modules[name] = None  # any `import tensorflow` now raises ImportError
from lambdalite.cli import main
tflite, out, request = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
code = main(["convert", tflite, "--out", str(out), "--output-kind", "flags=bits",
             "--name", "multi-out"])
from lambdalite.function.app import create_app
from lambdalite.function.config import FunctionConfig
import io
app = create_app(FunctionConfig(model_dir=out), stream=io.StringIO())
print(json.dumps({"code": code, "answer": app(request),
                  "tensorflow": sorted(m for m in sys.modules
                                       if m.split(".")[0] in ("tensorflow", "keras")
                                       and sys.modules[m] is not None)}))
"""


def test_converted_and_served_where_tensorflow_cannot_be_imported(
    tflite_files: TfliteFiles, models: Models, tmp_path: Path
) -> None:
    x = np.random.default_rng(1).normal(size=(2, 6)).astype(np.float32)
    proc = subprocess.run(
        [sys.executable, "-c", NO_TENSORFLOW, str(tflite_files.multi_out), str(tmp_path / "out"),
         json.dumps({"inputs": x.tolist(), "top_k": 1})],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == 0 and result["tensorflow"] == []
    want = models("multi_out").keras({"x": x})
    got = result["answer"]["outputs"]
    assert got["flags"] == (want["flags"] > 0.5).astype(int).tolist()
    assert [row[0]["index"] for row in got["probs"]] == want["probs"].argmax(axis=1).tolist()
    np.testing.assert_allclose(np.array(got["embedding"]), want["embedding"], atol=1e-5)
    manifest = Manifest.load(tmp_path / "out")
    assert {o.name: o.kind for o in manifest.outputs} == {
        "embedding": "tensor", "flags": "bits", "probs": "classes"}
