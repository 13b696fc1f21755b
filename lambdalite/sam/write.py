"""SamFunction(s) -> a ``template.yaml`` a user can ``sam deploy`` as is.

    text = to_yaml([fn, other], description="lambdalite inference function")
    write(Path("build/template.yaml"), functions, header="# Written by ...\\n")

Each function becomes an ``AWS::Serverless::Function`` with what its model holds: Zip
(``CodeUri``, ``Handler``, ``Runtime``) or Image (``ImageConfig.Command``, ``Metadata``
Dockerfile/DockerContext/DockerTag), ``Architectures``, ``MemorySize``, ``Timeout``,
``Environment``, ``Events`` (Api, HttpApi, Schedule, ScheduleV2), ``FunctionUrlConfig``,
``AutoPublishAlias`` + ``ProvisionedConcurrencyConfig``, ``Metadata.LambdaliteModelDir``; the
binary media types of the Api events go to ``Globals.Api`` (the implicit API's). Outputs: the
first Api event's URL, the function's ARN and its Function URL.

PyYAML writes the text: it quotes what YAML 1.1, the version CloudFormation reads, would take
for another type (``'yes'``, ``'on'``); ruamel.yaml writes YAML 1.2 unless it also writes a
``%YAML 1.1`` directive.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from lambdalite.sam.model import FUNCTION, MODEL_DIR_METADATA, SamEvent, SamFunction

HEADER = "# Written by lambdalite; deploy with `sam deploy --guided`.\n"
DESCRIPTION = "lambdalite inference function"


def render(functions: Sequence[SamFunction], *, description: str = DESCRIPTION) -> dict[str, Any]:
    """The template as a document (what ``to_yaml`` writes)."""
    resources: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    for fn in functions:
        resources[fn.logical_id] = _resource(fn)
        outputs.update(_outputs(fn))
    doc: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": description,
    }
    types = list(dict.fromkeys(t for fn in functions for e in fn.events
                               if e.type == "Api" and e.api is None for t in e.binary_media_types))
    if types:   # only the implicit API reads them
        doc["Globals"] = {"Api": {"BinaryMediaTypes": [t.replace("/", "~1") for t in types]}}
    doc["Resources"] = resources
    doc["Outputs"] = outputs
    return doc


def to_yaml(functions: Sequence[SamFunction], *, description: str = DESCRIPTION,
            header: str = HEADER) -> str:
    return header + yaml.safe_dump(render(functions, description=description), sort_keys=False,
                                   default_flow_style=False)


def write(path: Path, functions: Sequence[SamFunction], *, description: str = DESCRIPTION,
          header: str = HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_yaml(functions, description=description, header=header))
    return path


def _resource(fn: SamFunction) -> dict[str, Any]:
    props: dict[str, Any] = {"PackageType": fn.package_type}
    if fn.package_type == "Zip":
        props.update(_present(CodeUri=fn.code_uri, InlineCode=fn.inline_code,
                              Handler=fn.handler, Runtime=fn.runtime))
    elif fn.image_command:
        props["ImageConfig"] = {"Command": list(fn.image_command)}
    props.update(_present(FunctionName=fn.function_name))
    props["Architectures"] = [fn.architecture]
    props["MemorySize"] = fn.memory_mb
    props["Timeout"] = fn.timeout_s
    if fn.environment:
        props["Environment"] = {"Variables": dict(fn.environment)}
    props.update(_present(ReservedConcurrentExecutions=fn.reserved_concurrency))
    events = {e.name: _event(e) for e in fn.events}
    if events:
        props["Events"] = events
    if fn.function_url_auth:
        props["FunctionUrlConfig"] = {"AuthType": fn.function_url_auth}
    if fn.auto_publish_alias:
        props["AutoPublishAlias"] = fn.auto_publish_alias
    if fn.provisioned_concurrency:
        props["ProvisionedConcurrencyConfig"] = {
            "ProvisionedConcurrentExecutions": fn.provisioned_concurrency}
    if fn.snap_start:
        props["SnapStart"] = {"ApplyOn": fn.snap_start}
    if fn.ephemeral_storage_mb is not None:
        props["EphemeralStorage"] = {"Size": fn.ephemeral_storage_mb}
    resource: dict[str, Any] = {"Type": FUNCTION}
    metadata = _present(Dockerfile=fn.dockerfile, DockerContext=fn.docker_context,
                        DockerTag=fn.docker_tag, **{MODEL_DIR_METADATA: fn.model_dir})
    if metadata:
        resource["Metadata"] = metadata
    resource["Properties"] = props
    return resource


def _event(event: SamEvent) -> dict[str, Any]:
    ref = {"Ref": event.api} if event.api else None
    if event.type == "Api":
        props = _present(Path=event.path, Method=event.method, RestApiId=ref)
    elif event.type == "HttpApi":
        props = _present(Path=event.path, Method=event.method, ApiId=ref,
                         PayloadFormatVersion=event.payload_format_version)
    elif event.type == "Schedule":
        props = _present(Schedule=event.schedule, Input=event.input)
    elif event.type == "ScheduleV2":
        props = _present(ScheduleExpression=event.schedule, Input=event.input)
    else:
        raise ValueError(f"cannot write a {event.type} event: the model has no properties for it")
    return {"Type": event.type, "Properties": props}


def _outputs(fn: SamFunction) -> dict[str, Any]:
    outputs: dict[str, Any] = {}
    api = next((e for e in fn.events if e.type == "Api" and e.api is None), None)
    if api is not None:
        outputs[f"{fn.logical_id}Api"] = {
            "Description": f"POST images here ({fn.architecture})",
            "Value": {"Fn::Sub": "https://${ServerlessRestApi}.execute-api.${AWS::Region}"
                                 f".amazonaws.com/{api.stage or 'Prod'}{api.path}"},
        }
    outputs[f"{fn.logical_id}Arn"] = {"Value": {"Fn::GetAtt": [fn.logical_id, "Arn"]}}
    if fn.function_url_auth:
        outputs[f"{fn.logical_id}Url"] = {
            "Description": "Function URL",
            "Value": {"Fn::GetAtt": [f"{fn.logical_id}Url", "FunctionUrl"]},
        }
    return outputs


def _present(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


__all__ = ["DESCRIPTION", "HEADER", "render", "to_yaml", "write"]
