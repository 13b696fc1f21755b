"""Document -> ``SamTemplate``: the one reading of a template that build, local and bench share.

    template = read_template("template.yaml", parameter_overrides={"Stage": "prod"})
    fn = template.functions["Fn"]       # a SamFunction; template.broken: those that cannot be read

Read as SAM and CloudFormation read it:
- ``Globals.Function`` merged under every function, ``Globals.Api`` / ``HttpApi`` under every
  API (SAM's rule: maps merge key by key, lists concatenate, scalars: the resource wins).
- Parameters give their ``Default`` or an override; pseudo parameters what ``sam local``
  answers (``intrinsics.py``).
- Numbers as CloudFormation takes them: ``MemorySize: "1024"`` and ``1024.0`` are 1024; a
  fractional ``Timeout: 2.5`` is refused, as AWS refuses it; bounds from ``lambda_facts``.
- An event must have what SAM needs (an Api event its Path and Method, a Schedule its
  expression); ``RestApiId`` / ``ApiId`` must name an API of the template.
- A function that cannot be read does not hide the others: ``broken`` holds its error, whose
  message names the function, the property and the line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from lambdalite.lambda_facts import (
    ARCHS,
    EPHEMERAL_MAX_MB,
    EPHEMERAL_MIN_MB,
    MEMORY_MAX_MB,
    MEMORY_MIN_MB,
    TIMEOUT_MAX_S,
)
from lambdalite.sam.decode import Map, Seq, decode, describe, is_intrinsic, mapping
from lambdalite.sam.errors import TemplateError
from lambdalite.sam.intrinsics import CANNOT_RESOLVE, Resolver
from lambdalite.sam.model import (
    DEFAULT_HTTP_STAGE,
    DEFAULT_MEMORY_MB,
    DEFAULT_REST_STAGE,
    DEFAULT_TIMEOUT_S,
    FUNCTION,
    HTTP_API,
    HTTP_DEFAULT_ROUTE,
    MODEL_DIR_METADATA,
    REST_API,
    AuthType,
    PackageType,
    SamApi,
    SamEvent,
    SamFunction,
    SamTemplate,
)

# Properties of AWS::Serverless::Function the model carries.
MODELLED = frozenset({
    "Handler", "CodeUri", "InlineCode", "Runtime", "MemorySize", "Timeout", "Environment",
    "Architectures", "ReservedConcurrentExecutions", "Events", "PackageType", "ImageConfig",
    "FunctionName", "FunctionUrlConfig", "AutoPublishAlias", "ProvisionedConcurrencyConfig",
    "SnapStart", "EphemeralStorage",
})
# Properties that change neither how a function runs nor what lambdalite builds: not noted.
# (ImageUri is where `sam deploy` pushes the image; lambdalite uses the build context.)
SILENT = frozenset({"Description", "Tags", "PropagateTags", "ImageUri"})
API_PROPERTIES = frozenset({"StageName", "BinaryMediaTypes"})
API_SILENT = frozenset({"Name", "Description", "Tags"})
EVENT_PROPERTIES = {
    "Api": frozenset({"Path", "Method", "RestApiId"}),
    "HttpApi": frozenset({"Path", "Method", "ApiId", "PayloadFormatVersion"}),
    "Schedule": frozenset({"Schedule", "Input"}),
    "ScheduleV2": frozenset({"ScheduleExpression", "Input"}),
}
IMPLICIT_API_IDS = {REST_API: "ServerlessRestApi", HTTP_API: "ServerlessHttpApi"}
# Lambda sets no maximum for these (the account's concurrency is); a bound against typos.
CONCURRENCY_MAX = 10**6


def read_template(path: Path | str, *,
                  parameter_overrides: Mapping[str, str] | None = None) -> SamTemplate:
    return parse(read_text(Path(path)), path, parameter_overrides=parameter_overrides)


def read_text(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"cannot read template {path}: {exc}") from None


def parse(text: str, path: Path | str, *,
          parameter_overrides: Mapping[str, str] | None = None) -> SamTemplate:
    return _Parser(Path(path), decode(text, path), dict(parameter_overrides or {})).template()


def image_functions(path: Path) -> tuple[str, ...]:
    """Logical ids of the functions with ``PackageType: Image`` (from Globals too), even when
    another property of theirs is unusable (``sam build`` is the judge of those)."""
    parser = _Parser(path, decode(read_text(path), path), {})
    return tuple(name for name, res in parser.function_resources()
                 if parser.properties(res).get("PackageType") == "Image")


def merge_globals(base: Any, override: Any) -> Any:
    """SAM's Globals rule: maps merge (the resource wins), lists concatenate, scalars override."""
    if isinstance(base, dict) and isinstance(override, dict) and not (
            is_intrinsic(base) or is_intrinsic(override)):
        merged = Map(base.items(), line=getattr(override, "line", None),
                     lines={**getattr(base, "lines", {}), **getattr(override, "lines", {})})
        for key, value in override.items():
            merged[key] = merge_globals(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(override, list):
        return Seq([*base, *override], line=getattr(override, "line", None),
                   lines=[*_item_lines(base), *_item_lines(override)])
    return override


def whole_number(value: Any) -> int | None:
    """``value`` as CloudFormation reads an Integer property (``"1024"``, ``1024.0``), or None
    when it is not a whole number (``2.5``, ``true``, ``"lots"``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                value = float(value)
            except ValueError:
                return None
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    return None


def _item_lines(seq: list[Any]) -> list[int | None]:
    return seq.lines if isinstance(seq, Seq) else [None] * len(seq)


def _flat_lines(node: Any, prefix: str, out: dict[str, int]) -> dict[str, int]:
    """Every key's line by dotted path: ``{"Environment.Variables.K": 17, ...}``."""
    if isinstance(node, Map) and not is_intrinsic(node):
        for key, value in node.items():
            if (line := node.lines.get(key)) is not None:
                out[prefix + key] = line
            _flat_lines(value, f"{prefix}{key}.", out)
    return out


class _Parser:
    def __init__(self, path: Path, doc: Map, overrides: dict[str, str]) -> None:
        resources = doc.get("Resources")
        if not isinstance(resources, Map) or is_intrinsic(resources):
            raise TemplateError(f"{path} has no Resources section: is it a SAM template?")
        self.path = path
        self.doc = doc
        self.warnings: list[str] = []
        self.resolver = Resolver(self._parameters(overrides), mapping(doc.get("Mappings")))
        globals_ = mapping(self.resolver.resolve(doc.get("Globals") or Map()))
        self.globals_function = mapping(globals_.get("Function"))
        self.resources = resources
        # Globals.Api / HttpApi: SAM's implicit API, and what every explicit one starts from.
        self.api_globals = {REST_API: mapping(globals_.get("Api")),
                            HTTP_API: mapping(globals_.get("HttpApi"))}
        self.implicit = {kind: self._api(IMPLICIT_API_IDS[kind], kind, Map())
                         for kind in (REST_API, HTTP_API)}
        self.apis: dict[str, SamApi] = {}

    def template(self) -> SamTemplate:
        kinds = {name: str(res.get("Type")) if isinstance(res, dict) else ""
                 for name, res in self.resources.items()}
        for name, kind in kinds.items():
            if kind in (REST_API, HTTP_API):
                self.apis[name] = self._api(name, kind,
                                            mapping(self.resources[name].get("Properties")))
        functions: dict[str, SamFunction] = {}
        broken: dict[str, TemplateError] = {}
        names: dict[str, str] = {}
        for name, resource in self.function_resources():
            props = self.properties(resource)
            try:
                functions[name] = self._function(name, resource, props)
            except TemplateError as exc:
                broken[name] = exc
            if isinstance(function_name := props.get("FunctionName"), str):
                names[function_name] = name
        return SamTemplate(self.path, functions, broken, names, self.apis, kinds,
                           tuple(self.warnings))

    def function_resources(self) -> list[tuple[str, Map]]:
        return [(name, res) for name, res in self.resources.items()
                if isinstance(res, Map) and res.get("Type") == FUNCTION]

    def properties(self, resource: Map) -> Map:
        """The function's Properties, resolved, with Globals.Function merged under them."""
        return cast(Map, merge_globals(
            self.globals_function, self.resolver.resolve(mapping(resource.get("Properties")))))

    # -- parameters and APIs -------------------------------------------------------------------

    def _parameters(self, overrides: dict[str, str]) -> dict[str, Any]:
        declared = mapping(self.doc.get("Parameters"))
        for key in sorted(overrides.keys() - declared.keys()):
            self.warnings.append(f"parameter override {key} is not a Parameter of the template")
        values = {k: p["Default"] for k, p in declared.items()
                  if isinstance(p, dict) and "Default" in p}
        values.update({k: v for k, v in overrides.items() if k in declared})
        return values

    def _api(self, name: str, kind: str, own: Map) -> SamApi:
        props = merge_globals(self.api_globals[kind], mapping(self.resolver.resolve(own)))
        types = props.get("BinaryMediaTypes")
        default = DEFAULT_REST_STAGE if kind == REST_API else DEFAULT_HTTP_STAGE
        return SamApi(
            logical_id=name, type=kind, stage_name=str(props.get("StageName", default)),
            # SAM escapes "/" as "~1" in BinaryMediaTypes (a JSON pointer quirk).
            binary_media_types=tuple(str(t).replace("~1", "/") for t in types)
            if isinstance(types, list) else (),
            notes=tuple(sorted(own.keys() - API_PROPERTIES - API_SILENT)),
            line=self.resources.line_of(name) if name in self.resources else None)

    # -- functions -----------------------------------------------------------------------------

    def _function(self, name: str, resource: Map, props: Map) -> SamFunction:
        metadata = mapping(self.resolver.resolve(resource.get("Metadata")))
        lines = _flat_lines(props, "", {})
        _flat_lines(metadata, "Metadata.", lines)
        if (line := self.resources.line_of(name)) is not None:
            lines[""] = line
        if "Condition" in resource and (line := resource.line_of("Condition")) is not None:
            lines["Condition"] = line
        where = SamFunction(name, path=self.path, lines=lines)
        missing: dict[str, str] = {}
        notes = [key for key in props if key not in MODELLED | SILENT]
        package_type = props.get("PackageType", "Zip")
        if package_type not in ("Zip", "Image"):
            raise where.error("PackageType", "PackageType must be Zip or Image, not "
                                             f"{describe(package_type)}")
        env = self._environment(props.get("Environment"), missing)
        image = mapping(props.get("ImageConfig"))
        notes += [f"ImageConfig.{key}" for key in image if key != "Command"]
        command = image.get("Command")
        url = props.get("FunctionUrlConfig")
        notes += [f"FunctionUrlConfig.{key}" for key in mapping(url) if key != "AuthType"]
        condition = resource.get("Condition")
        return SamFunction(
            logical_id=name,
            package_type=cast(PackageType, package_type),
            handler=_text(where, props, "Handler", missing),
            runtime=_text(where, props, "Runtime", missing),
            code_uri=_code_uri(where, props, missing),
            inline_code=_text(where, props, "InlineCode", missing),
            image_command=tuple(map(str, command)) if isinstance(command, list) else (),
            memory_mb=_whole(where, props, "MemorySize", MEMORY_MIN_MB, MEMORY_MAX_MB,
                             DEFAULT_MEMORY_MB),
            timeout_s=_whole(where, props, "Timeout", 1, TIMEOUT_MAX_S, DEFAULT_TIMEOUT_S),
            architecture=_architecture(where, props.get("Architectures")),
            environment=env,
            reserved_concurrency=_whole(where, props, "ReservedConcurrentExecutions", 0,
                                        CONCURRENCY_MAX),
            events=self._events(where, props.get("Events")),
            function_name=_text(where, props, "FunctionName", missing),
            function_url_auth=_auth(where, url),
            auto_publish_alias=_text(where, props, "AutoPublishAlias", missing),
            provisioned_concurrency=_whole(
                where, mapping(props.get("ProvisionedConcurrencyConfig")),
                "ProvisionedConcurrentExecutions", 1, CONCURRENCY_MAX,
                label="ProvisionedConcurrencyConfig.ProvisionedConcurrentExecutions"),
            snap_start=_text(where, mapping(props.get("SnapStart")), "ApplyOn", missing),
            ephemeral_storage_mb=_whole(
                where, mapping(props.get("EphemeralStorage")), "Size", EPHEMERAL_MIN_MB,
                EPHEMERAL_MAX_MB, label="EphemeralStorage.Size"),
            condition=None if condition is None else
            condition if isinstance(condition, str) else describe(condition),
            dockerfile=_metadata(metadata, "Dockerfile"),
            docker_context=_metadata(metadata, "DockerContext"),
            docker_tag=_metadata(metadata, "DockerTag"),
            model_dir=_metadata(metadata, MODEL_DIR_METADATA),
            notes=tuple(sorted(notes)),
            unresolved=missing,
            path=self.path,
            lines=lines,
        )

    def _environment(self, value: Any, missing: dict[str, str]) -> dict[str, str]:
        env: dict[str, str] = {}
        for key, raw in mapping(mapping(value).get("Variables")).items():
            if isinstance(raw, bool):
                env[key] = "true" if raw else "false"
            elif isinstance(raw, str | int | float):
                env[key] = str(raw)
            else:
                missing[f"Environment.Variables.{key}"] = describe(raw)
        return env

    def _events(self, where: SamFunction, value: Any) -> tuple[SamEvent, ...]:
        events: list[SamEvent] = []
        for name, spec in mapping(value).items():
            kind = spec.get("Type") if isinstance(spec, dict) else None
            props = mapping(spec.get("Properties")) if isinstance(spec, dict) else Map()
            line = where.line(f"Events.{name}")
            known = EVENT_PROPERTIES.get(str(kind))
            notes = tuple(sorted(props.keys() - known)) if known else ()
            at = f"Events.{name}.Properties"
            if kind == "Api":
                api = self._event_api(where, name, props.get("RestApiId"), REST_API)
                events.append(SamEvent(
                    name, "Api", path=_route(where, name, props.get("Path")),
                    method=_method(where, name, props.get("Method")),
                    api=None if api is self.implicit[REST_API] else api.logical_id,
                    stage=api.stage_name, binary_media_types=api.binary_media_types,
                    notes=notes, line=line))
            elif kind == "HttpApi":
                api = self._event_api(where, name, props.get("ApiId"), HTTP_API)
                version = str(props.get("PayloadFormatVersion", "2.0"))
                if version not in ("1.0", "2.0"):
                    raise where.error(f"{at}.PayloadFormatVersion", f"Events.{name}."
                                      "PayloadFormatVersion must be 1.0 or 2.0")
                default_route = "Path" not in props and "Method" not in props
                events.append(SamEvent(
                    name, "HttpApi",
                    path=HTTP_DEFAULT_ROUTE if default_route
                    else _route(where, name, props.get("Path")),
                    method="ANY" if default_route
                    else _method(where, name, props.get("Method", "ANY")),
                    api=None if api is self.implicit[HTTP_API] else api.logical_id,
                    stage=api.stage_name, payload_format_version=version, notes=notes,
                    line=line))
            elif kind in ("Schedule", "ScheduleV2"):
                expression = props.get("Schedule" if kind == "Schedule" else "ScheduleExpression")
                if not isinstance(expression, str):
                    raise where.error(f"Events.{name}", f"Events.{name} ({kind}) needs a "
                                                        "rate(...) or cron(...) expression")
                payload = props.get("Input")
                events.append(SamEvent(name, kind, schedule=expression,
                                       input=payload if isinstance(payload, str) else None,
                                       notes=notes, line=line))
            else:
                events.append(SamEvent(name, str(kind), line=line))
        return tuple(events)

    def _event_api(self, where: SamFunction, event: str, ref: Any, kind: str) -> SamApi:
        """The API an event attaches to: the one ``ref`` names, or SAM's implicit one."""
        if ref is None:
            return self.implicit[kind]
        name = ref.get("Ref") if isinstance(ref, dict) else None
        api = self.apis.get(name) if isinstance(name, str) else None
        if api is None or api.type != kind:
            key = "RestApiId" if kind == REST_API else "ApiId"
            raise where.error(f"Events.{event}.Properties.{key}",
                              f"Events.{event} refers to {describe(ref)}, which is not an "
                              f"{kind} of this template")
        return api


def _text(where: SamFunction, props: Map, key: str, missing: dict[str, str]) -> str | None:
    """A string property: None when absent, or (noted in ``missing``) an intrinsic."""
    value = props.get(key)
    if value is None:
        return None
    if is_intrinsic(value):
        missing[key] = describe(value)
        return None
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)    # CloudFormation reads a number where a String goes as its text
    raise where.error(key, f"{key} must be a string, not {value!r}")


def _code_uri(where: SamFunction, props: Map, missing: dict[str, str]) -> str | None:
    value = props.get("CodeUri")
    if isinstance(value, dict) and not is_intrinsic(value):
        return f"s3://{value.get('Bucket')}/{value.get('Key')}"
    return _text(where, props, "CodeUri", missing)


def _metadata(metadata: Map, key: str) -> str | None:
    value = metadata.get(key)
    return str(value) if isinstance(value, str | int | float) and value != "" else None


def _whole(where: SamFunction, props: Map, key: str, low: int, high: int,
           default: int | None = None, *, label: str | None = None) -> Any:
    value = props.get(key, default)
    if value is None:
        return None
    label = label or key
    number = whole_number(value)
    if number is not None and low <= number <= high:
        return number
    shown = f"{describe(value)}, {CANNOT_RESOLVE}" if is_intrinsic(value) else repr(value)
    raise where.error(label, f"{label} must be a whole number from {low} to {high}, "
                             f"not {shown}")


def _architecture(where: SamFunction, value: Any) -> str:
    if value is None:
        return "x86_64"
    if isinstance(value, list) and len(value) == 1 and value[0] in ARCHS:
        return str(value[0])
    shown = describe(value) if is_intrinsic(value) else repr(value)
    raise where.error("Architectures", f"Architectures must be [x86_64] or [arm64], not {shown}")


def _auth(where: SamFunction, config: Any) -> AuthType | None:
    if config is None:
        return None
    auth = mapping(config).get("AuthType")
    if auth not in ("AWS_IAM", "NONE"):
        raise where.error("FunctionUrlConfig", "FunctionUrlConfig.AuthType must be AWS_IAM or "
                                               f"NONE, not {describe(auth)}")
    return cast(AuthType, auth)


def _route(where: SamFunction, event: str, path: Any) -> str:
    if not isinstance(path, str) or not path.startswith("/"):
        raise where.error(f"Events.{event}.Properties.Path", f"Events.{event}.Path must be a "
                          f"path starting with '/', not {describe(path)}")
    return path


def _method(where: SamFunction, event: str, method: Any) -> str:
    if not isinstance(method, str) or not method.strip():
        raise where.error(f"Events.{event}.Properties.Method", f"Events.{event}.Method must be "
                          f"an HTTP method or ANY, not {describe(method)}")
    return method.strip()


__all__ = ["image_functions", "merge_globals", "parse", "read_template", "read_text", "whole_number"]
