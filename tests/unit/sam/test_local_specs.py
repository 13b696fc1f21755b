"""`lambdalite local`'s view of a template (local/specs.py over lambdalite.sam): template.yaml ->
FunctionSpec: SAM shapes, Globals, short-form tags, code locations, errors."""

from __future__ import annotations

import re
import textwrap
import zipfile
from pathlib import Path

import pytest

from lambdalite.local.engine_types import EventSource
from lambdalite.local.specs import load_template, read_template
from lambdalite.sam.errors import TemplateError

HEADER = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
"""


def write(tmp_path: Path, body: str, name: str = "template.yaml") -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    path = tmp_path / name
    path.write_text(HEADER + textwrap.dedent(body))
    return path


BASE_PROPS = {"Handler": "app.handler", "Runtime": "python3.12", "CodeUri": "src"}


def one(tmp_path: Path, props: str, extra: str = "") -> object:
    """The spec of a template with one function ``Fn`` (app.handler in src/) plus ``props``
    (which replace the base's keys of the same name: YAML forbids a key twice)."""
    props = textwrap.dedent(props)
    given = set(re.findall(r"^(\w+):", props, re.M))
    base = "".join(f"      {k}: {v}\n" for k, v in BASE_PROPS.items() if k not in given)
    body = textwrap.dedent(extra) + textwrap.dedent("""\
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
        """) + base + textwrap.indent(props, " " * 6)
    return load_template(write(tmp_path, body))["Fn"]


def test_minimal_function_gets_sams_defaults(tmp_path: Path) -> None:
    spec = one(tmp_path, "")
    assert spec.name == "Fn" and spec.handler == "app.handler"
    assert spec.code_dir == (tmp_path / "src").resolve()
    assert (spec.runtime, spec.memory_mb, spec.timeout_s) == ("python3.12", 128, 3.0)
    assert (spec.architecture, spec.package_type) == ("x86_64", "Zip")
    assert spec.environment == {} and spec.events == () and spec.unsupported == ()
    assert spec.reserved_concurrency is None


def test_every_emulated_property(tmp_path: Path) -> None:
    spec = one(tmp_path, """\
    MemorySize: 1024
    Timeout: 30
    Architectures: [arm64]
    ReservedConcurrentExecutions: 4
    Description: ignored without a warning
    Tags: {team: ml}
    Environment:
      Variables: {A: x, N: 3, FLAG: true}
    """)
    assert (spec.memory_mb, spec.timeout_s, spec.reserved_concurrency) == (1024, 30.0, 4)
    assert spec.environment == {"A": "x", "N": "3", "FLAG": "true"}
    assert spec.architecture == "arm64"
    # arm64 is honoured as a setting; python3.12 has no emulated arm64 Python (3.13 only), so
    # the code runs on this machine's CPU: said so.
    (note,) = spec.unsupported
    assert note.startswith("Architectures arm64: python3.12 is not run as arm64 here")
    assert "Python 3.13 only" in note and "runs on this machine's CPU" in note


def test_python313_arm64_is_left_to_the_emulated_interpreter(tmp_path: Path) -> None:
    spec = one(tmp_path, "    Runtime: python3.13\n    Architectures: [arm64]\n")
    assert (spec.runtime, spec.architecture, spec.unsupported) == ("python3.13", "arm64", ())


def test_globals_merge_like_sam(tmp_path: Path) -> None:
    path = write(tmp_path, """\
    Globals:
      Function:
        Runtime: python3.11
        Timeout: 10
        MemorySize: 512
        Layers: [arn:aws:lambda:us-east-1:123456789012:layer:a:1]
        Environment:
          Variables: {SHARED: g, OVERRIDDEN: g}
    Resources:
      A:
        Type: AWS::Serverless::Function
        Properties:
          Handler: a.handler
          CodeUri: src
          Timeout: 20
          Layers: [arn:aws:lambda:us-east-1:123456789012:layer:b:1]
          Environment:
            Variables: {OVERRIDDEN: f, OWN: f}
      B:
        Type: AWS::Serverless::Function
        Properties: {Handler: b.handler, CodeUri: src}
    """)
    functions = load_template(path)
    a, b = functions["A"], functions["B"]
    assert (a.runtime, a.timeout_s, a.memory_mb) == ("python3.11", 20.0, 512)
    assert a.environment == {"SHARED": "g", "OVERRIDDEN": "f", "OWN": "f"}
    assert (b.timeout_s, b.environment) == (10.0, {"SHARED": "g", "OVERRIDDEN": "g"})
    # A property from Globals that is not emulated is reported for every function it reaches.
    assert any(u.startswith("Layers:") for u in a.unsupported)
    assert any(u.startswith("Layers:") for u in b.unsupported)


def test_short_form_tags_resolve_parameters_and_pseudo_parameters(tmp_path: Path) -> None:
    spec = one(tmp_path, """\
    MemorySize: !Ref Memory
    Handler: !Sub "${Module}.handler"
    Environment:
      Variables:
        STAGE: !Ref Stage
        REGION: !Ref AWS::Region
        NAME: !Sub "${AWS::StackName}-${Stage}"
        JOINED: !Join ["-", [a, !Ref Stage]]
        PICKED: !Select [1, [x, y]]
        MAPPED: !FindInMap [Sizes, !Ref Stage, Memory]
        LITERAL: !Sub "${!NotAVar}"
        TABLE: !GetAtt Table.Arn
        QUEUE: !ImportValue shared-queue
    """, extra="""\
    Parameters:
      Stage: {Type: String, Default: dev}
      Memory: {Type: Number, Default: 256}
      Module: {Type: String, Default: main}
    Mappings:
      Sizes:
        dev: {Memory: "512"}
    """)
    assert spec.memory_mb == 256 and spec.handler == "main.handler"
    assert spec.environment == {
        "STAGE": "dev", "REGION": "us-east-1", "NAME": "local-dev", "JOINED": "a-dev",
        "PICKED": "y", "MAPPED": "512", "LITERAL": "${NotAVar}", "TABLE": "", "QUEUE": ""}
    unresolved = [u for u in spec.unsupported if u.startswith("Environment.Variables.")]
    assert unresolved == [
        "Environment.Variables.TABLE: !GetAtt Table.Arn cannot be resolved locally, set to '' "
        "(use --env-vars)",
        "Environment.Variables.QUEUE: !ImportValue shared-queue cannot be resolved locally, set "
        "to '' (use --env-vars)"]


def test_parameter_overrides_win_and_unknown_ones_are_warned(tmp_path: Path) -> None:
    path = write(tmp_path, """\
    Parameters:
      Stage: {Type: String, Default: dev}
    Resources:
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          Handler: app.handler
          Runtime: python3.12
          CodeUri: src
          Environment: {Variables: {STAGE: !Ref Stage}}
    """)
    template = read_template(path, parameter_overrides={"Stage": "prod", "Nope": "x"})
    assert template.functions["Fn"].environment == {"STAGE": "prod"}
    assert "parameter override Nope is not a Parameter of the template" in template.warnings


def test_json_template_is_read(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    path = tmp_path / "template.json"
    path.write_text('{"Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": '
                    '{"Handler": "a.h", "Runtime": "python3.12", "CodeUri": "src"}}}}')
    assert load_template(tmp_path)["Fn"].handler == "a.h"   # a folder: its template file


def test_zip_code_uri_is_unpacked_once_with_modes(tmp_path: Path) -> None:
    archive = tmp_path / "function.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("app.py", "def handler(e, c):\n    return 1\n")
        info = zipfile.ZipInfo("bin/tool")
        info.external_attr = 0o755 << 16
        zf.writestr(info, "#!/bin/sh\n")
    path = write(tmp_path, """\
    Resources:
      Fn:
        Type: AWS::Serverless::Function
        Properties: {Handler: app.handler, Runtime: python3.12, CodeUri: function.zip}
    """)
    code = load_template(path)["Fn"].code_dir
    assert code != tmp_path and (code / "app.py").read_text().startswith("def handler")
    assert (code / "bin" / "tool").stat().st_mode & 0o777 == 0o755
    assert load_template(path)["Fn"].code_dir == code     # same archive: unpacked once


def test_broken_zip_is_a_template_error(tmp_path: Path) -> None:
    (tmp_path / "function.zip").write_bytes(b"not a zip")
    with pytest.raises(TemplateError, match="not a readable .zip"):
        one(tmp_path, "CodeUri: function.zip")


def test_inline_code_is_written_as_the_handler_module(tmp_path: Path) -> None:
    spec = one(tmp_path, """\
    InlineCode: |
      def handler(event, context):
          return "inline"
    """)
    assert "return \"inline\"" in (spec.code_dir / "app.py").read_text()


def image_template(tmp_path: Path, command: str = "ImageConfig: {Command: [app.handler]}",
                   dockerfile: str | None = "FROM public.ecr.aws/lambda/python:3.11-x86_64\n",
                   task: bool = True, metadata: bool = True) -> Path:
    context = tmp_path / "image-x86_64"
    context.mkdir()
    if task:
        (context / "task").mkdir()
    if dockerfile is not None:
        (context / "Dockerfile").write_text(dockerfile)
    meta = ("Metadata: {Dockerfile: Dockerfile, DockerContext: ./image-x86_64, DockerTag: v1}"
            if metadata else "")
    return write(tmp_path, f"""\
    Resources:
      Img:
        Type: AWS::Serverless::Function
        Properties:
          PackageType: Image
          MemorySize: 2048
          {command}
        {meta}
    """)


def test_image_function_runs_its_build_context_task_root(tmp_path: Path) -> None:
    spec = load_template(image_template(tmp_path))["Img"]
    assert spec.package_type == "Image" and spec.handler == "app.handler"
    assert spec.code_dir == (tmp_path / "image-x86_64" / "task").resolve()
    assert spec.runtime == "python3.11" and spec.memory_mb == 2048   # from the FROM line


def test_image_handler_from_dockerfile_cmd(tmp_path: Path) -> None:
    dockerfile = 'FROM public.ecr.aws/lambda/python:3.12\nCMD [ "pkg.mod.handler" ]\n'
    spec = load_template(image_template(tmp_path, command="", dockerfile=dockerfile))["Img"]
    assert (spec.handler, spec.runtime) == ("pkg.mod.handler", "python3.12")


def test_image_with_unknown_base_is_reported(tmp_path: Path) -> None:
    spec = load_template(image_template(tmp_path, dockerfile="FROM debian\n"))["Img"]
    assert spec.runtime == "python3.12"
    assert any(u.startswith("Runtime: the image's base") for u in spec.unsupported)


def test_image_without_its_dockerfile_says_it_is_missing(tmp_path: Path) -> None:
    spec = load_template(image_template(tmp_path, dockerfile=None))["Img"]
    assert spec.runtime == "python3.12" and spec.handler == "app.handler"   # ImageConfig.Command
    [note] = [u for u in spec.unsupported if u.startswith("Runtime:")]
    dockerfile = tmp_path / "image-x86_64" / "Dockerfile"
    assert f"{dockerfile} (Metadata.Dockerfile in Metadata.DockerContext) does not exist" in note
    assert "lambdalite build --package-type image" in note and "recognise" not in note


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"metadata": False}, "needs Metadata.DockerContext"),
    ({"task": False}, "task not found"),
    ({"command": "", "dockerfile": None}, "no handler"),
])
def test_image_errors(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        load_template(image_template(tmp_path, **kwargs))  # type: ignore[arg-type]


def test_events_api_httpapi_schedule(tmp_path: Path) -> None:
    path = write(tmp_path, """\
    Globals:
      Api:
        BinaryMediaTypes: ["image~1png"]
    Resources:
      MyApi:
        Type: AWS::Serverless::Api
        Properties:
          StageName: v1
          BinaryMediaTypes: ["*~1*"]
          Auth: {DefaultAuthorizer: AWS_IAM}
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          Handler: app.handler
          Runtime: python3.12
          CodeUri: src
          Events:
            Implicit: {Type: Api, Properties: {Path: /classify, Method: post}}
            Explicit:
              Type: Api
              Properties: {Path: "/items/{id}", Method: any, RestApiId: !Ref MyApi, Auth: {}}
            Http: {Type: HttpApi, Properties: {Path: "/h/{proxy+}", Method: GET,
                                               PayloadFormatVersion: "1.0"}}
            Default: {Type: HttpApi}
            Warm: {Type: Schedule, Properties: {Schedule: rate(5 minutes), Input: '{"warm": 1}'}}
            Later: {Type: ScheduleV2, Properties: {ScheduleExpression: "cron(0 * * * ? *)"}}
            Queue: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn}}
    """)
    template = read_template(path)
    events = {e.name: e for e in template.functions["Fn"].events}
    assert events["Implicit"] == EventSource("Implicit", "Api", "/classify", "POST",
                                             binary_media_types=("image/png",), stage="Prod")
    assert events["Explicit"].binary_media_types == ("image/png", "*/*")  # Globals + own
    assert (events["Explicit"].stage, events["Explicit"].method) == ("v1", "ANY")
    assert events["Http"].payload_format_version == "1.0"
    assert (events["Default"].path, events["Default"].method) == ("$default", "ANY")
    assert events["Default"].stage == "$default"
    assert events["Warm"].schedule == "rate(5 minutes)" and events["Warm"].input == '{"warm": 1}'
    assert events["Later"].schedule == "cron(0 * * * ? *)"
    assert "Queue" not in events
    unsupported = template.functions["Fn"].unsupported
    assert any(u.startswith("Events.Queue (SQS): not emulated") for u in unsupported)
    assert "Events.Explicit.Auth: not emulated by start-api" in unsupported
    assert any(w.startswith("MyApi: Auth is not emulated") for w in template.warnings)


def test_unsupported_properties_are_listed_not_dropped(tmp_path: Path) -> None:
    spec = one(tmp_path, """\
    Policies: [AWSLambdaBasicExecutionRole]
    VpcConfig: {SubnetIds: [a]}
    Tracing: Active
    ReservedConcurrentExecutions: 0
    """, extra="")
    names = [u.split(":")[0] for u in spec.unsupported]
    assert names == ["Policies", "Tracing", "VpcConfig", "ReservedConcurrentExecutions 0 (every "
                     "invoke throttled)"]
    assert spec.reserved_concurrency is None


def test_non_python_functions_are_skipped_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, """\
    Resources:
      Node:
        Type: AWS::Serverless::Function
        Properties: {Handler: index.handler, Runtime: nodejs20.x, CodeUri: src}
      Py:
        Type: AWS::Serverless::Function
        Properties: {Handler: app.handler, Runtime: python3.12, CodeUri: src,
                     FunctionName: my-py-fn}
      Raw:
        Type: AWS::Lambda::Function
        Properties: {Handler: app.handler}
    """)
    template = read_template(path)
    assert list(template.functions) == ["Py"]
    assert template.function_names == {"my-py-fn": "Py"}
    assert any("Node: Runtime nodejs20.x is not run locally" in w for w in template.warnings)
    assert any(w.startswith("Raw: AWS::Lambda::Function") for w in template.warnings)


@pytest.mark.parametrize(("props", "message"), [
    ("Handler: null", "Fn: Handler is required"),
    ("Runtime: !GetAtt X.Y", r"Runtime is !GetAtt X.Y, which cannot be resolved"),
    ("MemorySize: 64", "MemorySize must be a whole number from 128 to 10240, not 64"),
    ("MemorySize: lots", "MemorySize must be a whole number"),
    ("Timeout: 901", "Timeout must be a whole number from 1 to 900"),
    ("Timeout: true", "Timeout must be a whole number"),
    ("Timeout: 2.5", "Timeout must be a whole number from 1 to 900, not 2.5"),
    ("Architectures: [x86_64, arm64]", "Architectures must be"),
    ("CodeUri: missing", "CodeUri missing not found"),
    ("CodeUri: s3://bucket/key.zip", "is in S3"),
    ("CodeUri: {Bucket: b, Key: k}", "is in S3"),
    ("PackageType: Jar", "PackageType must be Zip or Image"),
    ("Events: {E: {Type: Api, Properties: {Path: nope, Method: get}}}", "Path must be a path"),
    ("Events: {E: {Type: Api, Properties: {Path: /a}}}", "Method must be an HTTP method"),
    ("Events: {E: {Type: Api, Properties: {Path: /a, Method: get, RestApiId: !Ref Nope}}}",
     "not an AWS::Serverless::Api"),
    ("Events: {E: {Type: HttpApi, Properties: {PayloadFormatVersion: '3.0'}}}",
     "PayloadFormatVersion must be 1.0 or 2.0"),
    ("Events: {E: {Type: Schedule, Properties: {}}}", "needs a rate"),
])
def test_bad_properties_are_precise_template_errors(tmp_path: Path, props: str,
                                                    message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        one(tmp_path, props)


@pytest.mark.parametrize(("text", "message"), [
    ("Resources: [", "is not valid YAML"),
    ("Description: no resources\n", "has no Resources section"),
    ("Resources:\n  T: {Type: AWS::DynamoDB::Table}\n", "defines no Python"),
])
def test_broken_templates(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(text)
    with pytest.raises(TemplateError, match=message):
        load_template(path)


def test_a_broken_function_does_not_hide_the_others(tmp_path: Path) -> None:
    path = write(tmp_path, """\
    Resources:
      Good: {Type: AWS::Serverless::Function,
             Properties: {Handler: app.handler, Runtime: python3.12, CodeUri: src}}
      Bad: {Type: AWS::Serverless::Function,
            Properties: {Handler: app.handler, Runtime: python3.12, CodeUri: gone,
                         FunctionName: bad-fn}}
    """)
    template = read_template(path)
    assert list(template.functions) == ["Good"] and list(template.broken) == ["Bad"]
    assert re.match(rf"{path}:\d+: Bad: CodeUri gone not found", template.broken["Bad"])
    assert template.function_names == {"bad-fn": "Bad"}
    with pytest.raises(TemplateError, match="Bad: CodeUri gone not found"):
        load_template(path)   # strict: every function must be readable
    path.write_text(path.read_text().replace("CodeUri: src", "CodeUri: gone2"))
    with pytest.raises(TemplateError, match="(?s)Good: CodeUri gone2.*Bad: CodeUri gone "):
        read_template(path)   # nothing left to run: every error


def test_missing_template_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="not found: pass -t"):
        load_template(tmp_path / "nope.yaml")
    with pytest.raises(TemplateError, match="no template.yaml in"):
        load_template(tmp_path)
    assert TemplateError("x").exit_code == 2
