"""``build --backend onnxruntime``: the release picked for the runtime's glibc (1.16.3 with
NumPy 1.x on Amazon Linux 2, the newest on 2023), checked like LiteRT (ELF machine, glibc,
libstdc++, size), slimmed of what inference never imports, and run isolated from this venv."""

from __future__ import annotations

import json
import sys
from email.parser import HeaderParser
from pathlib import Path

import pytest

import lambdalite
from lambdalite.bundle import elfcheck
from lambdalite.bundle.api import BuildResult, PackageOptions, build_package, plan
from lambdalite.bundle.builds import BuildOutcome
from lambdalite.bundle.slim import find_interpreter
from lambdalite.errors import ModelError
from lambdalite.manifest import Manifest

pytestmark = [pytest.mark.tf, pytest.mark.timeout(900)]
# What onnxruntime requires and InferenceSession never imports (slim rule onnxruntime-unused-deps).
NEVER_IMPORTED = {"sympy", "mpmath", "coloredlogs", "humanfriendly", "google", "flatbuffers",
                  "packaging"}


def _version(task_root: Path, dist_glob: str) -> str:
    (info,) = task_root.glob(dist_glob)
    return HeaderParser().parsestr((info / "METADATA").read_text())["Version"]


def _build(model_dir: Path, out: Path, runtime: str, variant: str | None = None) -> BuildResult:
    return build_package(PackageOptions(model_dir=model_dir, out_dir=out, runtime=runtime,
                                        arch="x86_64", backend="onnxruntime", variant=variant))


@pytest.fixture(scope="module")
def zip_311(mnist_onnx_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    return _build(mnist_onnx_dir, tmp_path_factory.mktemp("ort-311"), "python3.11", "dynamic")


@pytest.fixture(scope="module")
def built_312(mnist_onnx_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> BuildOutcome:
    """The public path (``lambdalite.build``, with its template)."""
    if find_interpreter("3.12") is None:
        pytest.skip("no python3.12 on this machine to run a python3.12 build")
    return lambdalite.build(lambdalite.BuildOptions(
        model_dir=mnist_onnx_dir, out_dir=tmp_path_factory.mktemp("ort-312"),
        runtime="python3.12", archs=("x86_64",), backend="onnxruntime"))


def test_amazon_linux_2_gets_onnxruntime_1_16_and_numpy_1(zip_311: BuildResult) -> None:
    root = zip_311.task_root
    assert _version(root, "onnxruntime-*.dist-info") == "1.16.3"
    assert _version(root, "numpy-*.dist-info").startswith("1.")
    infos = list(elfcheck.scan(root))
    worst = elfcheck.highest_glibc(infos)
    assert worst is not None and worst.glibc is not None and worst.glibc <= (2, 26)
    cxx = elfcheck.highest_libstdcxx(infos)
    assert cxx is not None and cxx.glibcxx is not None and cxx.glibcxx <= (3, 4, 24)
    assert zip_311.glibc_available == "2.26"
    # only the ONNX file the function serves, under its own name, as the manifest says
    manifest = Manifest.load(root / "model")
    assert list(manifest.variants) == ["onnx_dynamic"]
    assert sorted(p.name for p in (root / "model").iterdir()) == ["manifest.json",
                                                                  "model_dynamic.onnx"]
    slimmed = {rule: size for rule, _, size in zip_311.slimmed}
    assert slimmed["onnxruntime-unused-deps"] > 10_000_000  # sympy alone is most of it
    assert not (root / "sympy").exists() and not (root / "onnxruntime" / "transformers").exists()


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="needs a python3.11 host")
def test_the_slimmed_python311_package_answers_isolated(zip_311: BuildResult, mnist_event,
                                                        run_isolated) -> None:
    _, label = mnist_event
    out = run_isolated(sys.executable, zip_311.task_root)
    assert json.loads(out["response"]["body"]) == {"predicted_label": label}
    assert "onnxruntime" in out["modules"] and "ai_edge_litert" not in out["modules"]
    assert not NEVER_IMPORTED & set(out["modules"])


def test_amazon_linux_2023_gets_the_newest_and_answers_isolated(built_312: BuildOutcome,
                                                                mnist_event, run_isolated) -> None:
    zip_312 = built_312.result("x86_64")
    root = zip_312.task_root
    major, minor = (int(x) for x in _version(root, "onnxruntime-*.dist-info").split(".")[:2])
    assert (1, 17) <= (major, minor) < (1, 33)
    assert zip_312.glibc_available == "2.34" and zip_312.unzipped_bytes < 250 * 1024 * 1024
    python = find_interpreter("3.12")
    assert python is not None
    _, label = mnist_event
    out = run_isolated(python, root)
    assert json.loads(out["response"]["body"]) == {"predicted_label": label}
    assert not NEVER_IMPORTED & set(out["modules"])
    assert built_312.template is not None and built_312.lint == ()
    assert "LAMBDALITE_BACKEND: onnxruntime" in built_312.template.read_text()


def test_a_variant_the_backend_cannot_run_is_refused_before_pip(mnist_onnx_dir: Path,
                                                                mnist_model_dir: Path,
                                                                tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="onnx_float32 is a .onnx file.*not litert"):
        plan(PackageOptions(model_dir=mnist_onnx_dir, out_dir=tmp_path, variant="onnx_float32"))
    with pytest.raises(ModelError, match="convert the model with .*--onnx"):
        plan(PackageOptions(model_dir=mnist_model_dir, out_dir=tmp_path, backend="onnxruntime"))
