"""`lambdalite build | template | deploy` as a user runs them (real processes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "examples" / "mnist" / "model"


def lambdalite(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lambdalite", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_build_dry_run_prints_the_plan_for_each_arch(tmp_path: Path):
    proc = lambdalite("build", "--model-dir", str(MODEL), "--arch", "all", "--runtime",
                      "python3.11", "--dry-run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("\npip ") == 2
    assert "--platform manylinux_2_26_x86_64" in proc.stdout
    assert "--platform manylinux_2_26_aarch64" in proc.stdout
    assert not (tmp_path / "build").exists()


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


def test_template_round_trips_into_build_template(tmp_path: Path):
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
