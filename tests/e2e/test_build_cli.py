"""`lambdalite build | template | deploy` as a user runs them (real processes)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lambdalite.examples import mnist_example

MODEL = mnist_example() / "model"


def lambdalite(*args: str, cwd: Path, env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lambdalite", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=env)


def test_build_dry_run_prints_the_plan_for_each_arch(tmp_path: Path):
    proc = lambdalite("build", "--model-dir", str(MODEL), "--arch", "all", "--runtime",
                      "python3.11", "--dry-run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("\npip ") == 2
    assert "--platform manylinux_2_26_x86_64" in proc.stdout
    assert "--platform manylinux_2_26_aarch64" in proc.stdout
    assert not (tmp_path / "build").exists()


def test_build_dry_run_for_the_writeups_runtime(tmp_path: Path):
    proc = lambdalite("build", "--model-dir", str(MODEL), "--runtime", "python3.9",
                      "--litert-package", "tflite-runtime==2.7.0", "--dry-run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "backend=litert (tflite-runtime==2.7.0)" in proc.stdout
    assert "--python-version 3.9" in proc.stdout
    assert proc.stdout.rstrip().count("numpy<2 pillow tflite-runtime==2.7.0") == 1
    proc = lambdalite("build", "--model-dir", str(MODEL), "--litert-package", "onnxruntime",
                      "--dry-run", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--litert-package 'onnxruntime': the LiteRT interpreter comes from" in proc.stderr


def test_build_dry_run_says_whether_it_ships_an_xnnpack_weight_cache(tmp_path: Path):
    auto = lambdalite("build", "--model-dir", str(MODEL), "--dry-run", cwd=tmp_path)
    assert auto.returncode == 0, auto.stderr
    assert "xnnpack     weight cache off: the model is" in auto.stdout   # MNIST: under 64 MB
    forced = lambdalite("build", "--model-dir", str(MODEL), "--arch", "arm64",
                        "--weight-cache", "--dry-run", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert "weight cache not built: it is built on a CPU of the target's architecture" \
        in forced.stdout or "weight cache built on this aarch64 CPU" in forced.stdout


def test_template_writes_a_sam_template(tmp_path: Path):
    proc = lambdalite("template", "--package", "image", "--arch", "arm64", "--memory", "2048",
                      "--warmup", "rate(5 minutes)", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = yaml.safe_load((tmp_path / "build" / "template.yaml").read_text())
    props = doc["Resources"]["InferenceFunction"]["Properties"]
    assert props["PackageType"] == "Image" and props["MemorySize"] == 2048
    assert doc["Resources"]["InferenceFunction"]["Metadata"]["DockerContext"] == "./image-arm64"


def test_deploy_prints_the_sam_commands_and_talks_to_no_aws(tmp_path: Path):
    assert lambdalite("template", cwd=tmp_path).returncode == 0
    proc = lambdalite("deploy", "--stack-name", "digits", "--print-only", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "nothing was sent to AWS" in proc.stderr
    assert proc.stdout.strip() == (
        "sam deploy --guided --template-file build/template.yaml --capabilities CAPABILITY_IAM "
        "--resolve-s3 --stack-name digits")


def test_deploy_image_builds_first(tmp_path: Path):
    assert lambdalite("template", "--package", "image", cwd=tmp_path).returncode == 0
    lines = lambdalite("deploy", "--print-only", cwd=tmp_path).stdout.splitlines()
    assert lines[0] == "sam build --template-file build/template.yaml"
    assert lines[1].startswith("sam deploy --guided --template-file .aws-sam/build/template.yaml")
    assert lines[1].endswith("--resolve-image-repos")


def test_bad_input_exits_with_a_precise_message(tmp_path: Path):
    proc = lambdalite("deploy", cwd=tmp_path)
    assert proc.returncode == 2 and "run `lambdalite build` first" in proc.stderr
    proc = lambdalite("build", "--model-dir", str(MODEL), "--variant", "int4", "--dry-run",
                      cwd=tmp_path)
    assert proc.returncode == 3 and "variant 'int4' is not in this manifest" in proc.stderr
    proc = lambdalite("build", "--model-dir", str(MODEL), "--package", "image",
                      "--base-image-digest", "latest", "--dry-run", cwd=tmp_path)
    assert proc.returncode == 2 and "sha256:<64 hex digits>" in proc.stderr


def test_template_round_trips_into_build_with_template(tmp_path: Path):
    """`template --model-dir M -o t.yaml` then `build --template t.yaml` plans what
    `build --model-dir M` plans with the same flags."""
    flags = ["--runtime", "python3.11", "--arch", "arm64", "--memory", "2048", "--variant", "int8"]
    proc = lambdalite("template", "--model-dir", str(MODEL), "-o", "t.yaml", *flags, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    from_template = lambdalite("build", "--template", "t.yaml", "--dry-run", cwd=tmp_path)
    from_flags = lambdalite("build", "--model-dir", str(MODEL), "--dry-run", *flags, cwd=tmp_path)
    assert from_template.returncode == 0, from_template.stderr
    assert from_template.stdout == from_flags.stdout and "variant=int8" in from_flags.stdout
    stdout = lambdalite("template", "--model-dir", str(MODEL), "-o", "-", *flags, cwd=tmp_path)
    assert stdout.stdout == (tmp_path / "t.yaml").read_text()
    proc = lambdalite("build", "--template", "t.yaml", "--runtime", "python3.10", cwd=tmp_path)
    assert proc.returncode == 2 and "python3.11" in proc.stderr


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--warmup", "every 5 min", 'a schedule is "rate(5 minutes)" or "cron('),
    ("--name", "bad-name", "a logical id has letters and digits only"),
    ("--api-path", "classify", "an API path starts with /"),
])
def test_template_flags_cloudformation_rejects_are_usage_errors(tmp_path: Path, flag, value,
                                                                message):
    proc = lambdalite("template", flag, value, cwd=tmp_path)
    assert proc.returncode == 2 and f"Invalid value for '{flag}': '{value}': {message}" \
        in proc.stderr
    assert not (tmp_path / "build").exists()


def test_base_image_digest_per_arch(tmp_path: Path):
    x86, arm = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    base = ["build", "--model-dir", str(MODEL), "--runtime", "python3.11", "--dry-run"]
    proc = lambdalite(*base, "--package", "image", "--arch", "all", "--base-image-digest",
                      f"x86_64={x86}", "--base-image-digest", f"arm64={arm}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert re.findall(r"^FROM +(\S+)$", proc.stdout, re.M) == [
        f"public.ecr.aws/lambda/python:3.11-x86_64@{x86}",
        f"public.ecr.aws/lambda/python:3.11-arm64@{arm}"]
    proc = lambdalite(*base, "--package", "image", "--arch", "all", "--base-image-digest", x86,
                      cwd=tmp_path)
    assert proc.returncode == 2 and "differs per architecture; pass --base-image-digest " \
        "arm64=sha256:... --base-image-digest x86_64=sha256:..." in proc.stderr
    proc = lambdalite(*base, "--base-image-digest", x86, cwd=tmp_path)   # a zip
    assert proc.returncode == 2 and "builds a zip: pass --package image or drop" in proc.stderr


def _fake_sam(tmp_path: Path, fail_on: str) -> dict[str, str]:
    """A `sam` on PATH that logs its arguments and exits 1 on the subcommand ``fail_on``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sam = bin_dir / "sam"
    sam.write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path / 'sam.log'}\n"
                   f"[ \"$1\" = {fail_on} ] && {{ echo 'Error: no credentials' >&2; exit 1; }}\n"
                   "exit 0\n")
    sam.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def test_deploy_failing_sam_is_a_lambdalite_error(tmp_path: Path):
    assert lambdalite("template", cwd=tmp_path).returncode == 0
    proc = lambdalite("deploy", cwd=tmp_path, env=_fake_sam(tmp_path, fail_on="deploy"))
    assert proc.returncode == 7 and "Traceback" not in proc.stderr
    assert "error: `sam deploy --guided --template-file build/template.yaml" in proc.stderr
    assert "exited with code 1" in proc.stderr and "no credentials" in proc.stderr


def test_deploy_finds_image_functions_by_parsing_the_template(tmp_path: Path):
    """PackageType from Globals (and short-form tags elsewhere): no "PackageType: Image" line
    in the function, yet `sam build` runs first."""
    (tmp_path / "t.yaml").write_text(
        "Globals:\n  Function:\n    PackageType: 'Image'\n"
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
        "    Properties:\n      MemorySize: !Ref Memory\n")
    proc = lambdalite("deploy", "-t", "t.yaml", cwd=tmp_path,
                      env=_fake_sam(tmp_path, fail_on="build"))
    assert proc.returncode == 7 and "`sam build --template-file t.yaml` exited with code 1" \
        in proc.stderr
    assert (tmp_path / "sam.log").read_text() == "build --template-file t.yaml\n"


def test_arch_all_reports_each_arch_and_keeps_what_built(tmp_path: Path):
    """python3.11 arm64: no ai-edge-litert aarch64 wheel fits Amazon Linux 2's glibc 2.26 (all
    need >= 2.29): every older release is screened, one message says why each was rejected;
    x86_64 still builds and the template holds it alone."""
    proc = lambdalite("build", "--model-dir", str(MODEL), "--runtime", "python3.11", "--arch",
                      "all", cwd=tmp_path)
    assert proc.returncode == 5, proc.stderr
    assert "lambdalite build: python3.11 x86_64 zip" in proc.stdout     # its summary
    err = " ".join(proc.stderr.split())                                 # rich/click wrapping
    assert "InferenceFunction python3.11 arm64: FAILED (GlibcTooNew): no ai-edge-litert " \
           "release fits python3.11 arm64 (glibc 2.26): 1.4.0" in err
    assert re.search(r"1\.1\.0 needs GLIBC_2\.(29|3\d), python3\.11 arm64 \(Amazon Linux 2\) "
                     r"has 2\.26", err)
    assert "error: built InferenceFunction python3.11 x86_64 (template.yaml has only that); " \
           "InferenceFunction python3.11 arm64 failed: no ai-edge-litert release" in err
    assert "Fix: use --runtime python3.12" in err
    doc = yaml.safe_load((tmp_path / "build" / "template.yaml").read_text())
    assert list(doc["Resources"]) == ["InferenceFunction"]
    assert doc["Resources"]["InferenceFunction"]["Properties"]["Architectures"] == ["x86_64"]
    assert (tmp_path / "build" / "x86_64" / "function.zip").exists()
