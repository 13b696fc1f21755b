"""What to build: ``BuildOptions`` -> one ``BuildJob`` per package, each the package's
``PackageOptions`` and the ``SamFunction`` that ``OUT/template.yaml`` declares for it.

    todo = jobs_for(BuildOptions(model_dir=Path("model"), archs=("x86_64", "arm64")))
    todo = jobs_for(BuildOptions(template=Path("template.yaml"), memory_mb=2048))

The function is in lambdalite's output layout (``<arch>/function.zip`` or ``./image-<arch>``,
relative to ``OUT/template.yaml``). From the options alone (``model_dir``): one job per arch,
unset options taking lambdalite's defaults (``options.py``). From a user's template
(``template``, read by ``lambdalite.sam`` as ``lambdalite local`` reads it): one job per
function, an option set winning over the template. Read from each function: ``Runtime`` (zip)
or ``Metadata.DockerTag`` (image, ``python3.X-<arch>`` as ``lambdalite template`` writes it),
``Architectures``, ``PackageType``, ``MemorySize``, ``Timeout``, ``Environment.Variables``
(``LAMBDALITE_VARIANT``/``LAMBDALITE_BACKEND``; the others are carried over), ``Events`` (the
first Api path, the first Schedule as warm-up), ``FunctionUrlConfig``, ``AutoPublishAlias`` +
``ProvisionedConcurrencyConfig`` and the model folder from ``Metadata.LambdaliteModelDir``
(relative to the template). ``CodeUri`` is not read: the build makes the code. What the
written template cannot carry is listed in ``BuildJob.notes``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, TypeVar, cast, get_args

from lambdalite import envvars
from lambdalite.bundle import options as defaults
from lambdalite.bundle.api import HANDLER, PackageOptions
from lambdalite.bundle.options import Backend, BuildOptions
from lambdalite.errors import ModelError, OptionError
from lambdalite.lambda_facts import ARCHS, BUILDABLE_RUNTIMES, DEFAULT_RUNTIME
from lambdalite.manifest import API_PATH_PATTERN, Manifest
from lambdalite.sam import snapstart as snapstart_
from lambdalite.sam.errors import TemplateError
from lambdalite.sam.model import MODEL_DIR_METADATA, AuthType, SamEvent, SamFunction
from lambdalite.sam.parse import read_template

# application/x-npy: a tensor model's raw .npy body (docs/FUNCTION.md), binary like an image.
BINARY_MEDIA_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp",
                      "application/octet-stream", "application/x-npy")
WARMUP_INPUT = json.dumps({"warmup": True})
_DOCKER_TAG = re.compile(r"^(python3\.\d+)-")
_T = TypeVar("_T")


@dataclass(frozen=True)
class BuildJob:
    options: PackageOptions
    function: SamFunction           # what OUT/template.yaml declares for this package
    notes: tuple[str, ...] = ()     # what the source template had and OUT/template.yaml lacks

    def as_built(self, built: PackageOptions) -> SamFunction:
        """The function as ``built`` (a fallback may have changed the package type or
        runtime)."""
        return replace(self.function, **_layout(built.arch, built.package_type, built.runtime))


def jobs_for(options: BuildOptions) -> tuple[BuildJob, ...]:
    """The packages ``options`` asks for, each with its base image digest."""
    if options.template is not None:
        todo = _template_jobs(options)
    elif options.function is not None:
        raise OptionError("{function} selects a function of {template}: give {template} too")
    elif options.model_dir is None:
        raise OptionError("give {model_dir} (made by `lambdalite convert`) or {template} (a SAM "
                          "template whose function has Metadata.LambdaliteModelDir)")
    else:
        todo = _option_jobs(options, options.model_dir,
                            relative_model_dir(options.model_dir, options.out_dir))
    return _with_digests(todo, options.base_image_digest, options.base_image_digests)


def template_functions(options: BuildOptions, template_dir: Path) -> tuple[SamFunction, ...]:
    """What OUT/template.yaml declares for ``options`` (no ``template``), built or not
    (``lambdalite template``): ``model_dir``, when set, is only recorded, relative to
    ``template_dir``."""
    model_dir = options.model_dir
    recorded = None if model_dir is None else relative_model_dir(model_dir, template_dir)
    todo = _option_jobs(options, model_dir or template_dir, recorded)
    return tuple(job.function for job in todo)


def lambdalite_function(
        logical_id: str, *, arch: str = "x86_64",
        package_type: Literal["zip", "image"] = "zip", runtime: str = DEFAULT_RUNTIME,
        memory_mb: int = defaults.MEMORY_MB, timeout_s: int = defaults.TIMEOUT_S,
        backend: str = defaults.BACKEND, variant: str | None = None,
        model_dir: str | None = None, api_path: str | None = defaults.API_PATH,
        function_url_auth: AuthType | None = None, warmup_schedule: str | None = None,
        provisioned_concurrency: int | None = None, alias: str = "live",
        environment: Mapping[str, str] | None = None, snapstart: bool = False) -> SamFunction:
    """The function a build is deployed as: lambdalite's handler and output layout.
    ``snapstart``: SnapStart on published versions, invoked through ``alias``."""
    env = {envvars.BACKEND: backend}
    if variant:
        env[envvars.VARIANT] = variant
    events: list[SamEvent] = []
    if api_path:
        events.append(SamEvent("Inference", "Api", path=api_path, method="post",
                               binary_media_types=BINARY_MEDIA_TYPES))
    if warmup_schedule:
        events.append(SamEvent("Warmup", "Schedule", schedule=warmup_schedule,
                               input=WARMUP_INPUT))
    return SamFunction(
        logical_id=logical_id, memory_mb=memory_mb, timeout_s=timeout_s,
        environment={**env, **(environment or {})}, events=tuple(events),
        function_url_auth=function_url_auth,
        auto_publish_alias=alias if provisioned_concurrency or snapstart else None,
        provisioned_concurrency=provisioned_concurrency, model_dir=model_dir,
        snap_start=snapstart_.APPLY_ON if snapstart else None,
        **_layout(arch, package_type, runtime))


def _layout(arch: str, package_type: str, runtime: str) -> dict[str, Any]:
    """The SamFunction fields of one package in lambdalite's output layout."""
    image = package_type == "image"
    return {"package_type": "Image" if image else "Zip", "architecture": arch,
            "handler": None if image else HANDLER, "runtime": runtime,
            "code_uri": None if image else f"{arch}/function.zip",
            "image_command": (HANDLER,) if image else (),
            "dockerfile": "Dockerfile" if image else None,
            "docker_context": f"./image-{arch}" if image else None,
            "docker_tag": f"{runtime}-{arch}" if image else None}


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


def _model_api_path(model_dir: Path) -> str | None:
    """The API path the model's manifest asks for (``api_path``), None when it names none or
    cannot be read (the package's build then says what is wrong with it)."""
    try:
        path = Manifest.load(model_dir).api_path
    except ModelError:
        return None
    if path is not None and not re.fullmatch(API_PATH_PATTERN, path):
        raise ModelError(f"{model_dir / 'manifest.json'}: api_path {path!r} is not an API path "
                         "(it starts with / and has no spaces): fix it, or pass api_path "
                         "(--api-path)")
    return path


def _given(value: _T | None, default: _T) -> _T:
    return default if value is None else value


def _archs(options: BuildOptions) -> tuple[str, ...]:
    archs = _given(options.archs, ("x86_64",))
    if not archs:
        raise OptionError(f"{{archs}} is empty: give one or more of {', '.join(ARCHS)}")
    unknown = [a for a in archs if a not in ARCHS]
    if unknown or len(set(archs)) != len(archs):
        raise OptionError(f"{{archs}} {', '.join(archs)}: give each of {', '.join(ARCHS)} at "
                          "most once")
    return archs


def _option_jobs(o: BuildOptions, model_dir: Path, recorded_model_dir: str | None
                 ) -> tuple[BuildJob, ...]:
    """One function, a job per arch; the first keeps the function's name and API path, each
    other arch's function gets its own (one template declares them all)."""
    name = _given(o.function_name, defaults.FUNCTION_NAME)
    api_path = o.api_path if o.api_path is not None else (
        _model_api_path(model_dir) or defaults.API_PATH)
    todo = []
    for i, arch in enumerate(_archs(o)):
        package = PackageOptions(
            model_dir=model_dir, out_dir=o.out_dir, variant=o.variant,
            backend=_given(o.backend, defaults.BACKEND),
            runtime=_given(o.runtime, DEFAULT_RUNTIME), arch=arch,
            package_type=_given(o.package_type, defaults.PACKAGE_TYPE),
            memory_mb=_given(o.memory_mb, defaults.MEMORY_MB),
            timeout_s=_given(o.timeout_s, defaults.TIMEOUT_S), function_name=name,
            extra_requirements=o.extra_requirements, litert_package=o.litert_package,
            weight_cache=o.weight_cache,
            # SnapStart takes no image: a zip over the limits fails instead of falling back.
            image_fallback=o.image_fallback and not o.snapstart,
            runtime_fallback=o.runtime_fallback)
        suffix = "" if i == 0 else arch.capitalize().replace("_", "")
        function = lambdalite_function(
            name + suffix, arch=arch, package_type=package.package_type,
            runtime=package.runtime, memory_mb=package.memory_mb, timeout_s=package.timeout_s,
            backend=package.backend, variant=o.variant, model_dir=recorded_model_dir,
            api_path=api_path if i == 0 else f"{api_path.rstrip('/')}-{arch}",
            function_url_auth="AWS_IAM" if o.function_url else None,
            warmup_schedule=o.warmup_schedule,
            provisioned_concurrency=o.provisioned_concurrency, snapstart=o.snapstart)
        if o.snapstart:
            _refuse_snapstart(function, "")
        todo.append(BuildJob(package, function))
    return tuple(todo)


def _template_jobs(o: BuildOptions) -> tuple[BuildJob, ...]:
    """A job per function of ``o.template`` (or the one named ``o.function``)."""
    assert o.template is not None
    path = o.template
    template = read_template(path)
    names = [n for n in template.resources if n in template.functions or n in template.broken]
    if not names:
        raise TemplateError(f"{path} defines no AWS::Serverless::Function to build")
    if o.function is not None:
        if o.function not in names:
            raise TemplateError(f"{path} has no function {o.function!r}; its functions: "
                                f"{', '.join(names)}")
        names = [o.function]
    if len(names) > 1 and o.function_name:
        raise OptionError(f"{{function_name}} renames one function but {path} has "
                          f"{len(names)}: pick one with {{function}}")
    if o.archs is not None and len(o.archs) != 1:
        raise OptionError(f"{{archs}} {', '.join(o.archs)} with {{template}}: set Architectures "
                          "per function in the template, or give one arch")
    for name in names:
        if name in template.broken:
            raise template.broken[name]
    return tuple(_Job(template.functions[name], o).job() for name in names)


class _Job:
    """One function of a user's template, the options set over it."""

    def __init__(self, fn: SamFunction, options: BuildOptions) -> None:
        self.fn = fn
        self.o = options
        self.notes = [f"{key}: not written to the built template" for key in self._dropped()]

    def job(self) -> BuildJob:
        fn, o = self.fn, self.o
        env = dict(fn.environment)
        for prop in fn.unresolved:
            if prop.startswith("Environment.Variables."):
                raise fn.error(prop, f"{prop} is {fn.unresolved[prop]}, which cannot be "
                                     "resolved at build time; use a literal or a Parameter "
                                     "with a Default")
        variant = o.variant or env.pop(envvars.VARIANT, None) or None
        backend = o.backend or env.pop(envvars.BACKEND, defaults.BACKEND)
        env.pop(envvars.BACKEND, None)
        if backend not in get_args(Backend):
            raise fn.error(f"Environment.Variables.{envvars.BACKEND}",
                           f"Environment.Variables.{envvars.BACKEND} is {backend!r}; use "
                           f"one of {', '.join(get_args(Backend))}")
        package_type = cast(Literal["zip", "image"],
                            o.package_type or fn.package_type.lower())
        snap = o.snapstart or snapstart_.enabled(fn)
        package = PackageOptions(
            model_dir=self._model_dir(), out_dir=o.out_dir, variant=variant,
            backend=cast(Backend, backend),
            runtime=self._runtime(package_type),
            arch=o.archs[0] if o.archs else fn.architecture, package_type=package_type,
            memory_mb=_given(o.memory_mb, fn.memory_mb),
            timeout_s=_given(o.timeout_s, fn.timeout_s),
            function_name=o.function_name or fn.logical_id,
            extra_requirements=o.extra_requirements, litert_package=o.litert_package,
            weight_cache=o.weight_cache,
            image_fallback=o.image_fallback and not snap, runtime_fallback=o.runtime_fallback)
        api_path, warmup = self._events()
        alias, provisioned = self._alias(snap)
        url_auth = fn.function_url_auth
        written = lambdalite_function(
            package.function_name, arch=package.arch, package_type=package.package_type,
            runtime=package.runtime, memory_mb=package.memory_mb, timeout_s=package.timeout_s,
            backend=package.backend, variant=package.variant,
            model_dir=relative_model_dir(package.model_dir, o.out_dir),
            api_path=o.api_path or api_path,
            function_url_auth="AWS_IAM" if o.function_url and not url_auth else url_auth,
            warmup_schedule=o.warmup_schedule or warmup,
            provisioned_concurrency=o.provisioned_concurrency or provisioned,
            alias=alias, environment=env, snapstart=snap)
        if snap:
            # The template's own properties too (EFS, ephemeral storage): AWS reads those.
            _refuse_snapstart(replace(fn, **{k: getattr(written, k) for k in (
                "package_type", "runtime", "provisioned_concurrency", "snap_start")}),
                fn.logical_id)
        return BuildJob(package, written, tuple(self.notes))

    def _dropped(self) -> list[str]:
        """The template's properties OUT/template.yaml does not write."""
        fn = self.fn
        modelled = [key for key, value in (
            ("ReservedConcurrentExecutions", fn.reserved_concurrency),
            ("InlineCode", fn.inline_code), ("EphemeralStorage", fn.ephemeral_storage_mb),
            ("SnapStart", None if fn.snap_start in (snapstart_.APPLY_ON, "None")
             else fn.snap_start),
            ("Condition", fn.condition)) if value is not None]
        return sorted([*fn.notes, *modelled])

    def _model_dir(self) -> Path:
        if self.o.model_dir is not None:
            return self.o.model_dir
        fn = self.fn
        key = f"Metadata.{MODEL_DIR_METADATA}"
        if fn.model_dir is None:
            raise fn.error(key, f"no model folder: add Metadata: {{{MODEL_DIR_METADATA}: "
                                "./model}} to the function (relative to the template) or "
                                "pass --model-dir")
        assert fn.path is not None    # read from a file
        folder = (fn.path.parent / fn.model_dir).resolve()
        if not folder.is_dir():
            raise fn.error(key, f"{key} {fn.model_dir} is not a folder (looked for {folder}); "
                                "run `lambdalite convert` or fix the path")
        return folder

    def _runtime(self, package_type: str) -> str:
        if self.o.runtime is not None:
            return self.o.runtime
        fn = self.fn
        supported = ", ".join(BUILDABLE_RUNTIMES)
        if package_type == "image" and fn.runtime is None and "Runtime" not in fn.unresolved:
            match = _DOCKER_TAG.match(fn.docker_tag or "")
            if match is None:
                raise fn.error("Metadata.DockerTag", "an Image function's Python version is "
                               "unknown: set Metadata.DockerTag to python3.X-<arch> or pass "
                               f"--runtime ({supported})")
            return match.group(1)
        if fn.runtime is None and "Runtime" not in fn.unresolved:
            raise fn.error("Runtime", f"Runtime is required; lambdalite builds {supported}")
        runtime = fn.runtime or fn.unresolved["Runtime"]
        if runtime not in BUILDABLE_RUNTIMES:
            raise fn.error("Runtime", f"Runtime {runtime} is not buildable: lambdalite builds "
                                      f"{supported} (set Runtime to one of them, or pass "
                                      "--runtime)")
        return runtime

    def _events(self) -> tuple[str | None, str | None]:
        api_path: str | None = None
        warmup: str | None = None
        for event in self.fn.events:
            name = event.name
            if event.type == "Api" and api_path is None:
                api_path = event.path
                if (event.method or "").lower() != "post":
                    self.notes.append(f"Events.{name}: Method {event.method} is written as post")
                extra = [*(["RestApiId"] if event.api else []), *event.notes]
                if extra:
                    self.notes.append(f"Events.{name}: {', '.join(extra)} not written")
            elif event.type == "Schedule" and warmup is None:
                warmup = event.schedule
                if _json(event.input) not in (None, {"warmup": True}):
                    self.notes.append(f"Events.{name}: Input is written as {WARMUP_INPUT}")
                if event.notes:
                    self.notes.append(f"Events.{name}: {', '.join(event.notes)} not written")
            else:
                self.notes.append(f"Events.{name} ({event.type}): not written to the built "
                                  "template")
        return api_path, warmup

    def _alias(self, snap: bool) -> tuple[str, int | None]:
        fn = self.fn
        if fn.auto_publish_alias is None and fn.provisioned_concurrency is None:
            return "live", None
        if snap and fn.auto_publish_alias is not None:    # SnapStart's alias needs no more
            return fn.auto_publish_alias, fn.provisioned_concurrency
        if fn.auto_publish_alias is None or fn.provisioned_concurrency is None:
            self.notes.append("AutoPublishAlias without ProvisionedConcurrencyConfig (or the "
                              "other way round): not written")
            return "live", None
        return fn.auto_publish_alias, fn.provisioned_concurrency


def _refuse_snapstart(fn: SamFunction, name: str) -> None:
    """SnapStart where AWS refuses it: an OptionError naming each rule (``sam.snapstart``)."""
    found = snapstart_.refusals(fn)
    if found:
        where = f"{name}: " if name else ""
        raise OptionError(f"{where}{{snapstart}}: " + "; ".join(found)
                          + f" (AWS refuses it: {snapstart_.DOC})")


def _json(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value


def _with_digests(todo: Sequence[BuildJob], one: str | None, per_arch: Mapping[str, str]
                  ) -> tuple[BuildJob, ...]:
    """Each job with its base image digest (an image's FROM line)."""
    archs = sorted({job.options.arch for job in todo})
    if one is not None and per_arch:
        raise OptionError("give {base_image_digest} (one arch) or {base_image_digests} (per "
                          "arch), not both")
    if one is not None and len(archs) > 1:
        raise OptionError(
            f"one {{base_image_digest}} for {' and '.join(archs)}: the base image's digest "
            "differs per architecture; pass " + " ".join(
                f"{{base_image_digests}} {a}=sha256:..." for a in archs))
    for arch in sorted(set(per_arch) - set(archs)):
        raise OptionError(f"{{base_image_digests}} {arch}=...: nothing is built for {arch}")
    out = []
    for job in todo:
        p = job.options
        pin = per_arch.get(p.arch, one)
        if pin is not None and p.package_type != "image":
            raise OptionError(f"{{base_image_digest}} pins an image's FROM line, but "
                              f"{p.function_name} ({p.arch}) builds a zip: pass {{package_type}} "
                              "image or drop the digest")
        out.append(replace(job, options=replace(p, base_image_digest=pin)))
    return tuple(out)


__all__ = ["BINARY_MEDIA_TYPES", "BuildJob", "jobs_for", "lambdalite_function",
           "relative_model_dir", "template_functions"]
