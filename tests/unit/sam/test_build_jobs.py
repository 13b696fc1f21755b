"""`lambdalite build`'s view of a template (bundle/jobs.py over lambdalite.sam): a SAM template
-> PackageOptions and the function OUT/template.yaml declares, options set over the template,
clear errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from lambdalite.bundle.api import PackageOptions
from lambdalite.bundle.jobs import BuildJob, jobs_for, relative_model_dir, template_functions
from lambdalite.bundle.options import BuildOptions
from lambdalite.sam.errors import TemplateError
from lambdalite.sam.write import write

USER_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Memory: {Type: Number, Default: 2048}
Globals:
  Function:
    Timeout: 45
Resources:
  Digits:
    Type: AWS::Serverless::Function
    Metadata:
      LambdaliteModelDir: ./model
    Properties:
      CodeUri: src/            # does not exist: the build makes the code
      Handler: app.handler
      Runtime: python3.11
      Architectures: [arm64]
      MemorySize: !Ref Memory
      Policies: [AWSLambdaBasicExecutionRole]
      Environment:
        Variables:
          LAMBDALITE_VARIANT: int8
          LAMBDALITE_BACKEND: litert
          LOG_LEVEL: debug
      FunctionUrlConfig: {AuthType: NONE}
      AutoPublishAlias: prod
      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 2}
      Events:
        Predict:
          Type: Api
          Properties: {Path: /predict, Method: post}
        KeepWarm:
          Type: Schedule
          Properties: {Schedule: rate(10 minutes), Input: '{"warmup": true}'}
        Uploads:
          Type: S3
          Properties: {Bucket: !Ref Bucket, Events: s3:ObjectCreated:*}
  Bucket:
    Type: AWS::S3::Bucket
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "model").mkdir()
    path = tmp_path / "template.yaml"
    path.write_text(USER_TEMPLATE)
    return path


def edited(path: Path, old: str, new: str) -> Path:
    path.write_text(path.read_text().replace(old, new))
    return path


def read_jobs(path: Path, out_dir: Path, **options: Any) -> tuple[BuildJob, ...]:
    """What `lambdalite build --template path --out out_dir` builds, ``options`` set."""
    return jobs_for(BuildOptions(template=path, out_dir=out_dir, **options))


def api_path(job: BuildJob) -> str | None:
    return next((e.path for e in job.function.events if e.type == "Api"), None)


def warmup(job: BuildJob) -> str | None:
    return next((e.schedule for e in job.function.events if e.type == "Schedule"), None)


def test_template_maps_to_build_options_and_keeps_settings(project: Path):
    (job,) = read_jobs(project, Path("out"))
    assert job.options == PackageOptions(
        model_dir=project.parent / "model", out_dir=Path("out"), variant="int8",
        backend="litert", runtime="python3.11", arch="arm64", package_type="zip",
        memory_mb=2048, timeout_s=45, function_name="Digits")
    fn = job.function
    assert (api_path(job), warmup(job), fn.function_url_auth) == (
        "/predict", "rate(10 minutes)", "NONE")
    assert (fn.auto_publish_alias, fn.provisioned_concurrency) == ("prod", 2)
    assert fn.environment == {"LAMBDALITE_BACKEND": "litert", "LAMBDALITE_VARIANT": "int8",
                              "LOG_LEVEL": "debug"}
    assert any(n.startswith("Policies:") for n in job.notes)
    assert any(n.startswith("Events.Uploads (S3)") for n in job.notes)


def test_explicit_flags_override_the_template(project: Path, tmp_path: Path):
    other = tmp_path / "other-model"
    other.mkdir()
    (job,) = read_jobs(
        project, Path("out"), memory_mb=3008, runtime="python3.12", archs=("x86_64",),
        variant="float16", model_dir=other, package_type="image", function_name="Renamed",
        api_path="/classify", warmup_schedule="rate(1 hour)", base_image_digest=None)
    options = job.options
    assert (options.memory_mb, options.runtime, options.arch, options.variant) == (
        3008, "python3.12", "x86_64", "float16")
    assert (options.model_dir, options.package_type, options.function_name) == (
        other, "image", "Renamed")
    assert options.timeout_s == 45 and api_path(job) == "/classify"
    assert warmup(job) == "rate(1 hour)"
    assert job.function.logical_id == "Renamed" and job.function.package_type == "Image"


def test_defaults_are_sam_defaults(tmp_path: Path):
    (tmp_path / "m").mkdir()
    path = tmp_path / "t.yaml"
    path.write_text("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                    "    Metadata: {LambdaliteModelDir: m}\n"
                    "    Properties: {Runtime: python3.12}\n")
    (job,) = read_jobs(path, tmp_path / "out")
    o = job.options
    assert (o.memory_mb, o.timeout_s, o.arch, o.package_type, o.backend) == (
        128, 3, "x86_64", "zip", "litert")
    assert o.variant is None and job.function.events == ()
    doc = yaml.safe_load(write(tmp_path / "out" / "template.yaml", [job.function]).read_text())
    props = doc["Resources"]["Fn"]["Properties"]
    assert "Events" not in props and "Globals" not in doc and "FnApi" not in doc["Outputs"]
    # The model is outside build/'s tree: an absolute path, not a ../ chain.
    assert doc["Resources"]["Fn"]["Metadata"] == {
        "LambdaliteModelDir": (tmp_path / "m").resolve().as_posix()}


@pytest.mark.parametrize(("old", "new", "message"), [
    ("Runtime: python3.11", "Runtime: nodejs20.x",
     "Digits: Runtime nodejs20.x is not buildable: lambdalite builds python3.9, python3.11, python3.12, "
     "python3.13"),
    ("Runtime: python3.11", "Runtime: python3.10", "Runtime python3.10 is not buildable"),
    ("Runtime: python3.11", "Description: no runtime", "Runtime is required"),
    ("Architectures: [arm64]", "Architectures: [x86_64, arm64]", "Architectures must be"),
    ("LAMBDALITE_BACKEND: litert", "LAMBDALITE_BACKEND: onnx", "use one of litert, tf, onnxruntime"),
    ("LambdaliteModelDir: ./model", "Other: 1", "add Metadata: {LambdaliteModelDir: ./model}"),
    ("LambdaliteModelDir: ./model", "LambdaliteModelDir: ./nope", "is not a folder"),
    ("MemorySize: !Ref Memory", "MemorySize: !GetAtt X.Y", "MemorySize must be a whole number"),
    ("MemorySize: !Ref Memory", "MemorySize: 1024.5", "MemorySize must be a whole number"),
    ("LOG_LEVEL: debug", "LOG_LEVEL: !GetAtt Bucket.Arn", "cannot be resolved at build time"),
    ("AuthType: NONE", "AuthType: OPEN", "AuthType must be AWS_IAM or NONE"),
    ("Runtime: python3.11", "Runtime: python3.11\n      PackageType: Lambda",
     "PackageType must be Zip or Image"),
])
def test_unusable_values_are_clear_errors(project: Path, old: str, new: str, message: str):
    with pytest.raises(TemplateError, match=re.escape(message)) as err:
        read_jobs(edited(project, old, new), Path("out"))
    # Where: the template and the line of the property (or of the function).
    assert err.value.exit_code == 2
    assert re.match(rf"{re.escape(str(project))}:\d+: Digits: ", err.value.message)
    line = project.read_text().splitlines()[err.value.line - 1]
    key = new.splitlines()[-1].split(":")[0].strip()     # the property written last
    assert key in line or line.strip() == "Digits:", line    # or, when absent, the function


def test_a_flag_makes_an_unbuildable_template_value_buildable(project: Path):
    edited(project, "Runtime: python3.11", "Runtime: python3.10")
    (job,) = read_jobs(project, Path("out"), runtime="python3.12")
    assert job.options.runtime == job.function.runtime == "python3.12"


def test_function_selection_and_template_errors(project: Path, tmp_path: Path):
    out = Path("out")
    with pytest.raises(TemplateError, match="has no function 'Nope'; its functions: Digits"):
        read_jobs(project, out, function="Nope")
    assert read_jobs(project, out, function="Digits")[0].function.logical_id == "Digits"
    empty = tmp_path / "empty.yaml"
    empty.write_text("Resources:\n  B: {Type: AWS::S3::Bucket}\n")
    with pytest.raises(TemplateError, match="defines no AWS::Serverless::Function"):
        read_jobs(empty, out)
    with pytest.raises(TemplateError, match="cannot read template"):
        read_jobs(tmp_path / "missing.yaml", out)
    (tmp_path / "bad.yaml").write_text("Resources: [\n")
    with pytest.raises(TemplateError, match="not valid YAML"):
        read_jobs(tmp_path / "bad.yaml", out)


@pytest.mark.parametrize("package_type", ["zip", "image"])
def test_a_generated_template_round_trips_to_the_same_build(tmp_path: Path, package_type: str):
    """`lambdalite template --model-dir M -o t.yaml` then `build --template t.yaml` builds what
    `build --model-dir M` with the same flags builds."""
    model = tmp_path / "examples" / "model"
    model.mkdir(parents=True)
    kw = {"function_name": "Fn", "package_type": package_type, "runtime": "python3.11",
          "memory_mb": 1536, "timeout_s": 20, "backend": "tf", "variant": "dynamic",
          "api_path": "/classify_digit", "function_url": True,
          "warmup_schedule": "rate(5 minutes)", "provisioned_concurrency": 1}
    path = tmp_path / "deploy" / "t.yaml"
    options = BuildOptions(model_dir=model, archs=("arm64",), **kw)  # type: ignore[arg-type]
    write(path, template_functions(options, path.parent))
    (job,) = read_jobs(path, tmp_path / "build")
    assert job.options == PackageOptions(
        model_dir=model.resolve(), out_dir=tmp_path / "build", variant="dynamic", backend="tf",
        runtime="python3.11", arch="arm64", package_type=package_type, memory_mb=1536,
        timeout_s=20, function_name="Fn")
    out = write(tmp_path / "build" / "template.yaml", [job.function])
    again = yaml.safe_load(out.read_text())["Resources"]["Fn"]
    first = yaml.safe_load(path.read_text())["Resources"]["Fn"]
    assert again["Properties"] == first["Properties"]
    assert again["Metadata"].pop("LambdaliteModelDir") == model.resolve().as_posix()
    assert first["Metadata"].pop("LambdaliteModelDir") == model.resolve().as_posix()


def test_model_dir_is_relative_inside_the_templates_tree_else_absolute(tmp_path: Path):
    inside = tmp_path / "project" / "models" / "mnist"
    inside.mkdir(parents=True)
    assert relative_model_dir(inside, tmp_path / "project") == "./models/mnist"
    assert relative_model_dir(tmp_path / "project", tmp_path / "project") == "."
    outside = relative_model_dir(inside, tmp_path / "elsewhere" / "build")
    assert outside == inside.resolve().as_posix() and Path(outside).is_absolute()
    template = tmp_path / "elsewhere" / "build" / "t.yaml"   # and read back from there
    template.parent.mkdir(parents=True)
    template.write_text("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                        f"    Metadata: {{LambdaliteModelDir: {outside}}}\n"
                        "    Properties: {Runtime: python3.12}\n")
    assert read_jobs(template, Path("out"))[0].options.model_dir == inside.resolve()


def test_model_dir_stays_relative_within_one_project(tmp_path: Path):
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    model = tmp_path / "repo" / "examples" / "model"
    model.mkdir(parents=True)
    assert relative_model_dir(model, tmp_path / "repo" / "build") == "../examples/model"
