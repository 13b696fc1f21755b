"""Real zip builds: checks pass, the slimmed task root imports and answers correctly."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest

from lambdalite.bundle import elfcheck
from lambdalite.bundle.api import BuildResult
from lambdalite.bundle.slim import find_interpreter
from lambdalite.lambda_facts import ZIP_UNZIPPED_LIMIT
from lambdalite.manifest import Manifest


def _version(task_root: Path, dist_glob: str) -> str:
    (info,) = task_root.glob(dist_glob)
    return HeaderParser().parsestr((info / "METADATA").read_text())["Version"]


def test_python311_x86_build_passes_every_check(zip_311_x86: BuildResult):
    r = zip_311_x86
    assert r.warnings == () and r.glibc_available == "2.26"
    assert r.glibc_needed is not None
    assert tuple(map(int, r.glibc_needed.split("."))) <= (2, 26)
    assert r.zip_path is not None and r.zip_path == r.task_root.parent / "function.zip"
    assert r.zipped_bytes == r.zip_path.stat().st_size < r.unzipped_bytes < ZIP_UNZIPPED_LIMIT
    with zipfile.ZipFile(r.zip_path) as zf:
        assert len(zf.namelist()) == r.files
    infos = list(elfcheck.scan(r.task_root))
    assert infos and {i.machine for i in infos} == {"EM_X86_64"}


def test_python311_gets_ai_edge_litert_1x_and_python312_gets_2x(zip_311_x86, image_312_arm64):
    assert _version(zip_311_x86.task_root, "ai_edge_litert-*.dist-info").startswith("1.")
    assert _version(image_312_arm64.task_root, "ai_edge_litert-*.dist-info").startswith("2.")
    lock = zip_311_x86.lock_path.read_text().splitlines()
    assert f"ai-edge-litert=={_version(zip_311_x86.task_root, 'ai_edge_litert-*.dist-info')}" \
        in lock
    assert any(line.startswith("numpy==") for line in lock)
    assert zip_311_x86.picked == ()  # pip's newest for the tags already fits: no stepping
    assert image_312_arm64.picked and "-> picked" in image_312_arm64.picked[0]


def test_task_root_holds_function_code_and_one_variant(zip_311_x86: BuildResult):
    root = zip_311_x86.task_root
    assert (root / "lambdalite/function/handler.py").exists()
    assert not (root / "lambdalite/bundle").exists() and not (root / "lambdalite/cli.py").exists()
    manifest = Manifest.load(root / "model")
    assert list(manifest.variants) == [manifest.default_variant]
    assert sorted(p.name for p in (root / "model").iterdir()) == [
        manifest.variant().file, "manifest.json"]


def test_slimming_removed_what_the_rules_say_and_kept_bundled_libs(zip_311_x86: BuildResult):
    root = zip_311_x86.task_root
    assert not list(root.rglob("tests")) and not list(root.rglob("*.pyi"))
    assert not list(root.rglob("*.h")) and not (root / "tqdm").exists()
    assert list((root / "numpy.libs").iterdir()) and list((root / "pillow.libs").iterdir())
    slimmed = {rule: size for rule, _, size in zip_311_x86.slimmed}
    assert slimmed["tests"] > 0 and slimmed["litert-extras"] > 0
    tag = f"cpython-{zip_311_x86.options.runtime.replace('python', '').replace('.', '')}"
    assert list(root.glob(f"numpy/__pycache__/__init__.{tag}.pyc"))
    summary = json.loads((zip_311_x86.task_root.parent / "build.json").read_text())
    assert summary["unzipped_bytes"] == zip_311_x86.unzipped_bytes


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="needs a python3.11 host")
def test_slimmed_python311_package_runs_isolated(zip_311_x86: BuildResult, mnist_event,
                                                 run_isolated):
    _, label = mnist_event
    out = run_isolated(sys.executable, zip_311_x86.task_root)
    assert out["response"]["statusCode"] == 200
    assert json.loads(out["response"]["body"]) == {"predicted_label": label}
    assert out["numpy"].startswith(str(zip_311_x86.task_root))
    assert not {"tqdm", "google", "ml_dtypes", "flatbuffers"} & set(out["modules"])


def test_slimmed_python312_package_runs_isolated(zip_312_x86: BuildResult, mnist_event,
                                                 run_isolated):
    """ai-edge-litert 2.x and its slim rules (protobuf/ml_dtypes dropped) under python3.12."""
    _, label = mnist_event
    python = find_interpreter("3.12")
    assert python is not None
    out = run_isolated(python, zip_312_x86.task_root)
    assert json.loads(out["response"]["body"]) == {"predicted_label": label}
    assert _version(zip_312_x86.task_root, "ai_edge_litert-*.dist-info").startswith("2.")


def _assert_fits_amazon_linux_2023(result: BuildResult, machine: str) -> None:
    """Every ELF file is for ``machine``; glibc <= 2.34 and GLIBCXX <= 3.4.29 (GCC 11.2)."""
    infos = list(elfcheck.scan(result.task_root))
    assert len(infos) > 10 and {i.machine for i in infos} == {machine}
    worst = elfcheck.highest_glibc(infos)
    assert worst is not None and worst.glibc is not None and worst.glibc <= (2, 34)
    assert result.glibc_needed == worst.glibc_str and result.glibc_available == "2.34"
    cxx = elfcheck.highest_libstdcxx(infos)  # LiteRT and numpy link the system libstdc++
    assert cxx is not None and cxx.glibcxx is not None and (3, 4, 19) <= cxx.glibcxx <= (3, 4, 29)
    assert result.libstdcxx_needed == cxx.glibcxx_str
    assert result.libstdcxx_available == "GLIBCXX_3.4.29 (GCC 11.2)"


def test_python312_x86_package_is_all_x86_64_within_amazon_linux_2023(zip_312_x86: BuildResult):
    _assert_fits_amazon_linux_2023(zip_312_x86, "EM_X86_64")


def test_python311_build_runs_in_the_local_lambda_engine(zip_311_x86: BuildResult, mnist_event):
    from lambdalite.local.engine import LocalLambda
    from lambdalite.local.engine_types import FunctionSpec

    event, label = mnist_event
    spec = FunctionSpec(name="Fn", handler=zip_311_x86.handler, code_dir=zip_311_x86.task_root,
                        runtime="python3.11", memory_mb=1024, timeout_s=60)
    with LocalLambda({"Fn": spec}) as engine:
        result = engine.invoke("Fn", json.dumps(event).encode())
    response = json.loads(result.payload)
    assert result.function_error is None, result.logs
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"predicted_label": label}


def test_arm64_python312_package_is_all_aarch64_within_glibc_2_34(image_312_arm64: BuildResult):
    _assert_fits_amazon_linux_2023(image_312_arm64, "EM_AARCH64")


def test_python311_x86_package_fits_amazon_linux_2_libstdcxx(zip_311_x86: BuildResult):
    infos = list(elfcheck.scan(zip_311_x86.task_root))
    cxx = elfcheck.highest_libstdcxx(infos)
    assert cxx is not None and cxx.glibcxx is not None and cxx.glibcxx <= (3, 4, 24)
    assert zip_311_x86.libstdcxx_needed == cxx.glibcxx_str


def test_repo_function_code_is_what_got_shipped(zip_311_x86: BuildResult, repo_root: Path):
    shipped = zip_311_x86.task_root / "lambdalite/function/app.py"
    assert shipped.read_bytes() == (repo_root / "lambdalite/function/app.py").read_bytes()


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="needs a python3.11 host")
def test_an_extra_requirement_survives_slimming_and_imports(tmp_path: Path, mnist_model_dir):
    """tqdm is what ai-edge-litert 1.x pulls in and `unused-deps` drops; asked for, it stays."""
    import subprocess

    from lambdalite.bundle.api import PackageOptions, build_package

    r = build_package(PackageOptions(model_dir=mnist_model_dir, out_dir=tmp_path, runtime="python3.11",
                           arch="x86_64", extra_requirements=("tqdm",)))
    assert any(pin.startswith("tqdm==") for pin in r.installed)
    assert (r.task_root / "tqdm").is_dir() and list(r.task_root.glob("tqdm-*.dist-info"))
    assert not (r.task_root / "flatbuffers").exists()  # the rule still drops what nobody asked
    assert any(n.startswith("kept for --extra-requirement") and "tqdm" in n for n in r.notes)
    code = "import sys; sys.path[:0] = [sys.argv[1]]; import tqdm; print(tqdm.__file__)"
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(r.task_root)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-1000:]
    assert proc.stdout.strip().startswith(str(r.task_root / "tqdm"))


def test_the_api_build_writes_a_template_that_local_lambda_runs(built_311_x86, mnist_event):
    """lambdalite.build -> OUT/template.yaml -> LocalLambda.from_template, as the README's
    Python example goes; progress reached the total it announced."""
    import lambdalite
    from lambdalite.bundle.api import STEPS

    outcome, seen = built_311_x86
    assert outcome.failure() is None and outcome.template is not None
    assert seen[-1] == (STEPS, STEPS)
    event, label = mnist_event
    with lambdalite.LocalLambda.from_template(outcome.template) as engine:
        result = engine.invoke("InferenceFunction", json.dumps(event).encode())
    assert result.function_error is None, result.logs
    assert json.loads(json.loads(result.payload)["body"]) == {"predicted_label": label}


RUN_EVERY_FORMAT = """
import json, sys
sys.path[:0] = [sys.argv[1]]
from lambdalite.function.handler import lambda_handler
print(json.dumps([lambda_handler(e, None) for e in json.load(open(sys.argv[2]))]))
"""


def test_slimmed_python312_package_decodes_every_format_it_accepts_and_tensors(
        zip_312_x86: BuildResult, mnist_event, tmp_path: Path):
    """The Pillow and numpy rules (AVIF, the font stack, Tk, numpy.ma/fft/polynomial gone, and
    the pillow.libs only they linked): every format of decode.FORMATS still decodes from the
    slimmed task root, in an interpreter that sees nothing else, and so do tensors."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    from lambdalite.function.decode import FORMATS

    root = zip_312_x86.task_root
    slimmed = {rule: size for rule, _, size in zip_312_x86.slimmed}
    assert slimmed["pillow-unused"] > 0 and slimmed["numpy-unused"] > 0
    assert not list(root.glob("pillow.libs/libavif*")) and not list(root.glob("PIL/_avif*"))
    assert list(root.glob("pillow.libs/libjpeg*")) and list(root.glob("pillow.libs/libwebp-*"))
    event, label = mnist_event
    digit = Image.open(io.BytesIO(base64.b64decode(event["body"])))
    events = []
    for fmt in FORMATS:
        buf = io.BytesIO()
        digit.convert("L" if fmt != "WEBP" else "RGB").save(
            buf, format=fmt, **({"lossless": True} if fmt == "WEBP" else {}))
        events.append({"image": base64.b64encode(buf.getvalue()).decode()})
    pixels = np.asarray(digit.convert("L"), dtype=np.float32)[None, :, :, None] / 255.0
    events.append({"inputs": pixels.tolist()})
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events))
    python = find_interpreter("3.12")
    assert python is not None
    proc = subprocess.run([python, "-I", "-S", "-c", RUN_EVERY_FORMAT, str(root), str(path)],
                          capture_output=True, text=True, timeout=120,
                          env={"LAMBDA_TASK_ROOT": str(root), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    answers = json.loads(proc.stdout.strip().splitlines()[-1])
    for what, answer in zip([*FORMATS, "tensor"], answers, strict=True):
        assert "errorType" not in answer, (what, answer)
    assert [a.get("predicted_label") for a in answers[:len(FORMATS)]] == [label] * len(FORMATS)
