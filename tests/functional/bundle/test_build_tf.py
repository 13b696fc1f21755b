"""The full-TensorFlow backend: its plan and model copy (cheap), the real build that the
zip size check must refuse, and the slimmed image task root answering in the local engine
(slow: pip unpacks ~1.8 GB; the deps cache keeps the installed tree, so TF installs once)."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdalite import envvars
from lambdalite.bundle import package
from lambdalite.bundle.api import BuildResult, PackageOptions, build_package, plan
from lambdalite.bundle.errors import PackageTooLarge
from lambdalite.manifest import Manifest

# The host's runtime: pip reuses the TensorFlow wheel `make test` already downloaded, and the
# task root runs here under the same Python (compiled wheels).
HOST_RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"


def test_tf_plan_installs_tensorflow_and_keeps_its_dependencies(tmp_path, mnist_model_dir):
    p = plan(PackageOptions(model_dir=mnist_model_dir, out_dir=tmp_path, backend="tf"))
    assert p.requirements == ("numpy", "pillow", "tensorflow")
    assert "tensorflow" in p.pip_command
    assert {r.name for r in p.rules}.isdisjoint({"unused-deps", "litert-extras"})


def test_tf_package_ships_the_tf_model_not_the_tflite_files(tmp_path: Path, mnist_model_dir):
    manifest = package.copy_model(mnist_model_dir, tmp_path, "int8", "tf")
    tf_model = manifest.model.tf_model
    assert tf_model and (tmp_path / "model" / tf_model / "saved_model.pb").exists()
    assert not list((tmp_path / "model").glob("*.tflite"))
    assert Manifest.load(tmp_path / "model").default_variant == "int8"


@pytest.fixture(scope="module")
def tf_image(tmp_path_factory: pytest.TempPathFactory, mnist_model_dir: Path
             ) -> Iterator[BuildResult]:
    """One TF image build; the zip size-check test reuses its installed dependencies through
    the deps cache (lambdalite/bundle/install.py), so pip unpacks TensorFlow once. Its 1.9 GB
    go when the module ends, not with the session, to keep the suite's disk peak down."""
    out = tmp_path_factory.mktemp("tf")
    yield build_package(PackageOptions(model_dir=mnist_model_dir, out_dir=out, backend="tf",
                                       runtime=HOST_RUNTIME, package_type="image"))
    shutil.rmtree(out, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.tf
def test_slimmed_tf_image_task_root_answers_in_the_local_engine(tf_image: BuildResult,
                                                                mnist_event):
    from lambdalite.local.engine import LocalLambda
    from lambdalite.local.engine_types import FunctionSpec

    root = tf_image.task_root
    assert tf_image.context_dir is not None and root == tf_image.context_dir / "task"
    slimmed = {rule: size for rule, _, size in tf_image.slimmed}
    assert slimmed["tests"] > 0 and slimmed["headers"] > 0 and slimmed["stubs"] > 0
    assert not list(root.rglob("tests")) and not (root / "bin").exists()
    assert not list(root.rglob("*.h")) and not list(root.rglob("*.pyi"))
    tf_model = Manifest.load(root / "model").model.tf_model
    assert tf_model and (root / "model" / tf_model / "saved_model.pb").exists()
    assert not list((root / "model").glob("*.tflite"))

    event, label = mnist_event
    # The template the CLI writes sets the backend as a function variable (bundle/jobs.py).
    spec = FunctionSpec(name="Fn", handler=tf_image.handler, code_dir=root,
                        runtime=HOST_RUNTIME, memory_mb=3008, timeout_s=60,
                        environment={envvars.BACKEND: "tf"})
    with LocalLambda({"Fn": spec}) as engine:
        result = engine.invoke("Fn", json.dumps(event).encode())
    assert result.function_error is None, result.logs
    response = json.loads(result.payload)
    assert response["statusCode"] == 200, response
    assert json.loads(response["body"]) == {"predicted_label": label}
    # Served by TensorFlow (the function's init log line), not by LiteRT.
    assert result.cold and '"backend":"tf"' in result.logs and '"tensorflow":"' in result.logs


@pytest.mark.slow
@pytest.mark.tf
def test_tensorflow_as_a_zip_fails_the_size_check(tmp_path: Path, mnist_model_dir):
    with pytest.raises(PackageTooLarge, match=r"unzipped package is \d+\.\d MB \(model \d+\.\d MB, "
                                              r"dependencies and function code \d+\.\d MB\), "
                                              r"over Lambda's 250\.0 MB limit.*--package image"
                       ) as err:
        build_package(PackageOptions(model_dir=mnist_model_dir, out_dir=tmp_path, backend="tf",
                           runtime=HOST_RUNTIME))
    assert err.value.exit_code == 5
    assert not (tmp_path / "x86_64" / "function.zip").exists()
