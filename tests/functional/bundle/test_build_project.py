"""`build --template`: a real build from a user's SAM template (python3.11 x86_64, the
installed dependencies come from the shared cache), run locally and linted."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from lambdalite.bundle.cli import build
from lambdalite.local.engine import LocalLambda
from lambdalite.local.specs import load_template
from lambdalite.sam.lint import lint

USER_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: 60
Resources:
  DigitsFn:
    Type: AWS::Serverless::Function
    Metadata:
      LambdaliteModelDir: {model}
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      Architectures: [x86_64]
      MemorySize: 2048
      Environment:
        Variables:
          LAMBDALITE_VARIANT: int8
          GREETING: hello
      FunctionUrlConfig: {{AuthType: NONE}}
      Events:
        Predict:
          Type: Api
          Properties: {{Path: /predict, Method: post}}
        KeepWarm:
          Type: Schedule
          Properties: {{Schedule: rate(10 minutes)}}
"""


def test_build_from_a_user_template_runs_and_lints(tmp_path: Path, mnist_model_dir: Path,
                                                    mnist_event):
    project = tmp_path / "project"
    project.mkdir()
    model = os.path.relpath(mnist_model_dir, project)
    (project / "template.yaml").write_text(USER_TEMPLATE.format(model=model))
    out = tmp_path / "out"
    result = CliRunner().invoke(build, ["--template", str(project / "template.yaml"),
                                        "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = out / "template.yaml"
    assert lint(written) == []
    assert f"cfn-lint: no findings in {written}" in result.stderr   # `build` linted it too

    spec = load_template(written)["DigitsFn"]
    assert (spec.runtime, spec.memory_mb, spec.timeout_s) == ("python3.11", 2048, 60)
    assert spec.environment == {"LAMBDALITE_BACKEND": "litert", "LAMBDALITE_VARIANT": "int8",
                                "GREETING": "hello"}
    assert [(e.type, e.path or e.schedule) for e in spec.events] == [
        ("Api", "/predict"), ("Schedule", "rate(10 minutes)")]
    manifest = json.loads((out / "x86_64/task/model/manifest.json").read_text())
    assert list(manifest["variants"]) == ["int8"]

    event, label = mnist_event
    with LocalLambda({"DigitsFn": spec}) as engine:
        response = json.loads(engine.invoke("DigitsFn", json.dumps(event).encode()).payload)
    assert json.loads(response["body"]) == {"predicted_label": label}
