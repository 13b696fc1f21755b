"""XNNPACK's weight cache: used through LiteRT's CompiledModel only when its sidecar matches this
variant, this file, this ai-edge-litert and this CPU; a cache built on another CPU, for another
model or variant, or truncated is ignored with a log line and the Interpreter answers (real
LiteRT, a real cache built by the module the build runs)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lambdalite.function.app import create_app
from lambdalite.function.backends import weight_cache as wc
from lambdalite.function.config import FunctionConfig
from lambdalite.manifest import Manifest

from .conftest import MNIST_MODEL

pytest.importorskip("ai_edge_litert.compiled_model", reason="CompiledModel: ai-edge-litert 2.x")


@pytest.fixture(scope="session")
def cached_dir(tmp_path_factory) -> Path:
    """The MNIST float32 variant alone, with the cache and sidecar the build would write."""
    folder = tmp_path_factory.mktemp("cached") / "model"
    folder.mkdir()
    manifest = Manifest.load(MNIST_MODEL)
    variant = manifest.variant("float32")
    shutil.copyfile(MNIST_MODEL / variant.file, folder / variant.file)
    manifest._replace(variants={"float32": variant}, default_variant="float32",
            model=manifest.model._replace(tf_model=None), evaluation_set=None).save(folder)
    subprocess.run([sys.executable, "-m", "lambdalite.function.backends.weight_cache",
                    str(folder)], check=True, capture_output=True, timeout=300)
    return folder


@pytest.fixture
def model_dir(cached_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(cached_dir, tmp_path / "model"))


def _app(model_dir: Path):
    out = io.StringIO()
    app = create_app(FunctionConfig(model_dir=model_dir, num_threads=1), stream=out)
    return app, [json.loads(line) for line in out.getvalue().splitlines()]


def _edit_sidecar(model_dir: Path, **changes: object) -> None:
    path = Path(wc.sidecar_path(model_dir / "float32.tflite"))
    facts = wc.CacheFacts.from_json(path.read_text())
    path.write_text(facts._replace(**changes).to_json())  # type: ignore[arg-type]


def _digits(served) -> np.ndarray:
    from PIL import Image

    rows = [np.asarray(Image.open(io.BytesIO(s.data)).convert("L").resize((28, 28)), np.float32)
            for s in served.samples[:3]]
    return (np.stack(rows) / np.float32(255.0))[..., None]


def test_a_matching_cache_is_used_and_answers_as_the_interpreter_does(model_dir, served):
    app, logs = _app(model_dir)
    init = next(r for r in logs if r["message"] == "init")
    assert init["api"] == "CompiledModel" and init["weight_cache"].startswith("used")
    plain, _ = _app(MNIST_MODEL)
    batch = {"image": _digits(served)}       # 3 rows through a batch-1 compiled model
    got, want = app.backend.predict(batch), plain.backend.predict(batch)
    assert got.keys() == want.keys() and got["output_0"].shape == (3, 10)
    np.testing.assert_array_equal(got["output_0"], want["output_0"])
    sample = served.samples[0]
    assert app({"image": sample.b64}, None) == {"predicted_label": sample.label}


@pytest.mark.parametrize(("case", "reason"), [
    ("another CPU", "built on another CPU (x86_64; this x86_64 lacks nothing and adds avx2)"),
    ("another variant", "built for another model or variant (int8"),
    ("another model", "built for another model or variant (float32 000000000000"),
    ("truncated", "the cache file has 4096 bytes"),
    ("another runtime", "built by ai-edge-litert 0.0.1"),
])
def test_a_cache_that_does_not_match_is_ignored_with_a_log_line(model_dir, served, case,
                                                                 reason):
    model = model_dir / "float32.tflite"
    facts = wc.CacheFacts.from_json(Path(wc.sidecar_path(model)).read_text())
    if case == "another CPU":
        _edit_sidecar(model_dir, cpu_flags=tuple(f for f in facts.cpu_flags if f != "avx2"))
    elif case == "another variant":
        _edit_sidecar(model_dir, variant="int8")
    elif case == "another model":
        _edit_sidecar(model_dir, model_sha256="0" * 64)
    elif case == "truncated":
        with open(wc.cache_path(model), "r+b") as f:
            f.truncate(4096)
    else:
        _edit_sidecar(model_dir, litert_version="0.0.1")
    app, logs = _app(model_dir)
    warning = next(r for r in logs if r["level"] == "WARNING")
    assert warning["message"].startswith("XNNPACK weight cache not used")
    assert reason in warning["reason"]
    init = next(r for r in logs if r["message"] == "init")
    assert "api" not in init and init["weight_cache"].startswith("ignored: ")
    assert init["xnnpack"] is True                      # the Interpreter, XNNPACK as always
    sample = served.samples[0]
    assert app({"image": sample.b64}, None) == {"predicted_label": sample.label}


def test_a_sidecar_that_cannot_be_read_is_ignored(model_dir, served):
    Path(wc.sidecar_path(model_dir / "float32.tflite")).write_text("{not json")
    app, logs = _app(model_dir)
    assert "JSONDecodeError" in next(r for r in logs if r["level"] == "WARNING")["reason"]
    assert app({"image": served.samples[0].b64}, None) == {
        "predicted_label": served.samples[0].label}


def test_cpu_flags_come_from_the_isa_lines_of_cpuinfo():
    x86 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f ht fma\n"
    assert wc.cpu_flags(x86, "x86_64") == ("avx2", "avx512f", "fma", "sse2")
    arm = "processor\t: 0\nFeatures\t: fp asimd sve i8mm\n"
    assert wc.cpu_flags(arm, "aarch64") == ("asimd", "fp", "i8mm", "sve")
    assert wc.cpu_flags("", "x86_64") == ()
