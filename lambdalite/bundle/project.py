"""``lambdalite build --template FILE``: a user's SAM template -> what to build, per function.

    functions = read_project(Path("template.yaml"), overrides={"memory_mb": 2048})
    options = functions[0].build_options(Path("build"))      # -> api.build(options)
    write_template(Path("build/template.yaml"), functions)

Read from each ``AWS::Serverless::Function`` (``Globals.Function`` merged under it, as SAM
does): ``Runtime`` (zip) or ``Metadata.DockerTag`` (image, ``python3.X-<arch>`` as
``lambdalite template`` writes it), ``Architectures``, ``PackageType``, ``MemorySize``,
``Timeout``, ``Environment.Variables`` (``LAMBDALITE_VARIANT``/``LAMBDALITE_BACKEND``; the
others are carried over), ``Events`` (the Api path, a Schedule warm-up),
``FunctionUrlConfig``, ``AutoPublishAlias`` + ``ProvisionedConcurrencyConfig`` and the model
folder from ``Metadata.LambdaliteModelDir`` (relative to the template). An explicit flag
(``overrides``) wins over the template. ``CodeUri`` is not read: the build makes the code.
What the written template cannot carry is listed in ``ProjectFunction.notes``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from lambdalite import envvars
from lambdalite.bundle.api import PackageOptions
from lambdalite.bundle.errors import ProjectError
from lambdalite.bundle.template import (
    MODEL_DIR_METADATA,
    FunctionDef,
    TemplateOptions,
    render,
)
from lambdalite.lambda_facts import (
    ARCHS,
    BUILDABLE_RUNTIMES,
    MEMORY_MAX_MB,
    MEMORY_MIN_MB,
    TIMEOUT_MAX_S,
)
from lambdalite.local.cfn import Resolver, describe, is_intrinsic, load_yaml, merge_globals
from lambdalite.local.cfn import mapping as _mapping
from lambdalite.local.errors import TemplateError
from lambdalite.local.template import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, FUNCTION

_DOCKER_TAG = re.compile(r"^(python3\.\d+)-")
# Properties OUT/template.yaml writes itself (or that the build replaces): not reported.
_READ = frozenset({
    "Runtime", "Architectures", "PackageType", "MemorySize", "Timeout", "Environment", "Events",
    "FunctionUrlConfig", "AutoPublishAlias", "ProvisionedConcurrencyConfig", "CodeUri",
    "Handler", "ImageConfig", "ImageUri",
})


@dataclass(frozen=True)
class ProjectFunction:
    """One function of the template, with the flags' overrides applied and checked."""

    logical_id: str
    model_dir: Path
    runtime: str
    arch: str
    package_type: Literal["zip", "image"]
    memory_mb: int
    timeout_s: int
    variant: str | None
    backend: Literal["litert", "tf"]
    api_path: str | None = None                 # None: no Api event
    function_url_auth: Literal["AWS_IAM", "NONE"] | None = None
    warmup_schedule: str | None = None
    alias: str = "live"
    provisioned_concurrency: int | None = None
    environment: dict[str, str] = field(default_factory=dict)  # other variables, kept as is
    notes: tuple[str, ...] = ()                 # what OUT/template.yaml does not carry

    def build_options(self, out_dir: Path, **extra: Any) -> PackageOptions:
        """``extra``: the build-only options (extra_requirements, base_image_digest)."""
        return PackageOptions(
            model_dir=self.model_dir, out_dir=out_dir, variant=self.variant,
            backend=self.backend, runtime=self.runtime, arch=self.arch,
            package_type=self.package_type, memory_mb=self.memory_mb,
            timeout_s=self.timeout_s, function_name=self.logical_id, **extra)

    def template_options(self, template_dir: Path) -> TemplateOptions:
        fn = FunctionDef(
            logical_id=self.logical_id, arch=self.arch, package_type=self.package_type,
            runtime=self.runtime, memory_mb=self.memory_mb, timeout_s=self.timeout_s,
            backend=self.backend, variant=self.variant, api_path=self.api_path,
            model_dir=relative_model_dir(self.model_dir, template_dir))
        return TemplateOptions(
            (fn,), function_url=self.function_url_auth is not None,
            function_url_auth=self.function_url_auth or "AWS_IAM",
            warmup_schedule=self.warmup_schedule,
            provisioned_concurrency=self.provisioned_concurrency, alias=self.alias,
            extra_environment=dict(self.environment))


def relative_model_dir(model_dir: Path, template_dir: Path) -> str:
    """``Metadata.LambdaliteModelDir``: ``./<path>`` when the model folder is inside the
    template's folder; relative (``../model``) when both are in the same project (git work
    tree), so the checkout can move; else absolute (a ``../../..`` chain out of the project
    breaks silently when either moves, and says less)."""
    model, base = model_dir.resolve(), template_dir.resolve()
    if model.is_relative_to(base):
        rel = Path(os.path.relpath(model, base)).as_posix()
        return "." if rel == "." else f"./{rel}"
    project = _work_tree(base)
    if project is not None and model.is_relative_to(project):
        return Path(os.path.relpath(model, base)).as_posix()
    return model.as_posix()


def _work_tree(folder: Path) -> Path | None:
    """The nearest folder at or above ``folder`` holding ``.git`` (the project's root)."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def image_functions(path: Path) -> tuple[str, ...]:
    """Logical ids of the template's functions with ``PackageType: Image`` (Globals too)."""
    doc = _load(path)
    globals_fn = _mapping(_mapping(doc.get("Globals")).get("Function"))
    return tuple(
        name for name, res in doc["Resources"].items()
        if isinstance(res, dict) and res.get("Type") == FUNCTION
        and _mapping(res.get("Properties")).get("PackageType", globals_fn.get("PackageType"))
        == "Image")


def read_project(path: Path, *, function: str | None = None,
                 overrides: Mapping[str, Any] | None = None) -> tuple[ProjectFunction, ...]:
    """The template's functions (or the one named ``function``), overrides applied.

    ``overrides`` keys: model_dir, variant, backend, runtime, arch, package_type, memory_mb,
    timeout_s, function_name, api_path, function_url (bool), warmup_schedule,
    provisioned_concurrency; only the flags the user gave."""
    doc = _load(path)
    resolver = Resolver(_parameter_defaults(doc), _mapping(doc.get("Mappings")))
    globals_fn = _mapping(_mapping(resolver.resolve(doc.get("Globals") or {})).get("Function"))
    resources = {k: v for k, v in doc["Resources"].items()
                 if isinstance(v, dict) and v.get("Type") == FUNCTION}
    if not resources:
        raise ProjectError(f"{path} defines no AWS::Serverless::Function to build")
    if function is not None:
        if function not in resources:
            raise ProjectError(f"{path} has no function {function!r}; its functions: "
                               f"{', '.join(resources)}")
        resources = {function: resources[function]}
    over = dict(overrides or {})
    if len(resources) > 1 and over.get("function_name"):
        raise ProjectError(f"--name renames one function but {path} has {len(resources)}: "
                           "pick one with --function")
    reader = _FunctionReader(path, resolver, globals_fn, over)
    return tuple(reader.read(name, res) for name, res in resources.items())


def write_template(path: Path, functions: tuple[ProjectFunction, ...]) -> Path:
    """OUT/template.yaml for the built functions (each keeps its logical id and settings)."""
    docs = [render(fn.template_options(path.parent)) for fn in functions]
    doc = docs[0]
    for other in docs[1:]:
        doc["Resources"].update(other["Resources"])
        doc["Outputs"].update(other["Outputs"])
    header = "# Written by `lambdalite build --template`; deploy with `sam deploy --guided`.\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False))
    return path


def _load(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"cannot read template {path}: {exc}") from None
    try:
        doc = load_yaml(text, str(path))
    except TemplateError as exc:
        raise ProjectError(exc.message) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("Resources"), dict):
        raise ProjectError(f"{path} has no Resources section: is it a SAM template?")
    return doc


def _parameter_defaults(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: p["Default"] for k, p in _mapping(doc.get("Parameters")).items()
            if isinstance(p, dict) and "Default" in p}


class _FunctionReader:
    def __init__(self, path: Path, resolver: Resolver, globals_fn: dict[str, Any],
                 overrides: dict[str, Any]) -> None:
        self.path = path
        self.resolver = resolver
        self.globals_fn = globals_fn
        self.over = overrides

    def read(self, name: str, resource: dict[str, Any]) -> ProjectFunction:
        props = merge_globals(self.globals_fn,
                              self.resolver.resolve(_mapping(resource.get("Properties"))))
        metadata = _mapping(self.resolver.resolve(resource.get("Metadata")))
        notes = [f"{key}: not written to the built template" for key in sorted(
            props.keys() - _READ - {"Description", "Tags", "FunctionName"})]
        package_type = self._package_type(name, props)
        env = {k: self._env_value(name, k, v) for k, v in _mapping(
            _mapping(props.get("Environment")).get("Variables")).items()}
        variant = env.pop(envvars.VARIANT, None)
        variant = self.over.get("variant") or variant or None
        backend = self.over.get("backend") or env.pop(envvars.BACKEND, "litert")
        env.pop(envvars.BACKEND, None)
        if backend not in ("litert", "tf"):
            raise self._error(name, f"Environment.Variables.{envvars.BACKEND} is {backend!r}; "
                                    "use litert or tf")
        api_path, warmup = self._events(name, props.get("Events"), notes)
        url_auth = self._function_url(name, props.get("FunctionUrlConfig"), notes)
        alias, provisioned = self._alias(name, props, notes)
        return ProjectFunction(
            logical_id=self.over.get("function_name") or name,
            model_dir=self._model_dir(name, metadata),
            runtime=self._runtime(name, package_type, props, metadata),
            arch=self._arch(name, props.get("Architectures")),
            package_type=package_type,
            memory_mb=self._number(name, "MemorySize", "memory_mb", props, DEFAULT_MEMORY_MB,
                                   MEMORY_MIN_MB, MEMORY_MAX_MB),
            timeout_s=self._number(name, "Timeout", "timeout_s", props, DEFAULT_TIMEOUT_S, 1,
                                   TIMEOUT_MAX_S),
            variant=variant, backend=cast(Literal["litert", "tf"], backend),
            api_path=self.over.get("api_path") or api_path,
            function_url_auth="AWS_IAM" if self.over.get("function_url") and not url_auth
            else url_auth,
            warmup_schedule=self.over.get("warmup_schedule") or warmup,
            alias=alias,
            provisioned_concurrency=self.over.get("provisioned_concurrency") or provisioned,
            environment=env, notes=tuple(notes),
        )

    def _error(self, name: str, text: str) -> ProjectError:
        return ProjectError(f"{self.path}: {name}: {text}")

    def _package_type(self, name: str, props: dict[str, Any]) -> Literal["zip", "image"]:
        if "package_type" in self.over:
            return self.over["package_type"]
        value = props.get("PackageType", "Zip")
        if value == "Zip":
            return "zip"
        if value == "Image":
            return "image"
        raise self._error(name, f"PackageType must be Zip or Image, not {describe(value)}")

    def _runtime(self, name: str, package_type: str, props: dict[str, Any],
                 metadata: dict[str, Any]) -> str:
        if "runtime" in self.over:
            return str(self.over["runtime"])
        supported = ", ".join(BUILDABLE_RUNTIMES)
        if package_type == "image" and "Runtime" not in props:
            match = _DOCKER_TAG.match(str(metadata.get("DockerTag", "")))
            if match is None:
                raise self._error(name, "an Image function's Python version is unknown: set "
                                        "Metadata.DockerTag to python3.X-<arch> or pass "
                                        f"--runtime ({supported})")
            value: Any = match.group(1)
        else:
            value = props.get("Runtime")
        if value is None:
            raise self._error(name, f"Runtime is required; lambdalite builds {supported}")
        if value not in BUILDABLE_RUNTIMES:
            raise self._error(name, f"Runtime {describe(value) if is_intrinsic(value) else value} "
                                    f"is not buildable: lambdalite builds {supported} (set "
                                    "Runtime to one of them, or pass --runtime)")
        return str(value)

    def _arch(self, name: str, value: Any) -> str:
        if "arch" in self.over:
            return str(self.over["arch"])
        if value is None:
            return "x86_64"
        if isinstance(value, list) and len(value) == 1 and value[0] in ARCHS:
            return str(value[0])
        raise self._error(name, f"Architectures must be [x86_64] or [arm64], not {value!r}")

    def _number(self, name: str, prop: str, key: str, props: dict[str, Any], default: int,
                low: int, high: int) -> int:
        if key in self.over:
            return int(self.over[key])
        value = props.get(prop, default)
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return value
        shown = describe(value) if is_intrinsic(value) else repr(value)
        raise self._error(name, f"{prop} must be a whole number from {low} to {high}, "
                                f"not {shown}")

    def _env_value(self, name: str, key: str, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        raise self._error(name, f"Environment.Variables.{key} is {describe(value)}, which "
                                "cannot be resolved at build time; use a literal or a "
                                "Parameter with a Default")

    def _model_dir(self, name: str, metadata: dict[str, Any]) -> Path:
        if "model_dir" in self.over:
            return Path(self.over["model_dir"])
        value = metadata.get(MODEL_DIR_METADATA)
        if not isinstance(value, str) or not value:
            raise self._error(name, f"no model folder: add Metadata: {{{MODEL_DIR_METADATA}: "
                                    "./model}} to the function (relative to the template) or "
                                    "pass --model-dir")
        folder = (self.path.parent / value).resolve()
        if not folder.is_dir():
            raise self._error(name, f"Metadata.{MODEL_DIR_METADATA} {value} is not a folder "
                                    f"(looked for {folder}); run `lambdalite convert` or fix "
                                    "the path")
        return folder

    def _events(self, name: str, events: Any,
                notes: list[str]) -> tuple[str | None, str | None]:
        api_path: str | None = None
        warmup: str | None = None
        for event, spec in _mapping(events).items():
            kind = spec.get("Type") if isinstance(spec, dict) else None
            props = _mapping(spec.get("Properties")) if isinstance(spec, dict) else {}
            if kind == "Api" and api_path is None and isinstance(props.get("Path"), str):
                api_path = props["Path"]
                if str(props.get("Method", "post")).lower() != "post":
                    notes.append(f"Events.{event}: Method {props.get('Method')} is written "
                                 "as post")
                extra = sorted(props.keys() - {"Path", "Method"})
                if extra:
                    notes.append(f"Events.{event}: {', '.join(extra)} not written")
            elif kind == "Schedule" and warmup is None and isinstance(props.get("Schedule"), str):
                warmup = props["Schedule"]
                if _input(props.get("Input")) not in (None, {"warmup": True}):
                    notes.append(f"Events.{event}: Input is written as {{\"warmup\": true}}")
            else:
                notes.append(f"Events.{event} ({kind}): not written to the built template")
        return api_path, warmup

    def _function_url(self, name: str, config: Any,
                      notes: list[str]) -> Literal["AWS_IAM", "NONE"] | None:
        if config is None:
            return None
        auth = _mapping(config).get("AuthType")
        if auth not in ("AWS_IAM", "NONE"):
            raise self._error(name, f"FunctionUrlConfig.AuthType must be AWS_IAM or NONE, "
                                    f"not {auth!r}")
        extra = sorted(_mapping(config).keys() - {"AuthType"})
        if extra:
            notes.append(f"FunctionUrlConfig: {', '.join(extra)} not written")
        return auth

    def _alias(self, name: str, props: dict[str, Any],
               notes: list[str]) -> tuple[str, int | None]:
        alias = props.get("AutoPublishAlias")
        config = _mapping(props.get("ProvisionedConcurrencyConfig"))
        count = config.get("ProvisionedConcurrentExecutions")
        if alias is None and not config:
            return "live", None
        if not isinstance(alias, str) or not isinstance(count, int) or count < 1:
            notes.append("AutoPublishAlias without ProvisionedConcurrencyConfig."
                         "ProvisionedConcurrentExecutions >= 1: not written")
            return "live", None
        return alias, count


def _input(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


__all__ = ["ProjectFunction", "image_functions", "read_project", "relative_model_dir",
           "write_template"]
