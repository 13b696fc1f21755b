"""SAM template writer: a ``template.yaml`` a user can ``sam deploy`` as is.

The API event is the one of the SAM "machine learning" quick-start template
(``POST /classify_digit`` on the implicit ``ServerlessRestApi``, binary media types for
images); options add a Function URL, a keep-warm schedule and provisioned concurrency.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from lambdalite import envvars

HANDLER = "lambdalite.function.handler.lambda_handler"
# Where `lambdalite build --template` finds the model folder (relative to the template).
MODEL_DIR_METADATA = "LambdaliteModelDir"
BINARY_MEDIA_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/octet-stream")


@dataclass(frozen=True)
class FunctionDef:
    logical_id: str
    arch: str = "x86_64"
    package_type: Literal["zip", "image"] = "zip"
    runtime: str = "python3.12"
    memory_mb: int = 1024
    timeout_s: int = 30
    backend: str = "litert"
    variant: str | None = None
    api_path: str | None = "/classify_digit"  # None: no Api event
    code_uri: str | None = None          # zip: relative to the template
    docker_context: str | None = None    # image: relative to the template
    model_dir: str | None = None         # Metadata.LambdaliteModelDir, relative to the template

    def resolved_code_uri(self) -> str:
        return self.code_uri or f"{self.arch}/function.zip"

    def resolved_context(self) -> str:
        return self.docker_context or f"./image-{self.arch}"


@dataclass(frozen=True)
class TemplateOptions:
    functions: tuple[FunctionDef, ...]
    description: str = "lambdalite inference function"
    function_url: bool = False
    function_url_auth: Literal["AWS_IAM", "NONE"] = "AWS_IAM"
    warmup_schedule: str | None = None          # e.g. "rate(5 minutes)"
    provisioned_concurrency: int | None = None  # with AutoPublishAlias "live"
    alias: str = "live"
    extra_environment: dict[str, str] = field(default_factory=dict)


def _environment(fn: FunctionDef, extra: dict[str, str]) -> dict[str, str]:
    env = {envvars.BACKEND: fn.backend}
    if fn.variant:
        env[envvars.VARIANT] = fn.variant
    return {**env, **extra}


def _function(fn: FunctionDef, opts: TemplateOptions) -> tuple[dict[str, Any], dict[str, Any]]:
    props: dict[str, Any] = {
        "Architectures": [fn.arch],
        "MemorySize": fn.memory_mb,
        "Timeout": fn.timeout_s,
        "Environment": {"Variables": _environment(fn, opts.extra_environment)},
    }
    resource: dict[str, Any] = {"Type": "AWS::Serverless::Function"}
    if fn.package_type == "zip":
        props = {"PackageType": "Zip", "CodeUri": fn.resolved_code_uri(), "Handler": HANDLER,
                 "Runtime": fn.runtime, **props}
    else:
        props = {"PackageType": "Image", "ImageConfig": {"Command": [HANDLER]}, **props}
        resource["Metadata"] = {
            "Dockerfile": "Dockerfile",
            "DockerContext": fn.resolved_context(),
            "DockerTag": f"{fn.runtime}-{fn.arch}",
        }
    if fn.model_dir:
        resource.setdefault("Metadata", {})[MODEL_DIR_METADATA] = fn.model_dir
    events: dict[str, Any] = {}
    if fn.api_path:
        events["Inference"] = {"Type": "Api",
                               "Properties": {"Path": fn.api_path, "Method": "post"}}
    if opts.warmup_schedule:
        events["Warmup"] = {
            "Type": "Schedule",
            "Properties": {"Schedule": opts.warmup_schedule, "Input": json.dumps({"warmup": True})},
        }
    if events:
        props["Events"] = events
    if opts.function_url:
        props["FunctionUrlConfig"] = {"AuthType": opts.function_url_auth}
    if opts.provisioned_concurrency:
        props["AutoPublishAlias"] = opts.alias
        props["ProvisionedConcurrencyConfig"] = {
            "ProvisionedConcurrentExecutions": opts.provisioned_concurrency
        }
    resource["Properties"] = props
    outputs: dict[str, Any] = {}
    if fn.api_path:
        outputs[f"{fn.logical_id}Api"] = {
            "Description": f"POST images here ({fn.arch})",
            "Value": {"Fn::Sub": "https://${ServerlessRestApi}.execute-api.${AWS::Region}"
                                 f".amazonaws.com/Prod{fn.api_path}"},
        }
    outputs[f"{fn.logical_id}Arn"] = {"Value": {"Fn::GetAtt": [fn.logical_id, "Arn"]}}
    if opts.function_url:
        outputs[f"{fn.logical_id}Url"] = {
            "Description": "Function URL",
            "Value": {"Fn::GetAtt": [f"{fn.logical_id}Url", "FunctionUrl"]},
        }
    return resource, outputs


def render(opts: TemplateOptions) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    for fn in opts.functions:
        resource, outs = _function(fn, opts)
        resources[fn.logical_id] = resource
        outputs.update(outs)
    doc: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": opts.description,
        "Globals": {"Api": {"BinaryMediaTypes": [t.replace("/", "~1") for t in BINARY_MEDIA_TYPES]}},
        "Resources": resources,
        "Outputs": outputs,
    }
    if not any(fn.api_path for fn in opts.functions):
        del doc["Globals"]  # binary media types only matter to the API
    return doc


def to_yaml(opts: TemplateOptions) -> str:
    header = "# Written by `lambdalite build`/`lambdalite template`; deploy with `sam deploy --guided`.\n"
    return header + yaml.safe_dump(render(opts), sort_keys=False, default_flow_style=False)


def write(path: Path, opts: TemplateOptions) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_yaml(opts))
    return path


def lint(path: Path) -> list[str]:
    """cfn-lint findings for a template (empty = clean)."""
    from cfnlint.api import ManualArgs, lint_file  # deferred: cfn-lint loads its specs (~1 s)

    matches = lint_file(path, config=ManualArgs(regions=["us-east-1"]))
    return [str(m) for m in matches]
