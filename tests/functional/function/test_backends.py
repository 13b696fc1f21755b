"""LiteRT and TensorFlow agree; quantized variants answer like float32; both batching paths agree."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lambdalite.function.config import BackendName
from lambdalite.manifest import Manifest


def labels(app, samples):
    return [
        p["predicted_label"] for p in app({"images": [s.b64 for s in samples]}, None)["predictions"]
    ]


def test_quantized_variants_agree_with_float32(make_app, served):
    variants = Manifest.load(served.model_dir).variants
    expected = [s.label for s in served.samples]
    ref = labels(make_app(variant="float32"), served.samples)
    assert ref == expected
    for name in variants:
        app = make_app(variant=name)
        assert labels(app, served.samples) == ref, name
        out = app({"image": served.samples[0].b64, "top_k": 1}, None)
        # Dequantized: a probability, not a raw int8 code.
        assert 0.0 < out["top_k"][0]["probability"] <= 1.0, name


@pytest.mark.tf
def test_fixed_batch_model_loops(tiny_dirs):
    import base64
    import io
    import sys
    from pathlib import Path

    from PIL import Image

    from lambdalite.function.app import create_app
    from lambdalite.function.config import FunctionConfig

    sys.path.insert(0, str(Path(__file__).parent))
    from tiny_model import band_image

    dynamic_dir, fixed_dir = tiny_dirs
    images = []
    for k in range(10):
        buf = io.BytesIO()
        Image.fromarray(band_image(k)).save(buf, "PNG")
        images.append(base64.b64encode(buf.getvalue()).decode())
    results = {}
    for name, folder in (("resize", dynamic_dir), ("loop", fixed_dir)):
        app = create_app(FunctionConfig(model_dir=folder), stream=io.StringIO())
        assert app.backend.describe()["batching"] == name
        results[name] = app({"images": images, "top_k": 1}, None)["predictions"]
    assert [p["predicted_label"] for p in results["loop"]] == list(range(10))
    for a, b in zip(results["resize"], results["loop"], strict=True):
        assert a["top_k"][0]["probability"] == pytest.approx(b["top_k"][0]["probability"], abs=1e-5)


@pytest.mark.tf
def test_tensorflow_backend_agrees_with_litert(make_app, served, load_event):
    litert = make_app()
    tf_app = make_app(backend=BackendName.TF)
    assert tf_app.backend.name == "tf"
    assert (
        labels(tf_app, served.samples)
        == labels(litert, served.samples)
        == [s.label for s in served.samples]
    )
    a = litert({"images": [s.b64 for s in served.samples], "top_k": 3}, None)["predictions"]
    b = tf_app({"images": [s.b64 for s in served.samples], "top_k": 3}, None)["predictions"]
    pa = np.array([[r["probability"] for r in p["top_k"]] for p in a])
    pb = np.array([[r["probability"] for r in p["top_k"]] for p in b])
    assert np.allclose(pa, pb, atol=1e-3)
    # Same HTTP contract from the TF backend.
    out = tf_app(load_event("apigw_rest_v1.json", body=served.samples[0].b64), None)
    assert json.loads(out["body"]) == {"predicted_label": served.samples[0].label}


@pytest.mark.tf
def test_tensorflow_backend_reads_keras_files(tmp_path, served):
    import io
    import shutil

    from lambdalite.function.app import create_app
    from lambdalite.function.config import FunctionConfig

    manifest = Manifest.load(served.model_dir)
    keras_files = sorted(served.model_dir.glob("*.keras"))
    if not keras_files:
        pytest.skip(f"{served.model_dir} has no .keras file")
    for f in served.model_dir.iterdir():
        if f.is_file():
            shutil.copy(f, tmp_path / f.name)

    manifest._replace(model=manifest.model._replace(tf_model=keras_files[0].name)).save(tmp_path)
    app = create_app(
        FunctionConfig(model_dir=tmp_path, backend=BackendName.TF), stream=io.StringIO()
    )
    assert app.backend.describe()["format"] == "keras"
    assert labels(app, served.samples) == [s.label for s in served.samples]
