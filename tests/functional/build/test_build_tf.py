"""The full-TensorFlow backend: its plan and model copy (cheap), and the real build that the
zip size check must refuse (slow: pip unpacks ~1.8 GB)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lambdalite.build import package
from lambdalite.build.api import BuildOptions, build, plan
from lambdalite.build.errors import PackageTooLarge
from lambdalite.manifest import Manifest


def test_tf_plan_installs_tensorflow_and_keeps_its_dependencies(tmp_path, mnist_model_dir):
    p = plan(BuildOptions(model_dir=mnist_model_dir, out_dir=tmp_path, backend="tf"))
    assert p.requirements == ("numpy", "pillow", "tensorflow")
    assert "tensorflow" in p.pip_command
    assert {r.name for r in p.rules}.isdisjoint({"unused-deps", "litert-extras"})


def test_tf_package_ships_the_tf_model_not_the_tflite_files(tmp_path: Path, mnist_model_dir):
    manifest = package.copy_model(mnist_model_dir, tmp_path, "int8", "tf")
    tf_model = manifest.model.tf_model
    assert tf_model and (tmp_path / "model" / tf_model / "saved_model.pb").exists()
    assert not list((tmp_path / "model").glob("*.tflite"))
    assert Manifest.load(tmp_path / "model").default_variant == "int8"


@pytest.mark.slow
@pytest.mark.tf
def test_tensorflow_as_a_zip_fails_the_size_check(tmp_path: Path, mnist_model_dir):
    with pytest.raises(PackageTooLarge, match=r"unzipped package is \d+\.\d MB, over Lambda's "
                                              r"250\.0 MB limit.*--package image") as err:
        # The host's runtime: pip reuses the TensorFlow wheel `make test` already downloaded.
        build(BuildOptions(model_dir=mnist_model_dir, out_dir=tmp_path, backend="tf",
                           runtime=f"python{sys.version_info.major}.{sys.version_info.minor}"))
    assert err.value.exit_code == 5
    assert not (tmp_path / "x86_64" / "function.zip").exists()
