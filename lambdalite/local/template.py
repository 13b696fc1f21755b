"""SAM ``template.yaml`` -> the ``FunctionSpec`` of each ``AWS::Serverless::Function``.

    functions = load_template("build/template.yaml")        # {"InferenceFunction": FunctionSpec}
    template = read_template(path, parameter_overrides={"Stage": "dev"})   # + warnings, names

What ``sam local`` reads, read the same way: ``Globals.Function`` merged under each function
(scalars: the function wins; maps: merged; lists: concatenated), ``CodeUri`` relative to the
template (a folder, or a .zip unpacked to a temporary folder), image functions from their
build context (``Metadata.DockerContext``/task, lambdalite's build layout), ``Events`` of type
Api / HttpApi / Schedule. Every property that is not emulated is listed in
``FunctionSpec.unsupported`` (and in ``Template.warnings``) instead of being dropped silently.
A function that cannot be read (its CodeUri is missing, ...) does not hide the others: it is
listed in ``Template.broken`` with its error; ``load_template`` is strict and raises it.
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lambdalite.lambda_facts import (
    ARCHS,
    DEFAULT_RUNTIME,
    MEMORY_MAX_MB,
    MEMORY_MIN_MB,
    TIMEOUT_MAX_S,
)
from lambdalite.local.cfn import Resolver, describe, is_intrinsic, load_yaml, merge_globals
from lambdalite.local.cfn import mapping as _mapping
from lambdalite.local.engine_types import EventSource, FunctionSpec
from lambdalite.local.errors import TemplateError

FUNCTION = "AWS::Serverless::Function"
REST_API, HTTP_API = "AWS::Serverless::Api", "AWS::Serverless::HttpApi"
TEMPLATE_NAMES = ("template.yaml", "template.yml", "template.json")
# Defaults of SAM's AWS::Serverless::Function (the SAM specification).
DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S = 128, 3
DEFAULT_REST_STAGE, DEFAULT_HTTP_STAGE = "Prod", "$default"
HTTP_DEFAULT_ROUTE = "$default"

# Properties that change how the function runs, and are emulated.
EMULATED = frozenset({
    "Handler", "CodeUri", "InlineCode", "Runtime", "MemorySize", "Timeout", "Environment",
    "Architectures", "ReservedConcurrentExecutions", "Events", "PackageType", "ImageConfig",
    "ImageUri", "FunctionName",
})
# Properties with no effect on a local run: not reported.
NO_LOCAL_EFFECT = frozenset({"Description", "Tags", "PropagateTags"})
API_PROPERTIES = frozenset({"StageName", "BinaryMediaTypes", "Name", "Description", "Tags"})
_FROM_PYTHON = re.compile(r"^FROM\s+\S*lambda/python:(3\.\d+)", re.I | re.M)
_CMD = re.compile(r"^CMD\s+\[\s*\"([^\"]+)\"", re.I | re.M)


@dataclass(frozen=True)
class Template:
    path: Path
    functions: dict[str, FunctionSpec]
    function_names: dict[str, str]     # FunctionName property -> logical id
    warnings: tuple[str, ...]          # unsupported properties, skipped resources
    # Functions that cannot be run, by logical id -> the error (which names the function).
    broken: dict[str, str] = field(default_factory=dict)


def load_template(path: str | Path, *,
                  parameter_overrides: Mapping[str, str] | None = None) -> dict[str, FunctionSpec]:
    """The template's functions by logical id (see ``read_template`` for the warnings);
    raises TemplateError if any function cannot be read."""
    template = read_template(path, parameter_overrides=parameter_overrides)
    if template.broken:
        raise TemplateError("\n".join(template.broken.values()))
    return template.functions


def read_template(path: str | Path, *,
                  parameter_overrides: Mapping[str, str] | None = None) -> Template:
    path = _template_file(Path(path))
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"cannot read {path}: {exc}") from None
    doc = load_yaml(text, str(path))
    if not isinstance(doc, dict) or not isinstance(doc.get("Resources"), dict):
        raise TemplateError(f"{path} has no Resources section: is it a SAM template?")
    return _Reader(path, doc, dict(parameter_overrides or {})).read()


def unsupported_warnings(functions: Mapping[str, FunctionSpec]) -> list[str]:
    return [f"{name}: {item}" for name, spec in functions.items() for item in spec.unsupported]


def _template_file(path: Path) -> Path:
    if path.is_dir():
        for name in TEMPLATE_NAMES:
            if (path / name).is_file():
                return path / name
        raise TemplateError(f"no template.yaml in {path}: pass -t PATH/template.yaml, or write "
                            "one with `lambdalite build` / `lambdalite template`")
    if not path.is_file():
        raise TemplateError(f"template {path} not found: pass -t PATH/template.yaml, or write "
                            "one with `lambdalite build` / `lambdalite template`")
    return path


class _Reader:
    def __init__(self, path: Path, doc: dict[str, Any], overrides: dict[str, str]) -> None:
        self.path = path
        self.dir = path.parent.resolve()
        self.doc = doc
        self.warnings: list[str] = []
        self.resolver = Resolver(self._parameters(overrides), _mapping(doc.get("Mappings")))
        globals_ = _mapping(self.resolver.resolve(doc.get("Globals") or {}))
        self.globals_function = _mapping(globals_.get("Function"))
        self.implicit_api = _mapping(globals_.get("Api"))
        self.implicit_http_api = _mapping(globals_.get("HttpApi"))
        self.resources: dict[str, Any] = doc["Resources"]

    def read(self) -> Template:
        functions: dict[str, FunctionSpec] = {}
        names: dict[str, str] = {}
        broken: dict[str, str] = {}
        for logical_id, resource in self.resources.items():
            kind = resource.get("Type") if isinstance(resource, dict) else None
            if kind == "AWS::Lambda::Function":
                self.warnings.append(f"{logical_id}: AWS::Lambda::Function is not run locally "
                                     "(only AWS::Serverless::Function)")
            elif kind in (REST_API, HTTP_API):
                self._check_api(logical_id, resource)
            if kind != FUNCTION:
                continue
            try:
                spec, function_name = self._function(logical_id, resource)
            except TemplateError as exc:
                # One broken function must not stop the others from running (`invoke Other`).
                broken[logical_id] = exc.message
                function_name = _mapping(resource.get("Properties")).get("FunctionName")
            else:
                if spec is None:
                    continue
                functions[logical_id] = spec
            if isinstance(function_name, str):
                names[function_name] = logical_id
        if not functions:
            if broken:
                raise TemplateError("\n".join(broken.values()))
            raise TemplateError(f"{self.path} defines no Python AWS::Serverless::Function to run")
        warnings = [*self.warnings, *unsupported_warnings(functions)]
        return Template(self.path, functions, names, tuple(warnings), broken)

    # -- parameters and APIs -------------------------------------------------------------------

    def _parameters(self, overrides: dict[str, str]) -> dict[str, Any]:
        declared = _mapping(self.doc.get("Parameters"))
        for key in overrides.keys() - declared.keys():
            self.warnings.append(f"parameter override {key} is not a Parameter of the template")
        values = {k: p["Default"] for k, p in declared.items()
                  if isinstance(p, dict) and "Default" in p}
        values.update({k: v for k, v in overrides.items() if k in declared})
        return values

    def _check_api(self, logical_id: str, resource: dict[str, Any]) -> None:
        props = _mapping(resource.get("Properties"))
        for key in sorted(props.keys() - API_PROPERTIES):
            self.warnings.append(f"{logical_id}: {key} is not emulated by start-api "
                                 "(routes come from the functions' Events)")

    def _api(self, ref: Any, kind: str, fn: str, event: str) -> dict[str, Any]:
        """The properties of the API an event attaches to (explicit, or SAM's implicit one)."""
        implicit = self.implicit_api if kind == REST_API else self.implicit_http_api
        if ref is None:
            return implicit
        name = ref.get("Ref") if isinstance(ref, dict) else None
        resource = self.resources.get(name) if isinstance(name, str) else None
        if not isinstance(resource, dict) or resource.get("Type") != kind:
            raise TemplateError(f"{fn}: Events.{event} refers to {describe(ref)}, which is not "
                                f"an {kind} of this template")
        return merge_globals(implicit, self.resolver.resolve(_mapping(resource.get("Properties"))))

    # -- functions -----------------------------------------------------------------------------

    def _function(self, name: str, resource: dict[str, Any]) -> tuple[FunctionSpec | None, Any]:
        props = merge_globals(self.globals_function,
                              self.resolver.resolve(_mapping(resource.get("Properties"))))
        unsupported = [f"{key}: not emulated locally, ignored"
                       for key in sorted(props.keys() - EMULATED - NO_LOCAL_EFFECT)]
        if "Condition" in resource:
            unsupported.append(f"Condition {resource['Condition']}: not evaluated, the "
                               "function is always defined locally")
        package_type = props.get("PackageType", "Zip")
        if package_type not in ("Zip", "Image"):
            raise TemplateError(f"{name}: PackageType must be Zip or Image, not {package_type!r}")
        if package_type == "Image":
            handler, code_dir, runtime = self._image(name, props, resource, unsupported)
        else:
            runtime = _text(name, "Runtime", props.get("Runtime"))
            if not runtime.startswith("python"):
                self.warnings.append(f"{name}: Runtime {runtime} is not run locally "
                                     "(lambdalite runs Python functions only)")
                return None, None
            handler = _text(name, "Handler", props.get("Handler"))
            code_dir = self._zip_code(name, props, handler)
        spec = FunctionSpec(
            name=name, handler=handler, code_dir=code_dir, runtime=runtime,
            memory_mb=_number(name, "MemorySize", props.get("MemorySize", DEFAULT_MEMORY_MB),
                              MEMORY_MIN_MB, MEMORY_MAX_MB, int),
            timeout_s=_number(name, "Timeout", props.get("Timeout", DEFAULT_TIMEOUT_S),
                              1, TIMEOUT_MAX_S, float),
            architecture=self._architecture(name, props.get("Architectures"), unsupported),
            package_type=package_type,
            environment=self._environment(name, props.get("Environment"), unsupported),
            reserved_concurrency=self._reserved(name, props, unsupported),
            events=self._events(name, props.get("Events"), unsupported),
            unsupported=tuple(unsupported),
        )
        return spec, props.get("FunctionName")

    def _zip_code(self, name: str, props: dict[str, Any], handler: str) -> Path:
        if "InlineCode" in props:
            return _inline(name, _text(name, "InlineCode", props["InlineCode"]), handler)
        uri = props.get("CodeUri", ".")
        if isinstance(uri, dict) or (isinstance(uri, str) and uri.startswith("s3://")):
            raise TemplateError(f"{name}: CodeUri {describe(uri)} is in S3; point CodeUri at a "
                                "local folder or .zip (the output of `lambdalite build`)")
        code = self.dir / _text(name, "CodeUri", uri)
        if code.is_dir():
            return code.resolve()
        if code.is_file():
            return _unpack(name, code)
        raise TemplateError(f"{name}: CodeUri {uri} not found (looked for {code}); run "
                            "`lambdalite build` first or fix the path")

    def _image(self, name: str, props: dict[str, Any], resource: dict[str, Any],
               unsupported: list[str]) -> tuple[str, Path, str]:
        metadata = _mapping(self.resolver.resolve(resource.get("Metadata")))
        context = metadata.get("DockerContext")
        if not isinstance(context, str):
            raise TemplateError(
                f"{name}: PackageType Image needs Metadata.DockerContext (the folder with the "
                "Dockerfile and task/, as `lambdalite build --package-type image` writes it)")
        task = self.dir / context / "task"
        if not task.is_dir():
            raise TemplateError(f"{name}: {task} not found: the image's build context must hold "
                                "the task root in task/ (run `lambdalite build --package-type "
                                "image`)")
        dockerfile = self.dir / context / str(metadata.get("Dockerfile", "Dockerfile"))
        missing = "" if dockerfile.is_file() else (
            f"{dockerfile} (Metadata.Dockerfile in Metadata.DockerContext) does not exist; "
            "fix those two, or write it again with `lambdalite build --package-type image`")
        text = "" if missing else dockerfile.read_text(errors="replace")
        config = _mapping(props.get("ImageConfig"))
        for key in sorted(config.keys() - {"Command"}):
            unsupported.append(f"ImageConfig.{key}: not emulated, the runtime client's default "
                               "is used")
        command = config.get("Command")
        if isinstance(command, list) and command and isinstance(command[0], str):
            handler = command[0]
        elif match := _CMD.search(text):
            handler = match.group(1)
        elif missing:
            raise TemplateError(f"{name}: no handler: {missing}, or set ImageConfig.Command "
                                "[module.function]")
        else:
            raise TemplateError(f"{name}: no handler: set ImageConfig.Command [module.function] "
                                f"or a CMD [\"module.function\"] in {dockerfile}")
        if match := _FROM_PYTHON.search(text):
            runtime = f"python{match.group(1)}"
        elif missing:
            runtime = DEFAULT_RUNTIME
            unsupported.append(f"Runtime: the image's Python version is unknown, runs as "
                               f"{runtime}: {missing}")
        else:
            runtime = DEFAULT_RUNTIME
            unsupported.append(f"Runtime: the image's base is not a Lambda Python image I "
                               f"recognise in {dockerfile}; runs as {runtime}")
        return handler, task.resolve(), runtime

    def _architecture(self, name: str, value: Any, unsupported: list[str]) -> str:
        if value is None:
            return "x86_64"
        if not (isinstance(value, list) and len(value) == 1 and value[0] in ARCHS):
            raise TemplateError(f"{name}: Architectures must be [x86_64] or [arm64], "
                                f"not {value!r}")
        arch = str(value[0])
        if arch != "x86_64":
            unsupported.append(f"Architectures {arch}: runs on this machine's CPU, not {arch}")
        return arch

    def _environment(self, name: str, value: Any, unsupported: list[str]) -> dict[str, str]:
        variables = _mapping(_mapping(value).get("Variables"))
        env: dict[str, str] = {}
        for key, raw in variables.items():
            if isinstance(raw, bool):
                env[key] = "true" if raw else "false"
            elif isinstance(raw, str | int | float):
                env[key] = str(raw)
            else:
                # What `sam local` does with a value it cannot resolve: an empty string.
                env[key] = ""
                unsupported.append(f"Environment.Variables.{key}: {describe(raw)} cannot be "
                                   "resolved locally, set to '' (use --env-vars)")
        return env

    def _reserved(self, name: str, props: dict[str, Any], unsupported: list[str]) -> int | None:
        value = props.get("ReservedConcurrentExecutions")
        if value is None:
            return None
        count = _number(name, "ReservedConcurrentExecutions", value, 0, 10**6, int)
        if count == 0:
            unsupported.append("ReservedConcurrentExecutions 0 (every invoke throttled): not "
                               "emulated, runs with the default local concurrency")
            return None
        return count

    def _events(self, name: str, value: Any, unsupported: list[str]) -> tuple[EventSource, ...]:
        events: list[EventSource] = []
        for event, spec in _mapping(value).items():
            kind = spec.get("Type") if isinstance(spec, dict) else None
            props = _mapping(spec.get("Properties")) if isinstance(spec, dict) else {}
            if kind == "Api":
                events.append(self._rest_event(name, event, props, unsupported))
            elif kind == "HttpApi":
                events.append(self._http_event(name, event, props, unsupported))
            elif kind in ("Schedule", "ScheduleV2"):
                events.append(_schedule_event(name, event, kind, props))
            else:
                unsupported.append(f"Events.{event} ({kind}): not emulated; invoke the function "
                                   "with such an event (`lambdalite local invoke -e FILE`)")
        return tuple(events)

    def _rest_event(self, fn: str, event: str, props: dict[str, Any],
                    unsupported: list[str]) -> EventSource:
        api = self._api(props.get("RestApiId"), REST_API, fn, event)
        unsupported += [f"Events.{event}.{key}: not emulated by start-api"
                        for key in sorted(props.keys() - {"Path", "Method", "RestApiId"})]
        types = api.get("BinaryMediaTypes") or []
        return EventSource(
            name=event, type="Api", path=_route_path(fn, event, props.get("Path")),
            method=_method(fn, event, props.get("Method")),
            # SAM escapes "/" as "~1" in BinaryMediaTypes (a JSON pointer quirk).
            binary_media_types=tuple(str(t).replace("~1", "/") for t in types),
            stage=str(api.get("StageName", DEFAULT_REST_STAGE)))

    def _http_event(self, fn: str, event: str, props: dict[str, Any],
                    unsupported: list[str]) -> EventSource:
        api = self._api(props.get("ApiId"), HTTP_API, fn, event)
        known = {"Path", "Method", "ApiId", "PayloadFormatVersion"}
        unsupported += [f"Events.{event}.{key}: not emulated by start-api"
                        for key in sorted(props.keys() - known)]
        version = str(props.get("PayloadFormatVersion", "2.0"))
        if version not in ("1.0", "2.0"):
            raise TemplateError(f"{fn}: Events.{event}.PayloadFormatVersion must be 1.0 or 2.0")
        default_route = "Path" not in props and "Method" not in props
        return EventSource(
            name=event, type="HttpApi",
            path=HTTP_DEFAULT_ROUTE if default_route else _route_path(fn, event, props.get("Path")),
            method="ANY" if default_route else _method(fn, event, props.get("Method", "ANY")),
            stage=str(api.get("StageName", DEFAULT_HTTP_STAGE)), payload_format_version=version)


def _schedule_event(fn: str, event: str, kind: str, props: dict[str, Any]) -> EventSource:
    expression = props.get("Schedule" if kind == "Schedule" else "ScheduleExpression")
    if not isinstance(expression, str):
        raise TemplateError(f"{fn}: Events.{event} ({kind}) needs a rate(...) or cron(...) "
                            "expression")
    payload = props.get("Input")
    return EventSource(name=event, type="Schedule", schedule=expression,
                       input=payload if isinstance(payload, str) else None)


def _route_path(fn: str, event: str, path: Any) -> str:
    if not isinstance(path, str) or not path.startswith("/"):
        raise TemplateError(f"{fn}: Events.{event}.Path must be a path starting with '/', "
                            f"not {describe(path)}")
    return path


def _method(fn: str, event: str, method: Any) -> str:
    if not isinstance(method, str) or not method.strip():
        raise TemplateError(f"{fn}: Events.{event}.Method must be an HTTP method or ANY, "
                            f"not {describe(method)}")
    return method.strip().upper()


def _text(fn: str, prop: str, value: Any) -> str:
    if isinstance(value, str) and value:
        return value
    if value is None:
        raise TemplateError(f"{fn}: {prop} is required")
    if is_intrinsic(value):
        raise TemplateError(f"{fn}: {prop} is {describe(value)}, which cannot be resolved "
                            "locally; use a literal or a Parameter with a Default")
    raise TemplateError(f"{fn}: {prop} must be a string, not {value!r}")


def _number(fn: str, prop: str, value: Any, low: float, high: float, kind: type) -> Any:
    try:
        number = kind(value)
        ok = not isinstance(value, bool) and low <= number <= high
    except (TypeError, ValueError):
        ok = False
    if not ok:
        shown = describe(value) if is_intrinsic(value) else repr(value)
        raise TemplateError(f"{fn}: {prop} must be a number from {low:g} to {high:g}, "
                            f"not {shown}")
    return number


# -- unpacked code, removed when the process exits ----------------------------------------------

_unpacked: dict[tuple[Path, int, int], Path] = {}


def _scratch_dir(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _unpack(fn: str, archive: Path) -> Path:
    """A .zip CodeUri, unpacked once per process like `sam local` does (modes kept)."""
    archive = archive.resolve()
    stat = archive.stat()
    key = (archive, stat.st_mtime_ns, stat.st_size)
    if key in _unpacked:
        return _unpacked[key]
    folder = _scratch_dir("lambdalite-code-")
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                target = Path(zf.extract(info, folder))
                mode = info.external_attr >> 16 & 0o777
                if mode and not info.is_dir():
                    target.chmod(mode)
    except (zipfile.BadZipFile, OSError) as exc:
        raise TemplateError(f"{fn}: CodeUri {archive} is not a readable .zip: {exc}") from None
    _unpacked[key] = folder
    return folder


def _inline(fn: str, code: str, handler: str) -> Path:
    folder = _scratch_dir("lambdalite-inline-")
    module = handler.rsplit(".", 1)[0]
    target = folder / (module.replace(".", "/") + ".py")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(code)
    return folder
