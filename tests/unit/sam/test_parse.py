"""Document -> SamTemplate (sam/parse.py): the one reading build, local and bench share."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lambdalite.sam.errors import TemplateError
from lambdalite.sam.model import SamFunction
from lambdalite.sam.parse import image_functions, parse, read_template, whole_number

TEMPLATE = """\
Parameters:
  Memory: {Type: Number, Default: 2048}
  Stage: {Type: String}
Globals:
  Function:
    Runtime: python3.12
    Timeout: "45"
    Layers: [arn:aws:lambda:us-east-1:123456789012:layer:a:1]
    Environment: {Variables: {SHARED: g, OVERRIDDEN: g}}
  Api:
    BinaryMediaTypes: ["image~1png"]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Condition: IsProd
    Metadata: {LambdaliteModelDir: ./model, DockerTag: 3}
    Properties:
      Handler: app.handler
      MemorySize: !Ref Memory
      Architectures: [arm64]
      Layers: [arn:aws:lambda:us-east-1:123456789012:layer:b:1]
      Policies: [AWSLambdaBasicExecutionRole]
      FunctionUrlConfig: {AuthType: NONE, Cors: {AllowOrigins: ["*"]}}
      Environment:
        Variables: {OVERRIDDEN: f, STAGE: !Ref Stage, TABLE: !GetAtt T.Arn, FLAG: yes}
      Events:
        Predict: {Type: Api, Properties: {Path: /predict, Method: post, Auth: {}}}
        Other: {Type: Api, Properties: {Path: /o, Method: get, RestApiId: !Ref MyApi}}
        Queue: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn}}
  MyApi:
    Type: AWS::Serverless::Api
    Properties: {StageName: v1, BinaryMediaTypes: ["*~1*"], Cors: "'*'"}
"""


def fn(text: str = TEMPLATE, name: str = "Fn", **overrides: str) -> SamFunction:
    template = parse(text, "t.yaml", parameter_overrides=overrides)
    if name in template.broken:
        raise template.broken[name]
    return template.functions[name]


def test_one_function_model_with_globals_parameters_and_notes() -> None:
    f = fn()
    assert (f.handler, f.runtime, f.memory_mb, f.timeout_s, f.architecture) == (
        "app.handler", "python3.12", 2048, 45, "arm64")
    assert f.environment == {"SHARED": "g", "OVERRIDDEN": "f", "FLAG": "true"}
    assert f.unresolved == {"Environment.Variables.STAGE": "!Ref Stage",
                            "Environment.Variables.TABLE": "!GetAtt T.Arn"}
    assert f.notes == ("FunctionUrlConfig.Cors", "Layers", "Policies")
    assert (f.function_url_auth, f.condition, f.model_dir, f.docker_tag) == (
        "NONE", "IsProd", "./model", "3")
    assert f.path == Path("t.yaml") and f.line("MemorySize") == 19
    assert f.line("Timeout") == 7                                   # from Globals
    assert f.line("Environment.Variables.SHARED") == 9
    assert f.line("Environment.Variables.NOPE") == 25               # the nearest enclosing
    assert f.line() == 13


def test_events_with_their_apis() -> None:
    predict, other, queue = fn().events
    assert (predict.type, predict.path, predict.method, predict.api, predict.stage) == (
        "Api", "/predict", "post", None, "Prod")
    assert predict.binary_media_types == ("image/png",) and predict.notes == ("Auth",)
    assert (other.api, other.stage, other.binary_media_types) == ("MyApi", "v1",
                                                                  ("image/png", "*/*"))
    assert (queue.type, queue.line) == ("SQS", 29)
    template = parse(TEMPLATE, "t.yaml")
    assert template.apis["MyApi"].notes == ("Cors",)
    assert template.resources == {"Fn": "AWS::Serverless::Function",
                                  "MyApi": "AWS::Serverless::Api"}


def test_parameter_overrides_win_and_unknown_ones_are_warned() -> None:
    template = parse(TEMPLATE, "t.yaml", parameter_overrides={"Stage": "prod", "Memory": "512",
                                                              "Nope": "x"})
    f = template.functions["Fn"]
    assert f.environment["STAGE"] == "prod" and f.memory_mb == 512   # "512": a number
    assert template.warnings == ("parameter override Nope is not a Parameter of the template",)


@pytest.mark.parametrize(("value", "number"), [
    (1024, 1024), ("1024", 1024), (1024.0, 1024), (" 512 ", 512), ("1024.0", 1024),
    (2.5, None), ("2.5", None), (True, None), ("lots", None), (None, None), ([1], None),
    (float("inf"), None),
])
def test_whole_numbers_as_cloudformation_reads_them(value: object, number: int | None) -> None:
    assert whole_number(value) == number


FUNCTION = """\
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: a.h
      {prop}
"""


@pytest.mark.parametrize(("prop", "message"), [
    ("Timeout: 2.5", "t.yaml:6: Fn: Timeout must be a whole number from 1 to 900, not 2.5"),
    ("MemorySize: '64'", "t.yaml:6: Fn: MemorySize must be a whole number from 128 to 10240, "
                         "not '64'"),
    ("MemorySize: !GetAtt X.Y", "t.yaml:6: Fn: MemorySize must be a whole number from 128 to "
                                "10240, not !GetAtt X.Y, which cannot be resolved without AWS"),
    ("ReservedConcurrentExecutions: -1", "t.yaml:6: Fn: ReservedConcurrentExecutions must be"),
    ("Architectures: !Ref Arch", "t.yaml:6: Fn: Architectures must be [x86_64] or [arm64], not "
                                 "!Ref Arch"),
    ("PackageType: Jar", "t.yaml:6: Fn: PackageType must be Zip or Image, not 'Jar'"),
    ("FunctionUrlConfig: {AuthType: OPEN}", "t.yaml:6: Fn: FunctionUrlConfig.AuthType must be"),
    ("ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 0}",
     "t.yaml:6: Fn: ProvisionedConcurrencyConfig.ProvisionedConcurrentExecutions must be a "
     "whole number from 1"),
    ("Events: {E: {Type: Api, Properties: {Path: nope, Method: get}}}",
     "t.yaml:6: Fn: Events.E.Path must be a path starting with '/', not 'nope'"),
    ("Events: {E: {Type: Api, Properties: {Path: /a, Method: get, RestApiId: !Ref Fn}}}",
     "t.yaml:6: Fn: Events.E refers to !Ref Fn, which is not an AWS::Serverless::Api"),
    ("Handler: [a]", "t.yaml:6: Fn: Handler must be a string, not ['a']"),
])
def test_unusable_values_name_the_function_the_property_and_the_line(prop: str,
                                                                      message: str) -> None:
    text = FUNCTION.format(prop=prop)
    if prop.startswith("Handler"):      # YAML forbids a key twice
        text = text.replace("      Handler: a.h\n", "")
    template = parse(text, "t.yaml")
    assert list(template.broken) == ["Fn"] and template.functions == {}
    error = template.broken["Fn"]
    assert error.message.startswith(message.replace("6:", f"{error.line}:")), error.message
    assert text.splitlines()[error.line - 1].strip().startswith(prop.split(":")[0])


def test_a_broken_function_keeps_its_function_name_and_hides_no_other() -> None:
    text = textwrap.dedent("""\
        Resources:
          Good: {Type: AWS::Serverless::Function, Properties: {Handler: a.h}}
          Bad: {Type: AWS::Serverless::Function, Properties: {Timeout: 0, FunctionName: bad}}
        """)
    template = parse(text, "t.yaml")
    assert list(template.functions) == ["Good"] and list(template.broken) == ["Bad"]
    assert template.function_names == {"bad": "Bad"}
    assert template.broken["Bad"].line == 3


def test_missing_or_not_a_template(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="cannot read template"):
        read_template(tmp_path / "nope.yaml")
    with pytest.raises(TemplateError, match="has no Resources section"):
        parse("Description: x\n", "t.yaml")


def test_image_functions_read_package_type_from_globals(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("Globals:\n  Function:\n    PackageType: Image\nResources:\n"
                    "  Img: {Type: AWS::Serverless::Function, Properties: {MemorySize: !Ref M}}\n"
                    "  Zip: {Type: AWS::Serverless::Function, Properties: {PackageType: Zip}}\n")
    assert image_functions(path) == ("Img",)
