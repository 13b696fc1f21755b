"""`bench --pick --write-template` on a hand-written SAM template: short-form tags, comments,
Globals and a JSON-style flow mapping survive; cfn-lint passes before and after; lambdalite's
own template reader sees the pick's MemorySize, backend and variant."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambdalite.benchmark.pick import Verdict
from lambdalite.benchmark.writeback import write_template
from lambdalite.local.specs import read_template
from lambdalite.sam.lint import lint

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Timeout:
    Type: Number
    Default: 30
Globals:
  Function:
    Runtime: python3.11
    Timeout: !Ref Timeout   # from the parameter
    MemorySize: 512
Resources:
  # The inference function, as a user wrote it.
  Inference:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: code/
      Handler: lambdalite.function.handler.lambda_handler
      MemorySize: 1024  # MB
      Environment:
        Variables:
          LAMBDALITE_VARIANT: float32
          STAGE: !Sub "${AWS::StackName}-prod"
      Events:
        Api:
          Type: Api
          Properties: {Path: /classify_digit, Method: post}
  Batch:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: code/, Handler: lambdalite.function.handler.lambda_handler}
Outputs:
  InferenceArn:
    Value: !GetAtt Inference.Arn
"""


@pytest.fixture
def template(tmp_path: Path) -> Path:
    (tmp_path / "code").mkdir()
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    assert lint(path) == []
    return path


def test_written_template_lints_and_reads_back(template: Path):
    change = write_template(template, Verdict("dynamic", 3008, (), ()))
    assert change.functions == ("Inference", "Batch")
    assert lint(template) == []
    specs = read_template(template).functions
    for name in ("Inference", "Batch"):
        assert specs[name].memory_mb == 3008
        assert specs[name].environment["LAMBDALITE_VARIANT"] == "dynamic"
        assert specs[name].environment["LAMBDALITE_BACKEND"] == "litert"
        assert specs[name].timeout_s == 30
    assert specs["Inference"].environment["STAGE"] == "local-prod"
    text = template.read_text()
    for kept in ("Timeout: !Ref Timeout   # from the parameter", "MemorySize: 3008  # MB",
                 'STAGE: !Sub "${AWS::StackName}-prod"', "# The inference function",
                 "Value: !GetAtt Inference.Arn", "Properties: {Path: /classify_digit"):
        assert kept in text


def test_tf_pick_for_one_function(template: Path):
    write_template(template, Verdict("tf", 1024, (), ()), "Batch")
    assert lint(template) == []
    specs = read_template(template).functions
    assert specs["Batch"].environment["LAMBDALITE_BACKEND"] == "tf"
    assert specs["Batch"].memory_mb == 1024
    assert specs["Inference"].environment["LAMBDALITE_VARIANT"] == "float32"
    assert "LAMBDALITE_BACKEND" not in specs["Inference"].environment
