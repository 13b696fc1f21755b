"""What to build, and the function ``OUT/template.yaml`` declares for each build.

    jobs = read_jobs(Path("template.yaml"), Path("build"), overrides={"memory_mb": 2048})
    results = [api.build(job.options) for job in jobs]
    sam.write.write(Path("build/template.yaml"), [job.function for job in jobs])

A job is the build's ``BuildOptions`` and the ``SamFunction`` of the deployed template (in
lambdalite's output layout: ``<arch>/function.zip`` or ``./image-<arch>``). From flags:
``lambdalite_function``; from a user's template (``lambdalite build --template FILE``, read by
``lambdalite.sam`` as ``lambdalite local`` reads it): ``read_jobs``, where an explicit flag
(``overrides``) wins over the template. Read from each function: ``Runtime`` (zip) or
``Metadata.DockerTag`` (image, ``python3.X-<arch>`` as ``lambdalite template`` writes it),
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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from lambdalite import envvars
from lambdalite.bundle.api import HANDLER, BuildOptions
from lambdalite.lambda_facts import BUILDABLE_RUNTIMES, DEFAULT_RUNTIME
from lambdalite.sam.errors import TemplateError
from lambdalite.sam.model import MODEL_DIR_METADATA, AuthType, SamEvent, SamFunction
from lambdalite.sam.parse import read_template

# The API event of the SAM "machine learning" quick-start template (POST on the implicit
# ServerlessRestApi), with binary media types for images.
DEFAULT_API_PATH = "/classify_digit"
BINARY_MEDIA_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp",
                      "application/octet-stream")
WARMUP_INPUT = json.dumps({"warmup": True})
_DOCKER_TAG = re.compile(r"^(python3\.\d+)-")


@dataclass(frozen=True)
class BuildJob:
    options: BuildOptions
    function: SamFunction           # what OUT/template.yaml declares for this build
    notes: tuple[str, ...] = ()     # what the source template had and OUT/template.yaml lacks


def lambdalite_function(
        logical_id: str, *, arch: str = "x86_64",
        package_type: Literal["zip", "image"] = "zip", runtime: str = DEFAULT_RUNTIME,
        memory_mb: int = 1024, timeout_s: int = 30, backend: str = "litert",
        variant: str | None = None, model_dir: str | None = None,
        api_path: str | None = DEFAULT_API_PATH, function_url_auth: AuthType | None = None,
        warmup_schedule: str | None = None, provisioned_concurrency: int | None = None,
        alias: str = "live", environment: Mapping[str, str] | None = None) -> SamFunction:
    """The function a build is deployed as: lambdalite's handler and output layout
    (``<arch>/function.zip`` or ``./image-<arch>``, relative to OUT/template.yaml)."""
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
    image = package_type == "image"
    return SamFunction(
        logical_id=logical_id, package_type="Image" if image else "Zip",
        handler=None if image else HANDLER, runtime=runtime,
        code_uri=None if image else f"{arch}/function.zip",
        image_command=(HANDLER,) if image else (),
        memory_mb=memory_mb, timeout_s=timeout_s, architecture=arch,
        environment={**env, **(environment or {})}, events=tuple(events),
        function_url_auth=function_url_auth,
        auto_publish_alias=alias if provisioned_concurrency else None,
        provisioned_concurrency=provisioned_concurrency,
        dockerfile="Dockerfile" if image else None,
        docker_context=f"./image-{arch}" if image else None,
        docker_tag=f"{runtime}-{arch}" if image else None,
        model_dir=model_dir)


def function_for(options: BuildOptions, **deployment: Any) -> SamFunction:
    """``lambdalite_function`` for a build's options; ``deployment``: its other keywords
    (model_dir relative to the template, api_path, function_url_auth, ...)."""
    return lambdalite_function(
        options.function_name, arch=options.arch, package_type=options.package_type,
        runtime=options.runtime, memory_mb=options.memory_mb, timeout_s=options.timeout_s,
        backend=options.backend, variant=options.variant, **deployment)


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


def read_jobs(path: Path, out_dir: Path, *, function: str | None = None,
              overrides: Mapping[str, Any] | None = None, **build_extra: Any
              ) -> tuple[BuildJob, ...]:
    """A job per function of the template (or the one named ``function``), flags applied.

    ``overrides`` keys: model_dir, variant, backend, runtime, arch, package_type, memory_mb,
    timeout_s, function_name, api_path, function_url (bool), warmup_schedule,
    provisioned_concurrency; only the flags the user gave. ``build_extra``: the build-only
    options (extra_requirements, base_image_digest)."""
    template = read_template(path)
    names = [n for n in template.resources if n in template.functions or n in template.broken]
    if not names:
        raise TemplateError(f"{path} defines no AWS::Serverless::Function to build")
    if function is not None:
        if function not in names:
            raise TemplateError(f"{path} has no function {function!r}; its functions: "
                                f"{', '.join(names)}")
        names = [function]
    over = dict(overrides or {})
    if len(names) > 1 and over.get("function_name"):
        raise TemplateError(f"--name renames one function but {path} has {len(names)}: "
                            "pick one with --function")
    for name in names:
        if name in template.broken:
            raise template.broken[name]
    return tuple(_Job(template.functions[name], over, out_dir, build_extra).job()
                 for name in names)


class _Job:
    def __init__(self, fn: SamFunction, overrides: dict[str, Any], out_dir: Path,
                 build_extra: Mapping[str, Any]) -> None:
        self.fn = fn
        self.over = overrides
        self.out_dir = out_dir
        self.build_extra = build_extra
        self.notes = [f"{key}: not written to the built template" for key in self._dropped()]

    def job(self) -> BuildJob:
        fn, over = self.fn, self.over
        env = dict(fn.environment)
        for prop in fn.unresolved:
            if prop.startswith("Environment.Variables."):
                raise fn.error(prop, f"{prop} is {fn.unresolved[prop]}, which cannot be "
                                     "resolved at build time; use a literal or a Parameter "
                                     "with a Default")
        variant = over.get("variant") or env.pop(envvars.VARIANT, None) or None
        backend = over.get("backend") or env.pop(envvars.BACKEND, "litert")
        env.pop(envvars.BACKEND, None)
        if backend not in ("litert", "tf"):
            raise fn.error(f"Environment.Variables.{envvars.BACKEND}",
                           f"Environment.Variables.{envvars.BACKEND} is {backend!r}; use "
                           "litert or tf")
        package_type = cast(Literal["zip", "image"],
                            over.get("package_type") or fn.package_type.lower())
        options = BuildOptions(
            model_dir=self._model_dir(), out_dir=self.out_dir, variant=variant,
            backend=cast(Literal["litert", "tf"], backend),
            runtime=self._runtime(package_type),
            arch=str(over.get("arch") or fn.architecture),
            package_type=package_type,
            memory_mb=int(over.get("memory_mb") or fn.memory_mb),
            timeout_s=int(over.get("timeout_s") or fn.timeout_s),
            function_name=over.get("function_name") or fn.logical_id, **self.build_extra)
        api_path, warmup = self._events()
        alias, provisioned = self._alias()
        url_auth = fn.function_url_auth
        written = function_for(
            options, model_dir=relative_model_dir(options.model_dir, self.out_dir),
            api_path=over.get("api_path") or api_path,
            function_url_auth="AWS_IAM" if over.get("function_url") and not url_auth
            else url_auth,
            warmup_schedule=over.get("warmup_schedule") or warmup,
            provisioned_concurrency=over.get("provisioned_concurrency") or provisioned,
            alias=alias, environment=env)
        return BuildJob(options, written, tuple(self.notes))

    def _dropped(self) -> list[str]:
        """The template's properties OUT/template.yaml does not write."""
        fn = self.fn
        modelled = [key for key, value in (
            ("ReservedConcurrentExecutions", fn.reserved_concurrency),
            ("InlineCode", fn.inline_code), ("SnapStart", fn.snap_start),
            ("Condition", fn.condition)) if value is not None]
        return sorted([*fn.notes, *modelled])

    def _model_dir(self) -> Path:
        if "model_dir" in self.over:
            return Path(self.over["model_dir"])
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
        if "runtime" in self.over:
            return str(self.over["runtime"])
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

    def _alias(self) -> tuple[str, int | None]:
        fn = self.fn
        if fn.auto_publish_alias is None and fn.provisioned_concurrency is None:
            return "live", None
        if fn.auto_publish_alias is None or fn.provisioned_concurrency is None:
            self.notes.append("AutoPublishAlias without ProvisionedConcurrencyConfig (or the "
                              "other way round): not written")
            return "live", None
        return fn.auto_publish_alias, fn.provisioned_concurrency


def _json(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value


__all__ = ["BINARY_MEDIA_TYPES", "DEFAULT_API_PATH", "BuildJob", "function_for",
           "lambdalite_function", "read_jobs", "relative_model_dir"]
