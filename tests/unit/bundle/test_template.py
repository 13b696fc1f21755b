from __future__ import annotations

import json

import yaml

from lambdalite.bundle.template import HANDLER, FunctionDef, TemplateOptions, render, to_yaml


def test_zip_function_has_runtime_handler_and_code_uri():
    doc = render(TemplateOptions((FunctionDef("Fn", runtime="python3.11", memory_mb=2048),)))
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
    fn = FunctionDef("Fn", arch="arm64", package_type="image", variant="int8", backend="tf")
    res = render(TemplateOptions((fn,)))["Resources"]["Fn"]
    props = res["Properties"]
    assert props["PackageType"] == "Image" and "Runtime" not in props and "Handler" not in props
    assert props["ImageConfig"]["Command"] == [HANDLER]
    assert res["Metadata"]["DockerContext"] == "./image-arm64"
    assert props["Environment"]["Variables"] == {"LAMBDALITE_BACKEND": "tf",
                                                 "LAMBDALITE_VARIANT": "int8"}


def test_options_add_url_warmup_and_provisioned_concurrency():
    opts = TemplateOptions((FunctionDef("Fn"),), function_url=True,
                           warmup_schedule="rate(5 minutes)", provisioned_concurrency=3)
    doc = yaml.safe_load(to_yaml(opts))
    props = doc["Resources"]["Fn"]["Properties"]
    warm = props["Events"]["Warmup"]["Properties"]
    assert warm["Schedule"] == "rate(5 minutes)" and json.loads(warm["Input"]) == {"warmup": True}
    assert props["FunctionUrlConfig"] == {"AuthType": "AWS_IAM"}
    assert props["AutoPublishAlias"] == "live"
    assert props["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 3}
    assert doc["Outputs"]["FnUrl"]["Value"] == {"Fn::GetAtt": ["FnUrl", "FunctionUrl"]}
