"""The checks catch real failures: a wheel that lies about its glibc, a runtime no LiteRT
wheel fits, releases stepped down until one fits, and the image flow without a Docker engine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lambdalite.bundle import elfcheck, image, install, resolve
from lambdalite.bundle.api import BuildResult, PackageOptions, build_package
from lambdalite.bundle.errors import GlibcTooNew, LibstdcxxTooNew, PackageTooLarge
from lambdalite.bundle.targets import Target
from lambdalite.lambda_facts import ZIP_UNZIPPED_LIMIT


def test_tflite_runtime_2_14_fails_the_glibc_check_on_python311(tmp_path: Path):
    """Its wheel says manylinux2014 (glibc 2.17); its extension needs GLIBC_2.29."""
    target = Target.of("python3.11", "x86_64")
    install.install(tmp_path, ["tflite-runtime==2.14.0"], target)
    installed = resolve.read_installed(tmp_path)
    assert any("manylinux2014" in t for t in installed["tflite-runtime"].wheel_tags)
    resolve.verify(installed, ("tflite-runtime",), target)  # the tag check alone passes
    infos = list(elfcheck.scan(tmp_path))
    with pytest.raises(GlibcTooNew) as err:
        elfcheck.check_glibc(infos, target, resolve.owner_of(installed))
    msg = err.value.message
    assert msg.startswith("tflite_runtime/") and "needs GLIBC_2.29" in msg
    assert "python3.11 (Amazon Linux 2) has glibc 2.26" in msg
    assert "older tflite-runtime release" in msg and "--runtime python3.12" in msg
    assert "--package image" not in msg  # an image has the same glibc (verified: it fails too)
    assert err.value.exit_code == 5


# python3.11 arm64 (no ai-edge-litert release fits): tests/e2e/test_build_cli.py, through
# `build --arch all`, which also checks that x86_64 still builds.


def test_python312_arm64_zip_steps_down_to_a_release_that_fits(
        tmp_path: Path, mnist_model_dir: Path):
    """A real finding: ai-edge-litert 2.1.1+ aarch64 needs GLIBCXX_3.4.30 (GCC 12); Amazon
    Linux 2023 has GCC 11's libstdc++. The build picks an older release by itself."""
    r = build_package(PackageOptions(model_dir=mnist_model_dir, out_dir=tmp_path, runtime="python3.12",
                           arch="arm64"))
    (note,) = r.picked
    assert note.startswith("ai-edge-litert 2.3.0") and "needs GLIBCXX_3.4.3" in note
    assert "python3.12 arm64 (Amazon Linux 2023) has GLIBCXX_3.4.29 -> picked " in note
    picked = note.rsplit(" ", 1)[1]
    assert f"ai-edge-litert=={picked}" in r.installed and r.unzipped_bytes < ZIP_UNZIPPED_LIMIT
    assert r.libstdcxx_needed is not None and r.libstdcxx_needed <= "GLIBCXX_3.4.29"
    assert f"# stepped down to fit: {note}" in r.lock_path.read_text().splitlines()
    assert json.loads((r.task_root.parent / "build.json").read_text())["picked"] == [note]


def test_when_only_size_stands_in_the_way_the_error_says_use_image(
        tmp_path: Path, mnist_model_dir: Path):
    """The user excludes the small release that fits (not a pin: stepping still runs): 2.0.x
    fit the libraries but are 288 MB unzipped by themselves."""
    with pytest.raises(PackageTooLarge) as err:
        build_package(PackageOptions(model_dir=mnist_model_dir, out_dir=tmp_path, runtime="python3.12",
                           arch="arm64", extra_requirements=("ai-edge-litert>=2,!=2.1.0",)))
    msg = err.value.message
    assert msg.startswith("no ai-edge-litert release fits python3.12 arm64 (glibc 2.34): 2.3.0")
    assert "2.1.0 has no wheel for python3.12 arm64 (glibc 2.34) that meets " in msg
    assert re.search(r"2\.0\.3, 2\.0\.2 is \d+\.\d MB unzipped by itself, over the 250\.0 MB "
                     r"zip limit", msg)
    assert "Fix: use --package image (10 GB limit)" in msg


def test_a_pinned_release_is_never_stepped(tmp_path: Path, mnist_model_dir: Path):
    with pytest.raises(LibstdcxxTooNew, match=r"ai_edge_litert/.*needs GLIBCXX_3\.4\.3\d") as err:
        build_package(PackageOptions(model_dir=mnist_model_dir, out_dir=tmp_path, runtime="python3.12",
                           arch="arm64", extra_requirements=("ai-edge-litert==2.3.0",)))
    msg = err.value.message
    assert "python3.12 (Amazon Linux 2023) has the libstdc++ of GCC 11.2" in msg
    assert "--extra-requirement 'ai-edge-litert==<version>'" in msg and err.value.exit_code == 5


def test_image_context_lints_parses_and_runs(image_311_x86: BuildResult, mnist_event):
    from lambdalite.local.engine import LocalLambda
    from lambdalite.local.engine_types import FunctionSpec

    ctx = image_311_x86.context_dir
    assert ctx is not None and image_311_x86.zip_path is None
    assert ctx.name == "image-x86_64" and image_311_x86.task_root == ctx / "task"
    dockerfile = ctx / "Dockerfile"
    assert image.hadolint(dockerfile) == []
    steps = image.parse_dockerfile(dockerfile.read_text())
    assert [s.keyword for s in steps] == ["FROM", "COPY", "CMD"]
    assert steps[0].args == "public.ecr.aws/lambda/python:3.11-x86_64"
    assert steps[1].args.split()[0] == "task/" and (ctx / "task").is_dir()
    assert json.loads(steps[2].args) == [image_311_x86.handler]
    assert (ctx / ".dockerignore").read_text().splitlines() == ["*", "!task/"]
    event, label = mnist_event
    spec = FunctionSpec(name="Img", handler=json.loads(steps[2].args)[0], code_dir=ctx / "task",
                        runtime="python3.11", memory_mb=1024, timeout_s=60, package_type="Image")
    with LocalLambda({"Img": spec}) as engine:
        response = json.loads(engine.invoke("Img", json.dumps(event).encode()).payload)
    assert json.loads(response["body"]) == {"predicted_label": label}


def test_hadolint_flags_a_bad_dockerfile(tmp_path: Path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM public.ecr.aws/lambda/python\nCOPY task/ /var/task/\nCMD handler\n")
    findings = image.hadolint(bad)
    assert any("DL3006" in f for f in findings)  # untagged base image
    assert any("DL3025" in f for f in findings)  # CMD not in JSON form
