"""SamFunction(s) -> template.yaml (sam/write.py), for the functions `lambdalite build` declares
(bundle/jobs.lambdalite_function) and for what the SAM model holds beyond those."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from lambdalite.bundle.api import HANDLER
from lambdalite.bundle.jobs import lambdalite_function
from lambdalite.errors import DependencyError
from lambdalite.sam import lint
from lambdalite.sam.model import SamEvent, SamFunction
from lambdalite.sam.parse import parse
from lambdalite.sam.write import render, to_yaml, write


def test_zip_function_has_runtime_handler_and_code_uri():
    doc = render([lambdalite_function("Fn", runtime="python3.11", memory_mb=2048)])
    assert doc["Transform"] == "AWS::Serverless-2016-10-31"
    props = doc["Resources"]["Fn"]["Properties"]
    assert props["PackageType"] == "Zip" and props["CodeUri"] == "x86_64/function.zip"
    assert props["Handler"] == HANDLER and props["Runtime"] == "python3.11"
    assert props["Architectures"] == ["x86_64"] and props["MemorySize"] == 2048
    assert props["Environment"]["Variables"] == {"LAMBDALITE_BACKEND": "litert"}
    assert props["Events"]["Inference"]["Properties"] == {"Path": "/classify_digit", "Method": "post"}
    assert "image~1png" in doc["Globals"]["Api"]["BinaryMediaTypes"]
    assert "/Prod/classify_digit" in doc["Outputs"]["FnApi"]["Value"]["Fn::Sub"]


def test_image_function_uses_metadata_and_command():
    fn = lambdalite_function("Fn", arch="arm64", package_type="image", variant="int8",
                             backend="tf")
    res = render([fn])["Resources"]["Fn"]
    props = res["Properties"]
    assert props["PackageType"] == "Image" and "Runtime" not in props and "Handler" not in props
    assert props["ImageConfig"]["Command"] == [HANDLER]
    assert res["Metadata"]["DockerContext"] == "./image-arm64"
    assert res["Metadata"]["DockerTag"] == "python3.12-arm64"
    assert props["Environment"]["Variables"] == {"LAMBDALITE_BACKEND": "tf",
                                                 "LAMBDALITE_VARIANT": "int8"}


def test_options_add_url_warmup_and_provisioned_concurrency():
    fn = lambdalite_function("Fn", function_url_auth="AWS_IAM",
                             warmup_schedule="rate(5 minutes)", provisioned_concurrency=3)
    doc = yaml.safe_load(to_yaml([fn]))
    props = doc["Resources"]["Fn"]["Properties"]
    warm = props["Events"]["Warmup"]["Properties"]
    assert warm["Schedule"] == "rate(5 minutes)" and json.loads(warm["Input"]) == {"warmup": True}
    assert props["FunctionUrlConfig"] == {"AuthType": "AWS_IAM"}
    assert props["AutoPublishAlias"] == "live"
    assert props["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 3}
    assert doc["Outputs"]["FnUrl"]["Value"] == {"Fn::GetAtt": ["FnUrl", "FunctionUrl"]}


def test_no_api_event_no_globals_and_no_api_output():
    doc = render([lambdalite_function("Fn", api_path=None)])
    assert "Globals" not in doc and "FnApi" not in doc["Outputs"]
    assert "Events" not in doc["Resources"]["Fn"]["Properties"]


def test_what_the_model_holds_is_written_and_reads_back_the_same():
    """A function with every field the writer knows: parse(write(fn)) gives fn back."""
    fn = SamFunction(
        "Fn", handler="app.handler", runtime="python3.12", code_uri="src",
        memory_mb=512, timeout_s=9, architecture="arm64",
        environment={"FLAG": "yes", "N": "1024", "EMPTY": ""}, reserved_concurrency=4,
        events=(SamEvent("Http", "HttpApi", path="/h", method="GET",
                         payload_format_version="1.0"),
                SamEvent("Later", "ScheduleV2", schedule="cron(0 * * * ? *)")),
        function_name="fn-name", function_url_auth="NONE", auto_publish_alias="prod",
        provisioned_concurrency=2, snap_start="PublishedVersions", model_dir="./model")
    back = parse(to_yaml([fn]), "t.yaml").functions["Fn"]
    # YAML 1.1 (CloudFormation's) would read a plain yes as true: written quoted, read as text.
    assert back.environment == fn.environment
    for field in ("handler", "runtime", "code_uri", "memory_mb", "timeout_s", "architecture",
                  "reserved_concurrency", "function_name", "function_url_auth",
                  "auto_publish_alias", "provisioned_concurrency", "snap_start", "model_dir"):
        assert getattr(back, field) == getattr(fn, field), field
    assert [(e.name, e.type, e.path, e.method, e.schedule) for e in back.events] == [
        ("Http", "HttpApi", "/h", "GET", None), ("Later", "ScheduleV2", None, None,
                                                 "cron(0 * * * ? *)")]
    assert back.events[0].payload_format_version == "1.0" and back.notes == ()



def test_without_cfn_lint_the_review_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """cfn-lint is a dev extra: where it is missing (None in sys.modules: its import fails as
    if it were not installed), `lambdalite build` says the template was not linted."""
    path = write(tmp_path / "template.yaml", [lambdalite_function("Fn")])
    for name in ["cfnlint", *(n for n in sys.modules if n.startswith("cfnlint."))]:
        monkeypatch.setitem(sys.modules, name, None)
    assert lint.review(path) == ([], lint.NOT_INSTALLED)
    with pytest.raises(DependencyError, match="pip install cfn-lint") as err:
        lint.lint(path)
    assert err.value.exit_code == 7
