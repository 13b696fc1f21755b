"""A SAM template's functions as the ``FunctionSpec`` the local engine runs.

    functions = load_template("build/template.yaml")        # {"InferenceFunction": FunctionSpec}
    template = read_template(path, parameter_overrides={"Stage": "dev"})   # + warnings, names

The template is read by ``lambdalite.sam`` (Globals, Parameters, numbers, events, as
``lambdalite build`` reads it); this module adds what only a local run needs: the code on this
disk (``CodeUri`` relative to the template, a folder or a .zip unpacked to a temporary folder;
``InlineCode``; an image function's build context, ``Metadata.DockerContext``/task as
``lambdalite build`` lays it out) and the properties a local run does not emulate, listed in
``FunctionSpec.unsupported`` (and ``LocalTemplate.warnings``) instead of being dropped
silently. A function that cannot be read does not hide the others: it is listed in
``LocalTemplate.broken`` with its error; ``load_template`` is strict and raises it.
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

from lambdalite import envvars
from lambdalite.emulation import EMULATED_PYTHON
from lambdalite.lambda_facts import DEFAULT_RUNTIME, RUNTIMES
from lambdalite.local.engine_types import EventSource, FunctionSpec
from lambdalite.sam import snapstart
from lambdalite.sam.errors import TemplateError
from lambdalite.sam.model import SamEvent, SamFunction, SamTemplate
from lambdalite.sam.parse import read_template as read_sam

TEMPLATE_NAMES = ("template.yaml", "template.yml", "template.json")
# Properties of the SAM model a local run does not emulate (the others it does, or they have
# no effect on a run: Description, Tags).
NOT_EMULATED = ("AutoPublishAlias", "ProvisionedConcurrencyConfig", "EphemeralStorage")
# start-api serves a Function URL, but signs nothing: AWS_IAM is not checked locally.
IAM_NOT_CHECKED = ("FunctionUrlConfig AuthType AWS_IAM: not checked locally, every request to "
                   "the Function URL is let through (unsigned requests would get 403 on AWS)")
_FROM_PYTHON = re.compile(r"^FROM\s+\S*lambda/python:(3\.\d+)", re.I | re.M)
_CMD = re.compile(r"^CMD\s+\[\s*\"([^\"]+)\"", re.I | re.M)


@dataclass(frozen=True)
class LocalTemplate:
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
                  parameter_overrides: Mapping[str, str] | None = None) -> LocalTemplate:
    sam = read_sam(_template_file(Path(path)), parameter_overrides=parameter_overrides)
    warnings = [*sam.warnings, *_resource_warnings(sam)]
    functions: dict[str, FunctionSpec] = {}
    broken = {name: exc.message for name, exc in sam.broken.items()}
    for name, fn in sam.functions.items():
        if not (fn.runtime or "python").startswith("python") and fn.package_type == "Zip":
            warnings.append(f"{name}: Runtime {fn.runtime} is not run locally "
                            "(lambdalite runs Python functions only)")
            continue
        try:
            functions[name] = function_spec(fn)
        except TemplateError as exc:
            # One broken function must not stop the others from running (`invoke Other`).
            broken[name] = exc.message
    broken = {name: broken[name] for name in sam.resources if name in broken}
    if not functions:
        if broken:
            raise TemplateError("\n".join(broken.values()))
        raise TemplateError(f"{sam.path} defines no Python AWS::Serverless::Function to run")
    warnings += unsupported_warnings(functions)
    return LocalTemplate(sam.path, functions, sam.function_names, tuple(warnings), broken)


def function_spec(fn: SamFunction) -> FunctionSpec:
    """What the engine needs to run ``fn``; TemplateError (at its line) when its code or
    handler cannot be found."""
    unsupported = [f"{key}: not emulated locally, ignored" for key in _not_emulated(fn)]
    snap_start = snapstart.enabled(fn)
    if snap_start:
        snapstart.check(fn)     # what AWS would refuse to deploy does not run here either
    if fn.condition is not None:
        unsupported.append(f"Condition {fn.condition}: not evaluated, the function is always "
                           "defined locally")
    if fn.package_type == "Image":
        handler, code_dir, runtime = _image(fn, unsupported)
        watch = [code_dir]
    else:
        runtime = fn.need("Runtime", fn.runtime)
        handler = fn.need("Handler", fn.handler)
        code_dir = _zip_code(fn, handler)
        watch = [] if fn.inline_code is not None else [_code_path(fn)]
    if fn.architecture != "x86_64" and RUNTIMES.get(runtime, None) is not None and (
            RUNTIMES[runtime].python != EMULATED_PYTHON):
        # python3.13 arm64 runs emulated (the interpreter says when it cannot).
        unsupported.append(f"Architectures {fn.architecture}: {runtime} is not run as "
                           f"{fn.architecture} here (the emulated arm64 userland has Python "
                           f"{EMULATED_PYTHON} only): runs on this machine's CPU; a package "
                           f"built for {fn.architecture} is checked by the build, not run")
    environment = dict(fn.environment)
    for prop, shown in fn.unresolved.items():
        if prop.startswith("Environment.Variables."):
            # What `sam local` does with a value it cannot resolve: an empty string.
            environment[prop.removeprefix("Environment.Variables.")] = ""
            unsupported.append(f"{prop}: {shown} cannot be resolved locally, set to '' "
                               "(use --env-vars)")
    if fn.function_url_auth == "AWS_IAM":
        unsupported.append(IAM_NOT_CHECKED)
    model_dir = environment.get(envvars.MODEL_DIR)
    if model_dir and (code_dir / model_dir).is_dir() and not (code_dir / model_dir).resolve(
            ).is_relative_to(code_dir):
        watch.append((code_dir / model_dir).resolve())
    reserved = fn.reserved_concurrency
    if reserved == 0:
        unsupported.append("ReservedConcurrentExecutions 0 (every invoke throttled): not "
                           "emulated, runs with the default local concurrency")
        reserved = None
    return FunctionSpec(
        name=fn.logical_id, handler=handler, code_dir=code_dir, runtime=runtime,
        memory_mb=fn.memory_mb, timeout_s=float(fn.timeout_s), architecture=fn.architecture,
        package_type=fn.package_type, environment=environment, reserved_concurrency=reserved,
        events=_events(fn, unsupported), function_url_auth=fn.function_url_auth,
        snap_start=snap_start, watch=tuple(watch), unsupported=tuple(unsupported))


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


def _resource_warnings(sam: SamTemplate) -> list[str]:
    warnings = [f"{name}: AWS::Lambda::Function is not run locally (only "
                "AWS::Serverless::Function)"
                for name, kind in sam.resources.items() if kind == "AWS::Lambda::Function"]
    warnings += [f"{api.logical_id}: {key} is not emulated by start-api (routes come from the "
                 "functions' Events)" for api in sam.apis.values() for key in api.notes]
    return warnings


def _not_emulated(fn: SamFunction) -> list[str]:
    present = [key for key, value in zip(NOT_EMULATED, (
        fn.auto_publish_alias, fn.provisioned_concurrency, fn.ephemeral_storage_mb),
        strict=True) if value is not None]
    # A note inside a property reported whole (FunctionUrlConfig.Cors) says nothing more.
    notes = [n for n in fn.notes if n.split(".")[0] not in present]
    return sorted([*notes, *present])


def _events(fn: SamFunction, unsupported: list[str]) -> tuple[EventSource, ...]:
    sources = []
    for event in fn.events:
        if event.type in ("Api", "HttpApi"):
            unsupported += [f"Events.{event.name}.{key}: not emulated by start-api"
                            for key in event.notes]
            sources.append(_route(event))
        elif event.type in ("Schedule", "ScheduleV2"):
            sources.append(EventSource(name=event.name, type="Schedule",
                                       schedule=event.schedule, input=event.input))
        else:
            unsupported.append(f"Events.{event.name} ({event.type}): not emulated; invoke the "
                               "function with such an event (`lambdalite local invoke -e FILE`)")
    return tuple(sources)


def _route(event: SamEvent) -> EventSource:
    assert event.path is not None and event.method is not None   # sam.parse checked them
    return EventSource(
        name=event.name, type=event.type, path=event.path, method=event.method.upper(),
        binary_media_types=event.binary_media_types if event.type == "Api" else (),
        stage=event.stage,
        payload_format_version=event.payload_format_version if event.type != "Api" else None)


def _code_path(fn: SamFunction) -> Path:
    """The CodeUri folder or .zip (checked by ``_zip_code``)."""
    assert fn.path is not None
    return (fn.path.parent.resolve() / (fn.code_uri or ".")).resolve()


def _zip_code(fn: SamFunction, handler: str) -> Path:
    if fn.inline_code is not None:
        return _inline(fn.inline_code, handler)
    if "CodeUri" in fn.unresolved or (fn.code_uri or "").startswith("s3://"):
        shown = fn.unresolved.get("CodeUri", fn.code_uri)
        raise fn.error("CodeUri", f"CodeUri {shown} is in S3; point CodeUri at a local folder "
                                  "or .zip (the output of `lambdalite build`)")
    assert fn.path is not None    # read from a file
    code = fn.path.parent.resolve() / (fn.code_uri or ".")
    if code.is_dir():
        return code.resolve()
    if code.is_file():
        return _unpack(fn, code)
    raise fn.error("CodeUri", f"CodeUri {fn.code_uri} not found (looked for {code}); run "
                              "`lambdalite build` first or fix the path")


def _image(fn: SamFunction, unsupported: list[str]) -> tuple[str, Path, str]:
    if fn.docker_context is None:
        raise fn.error("Metadata", "PackageType Image needs Metadata.DockerContext (the folder "
                                   "with the Dockerfile and task/, as `lambdalite build "
                                   "--package-type image` writes it)")
    assert fn.path is not None    # read from a file
    folder = fn.path.parent.resolve()
    task = folder / fn.docker_context / "task"
    if not task.is_dir():
        raise fn.error("Metadata.DockerContext", f"{task} not found: the image's build context "
                       "must hold the task root in task/ (run `lambdalite build --package-type "
                       "image`)")
    dockerfile = folder / fn.docker_context / (fn.dockerfile or "Dockerfile")
    missing = "" if dockerfile.is_file() else (
        f"{dockerfile} (Metadata.Dockerfile in Metadata.DockerContext) does not exist; "
        "fix those two, or write it again with `lambdalite build --package-type image`")
    text = "" if missing else dockerfile.read_text(errors="replace")
    if fn.image_command:
        handler = fn.image_command[0]
    elif match := _CMD.search(text):
        handler = match.group(1)
    elif missing:
        raise fn.error("ImageConfig", f"no handler: {missing}, or set ImageConfig.Command "
                                      "[module.function]")
    else:
        raise fn.error("ImageConfig", "no handler: set ImageConfig.Command [module.function] "
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


# -- unpacked code, removed when the process exits ----------------------------------------------

_unpacked: dict[tuple[Path, int, int], Path] = {}


def _scratch_dir(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _unpack(fn: SamFunction, archive: Path) -> Path:
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
        raise fn.error("CodeUri", f"CodeUri {archive} is not a readable .zip: {exc}") from None
    _unpacked[key] = folder
    return folder


def _inline(code: str, handler: str) -> Path:
    folder = _scratch_dir("lambdalite-inline-")
    module = handler.rsplit(".", 1)[0]
    target = folder / (module.replace(".", "/") + ".py")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(code)
    return folder


__all__ = ["LocalTemplate", "function_spec", "load_template", "read_template",
           "unsupported_warnings"]
