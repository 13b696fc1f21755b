"""``lambdalite.build``: one function for one or both architectures, and its SAM template.

    outcome = lambdalite.build(BuildOptions(model_dir=Path("model"), archs=("x86_64", "arm64")))
    for package in outcome.packages:            # each arch: its BuildResult, or its BuildError
        print(package.label, package.result or package.error)
    print(outcome.template)                     # OUT/template.yaml, for what built

``build_template`` does the same for the functions of a user's SAM template
(``lambdalite build --template``). Every package is planned first (a bad option fails before
pip runs), then built; when one fails the others still build, and the template is written for
those that did (``outcome.failure()`` is the error to raise: the CLI exits 5 with it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from lambdalite import progress as progress_
from lambdalite.bundle import api, project
from lambdalite.bundle.api import BuildPlan, BuildResult, PackageOptions
from lambdalite.bundle.template import FunctionDef, TemplateOptions, write
from lambdalite.errors import BuildError, OptionError
from lambdalite.lambda_facts import ARCHS, DEFAULT_RUNTIME

TEMPLATE_NAME = "template.yaml"


@dataclass(frozen=True)
class BuildOptions:
    """One function, built for each of ``archs``; ``template``: write OUT/template.yaml.

    ``image_fallback`` / ``runtime_fallback``: build an image when the zip is over Lambda's
    limits / for the next runtime when the wheels need a newer glibc (reported in each
    ``BuildResult.fallbacks``). The CLI turns them on for ``--package`` / ``--runtime`` not
    given; a value given explicitly is never overridden."""

    model_dir: Path
    out_dir: Path = Path("build")
    archs: tuple[str, ...] = ("x86_64",)
    variant: str | None = None
    backend: Literal["litert", "tf"] = "litert"
    runtime: str = DEFAULT_RUNTIME
    package_type: Literal["zip", "image"] = "zip"
    memory_mb: int = 1024
    timeout_s: int = 30
    function_name: str = "InferenceFunction"
    extra_requirements: tuple[str, ...] = ()
    # Pin the image's FROM: one digest for the one arch built, or one per arch.
    base_image_digest: str | None = None
    base_image_digests: Mapping[str, str] = field(default_factory=dict)
    image_fallback: bool = False
    runtime_fallback: bool = False
    # What the template says besides the packages.
    template: bool = True
    api_path: str | None = "/classify_digit"   # None: no Api event
    function_url: bool = False
    warmup_schedule: str | None = None
    provisioned_concurrency: int | None = None
    dry_run: bool = False                      # plan only: nothing is built or written

    def packages(self) -> tuple[PackageOptions, ...]:
        if not self.archs:
            raise OptionError(f"{{archs}} is empty: give one or more of {', '.join(ARCHS)}")
        unknown = [a for a in self.archs if a not in ARCHS]
        if unknown or len(set(self.archs)) != len(self.archs):
            raise OptionError(f"{{archs}} {', '.join(self.archs)}: give each of "
                              f"{', '.join(ARCHS)} at most once")
        return tuple(PackageOptions(
            model_dir=self.model_dir, out_dir=self.out_dir, variant=self.variant,
            backend=self.backend, runtime=self.runtime, arch=arch,
            package_type=self.package_type, memory_mb=self.memory_mb, timeout_s=self.timeout_s,
            function_name=self.function_name, extra_requirements=self.extra_requirements,
            image_fallback=self.image_fallback, runtime_fallback=self.runtime_fallback,
        ) for arch in self.archs)


@dataclass(frozen=True)
class PackageOutcome:
    options: PackageOptions              # as asked (the result's options: as built)
    result: BuildResult | None = None
    error: BuildError | None = None

    @property
    def label(self) -> str:
        o = self.options
        return f"{o.function_name} {o.runtime} {o.arch}"


@dataclass(frozen=True)
class BuildOutcome:
    plans: tuple[BuildPlan, ...]
    packages: tuple[PackageOutcome, ...] = ()     # empty for a dry run
    template: Path | None = None                  # None: not asked for, or nothing built
    notes: tuple[str, ...] = ()                   # what the written template does not carry

    @property
    def results(self) -> tuple[BuildResult, ...]:
        return tuple(p.result for p in self.packages if p.result is not None)

    @property
    def failed(self) -> tuple[PackageOutcome, ...]:
        return tuple(p for p in self.packages if p.error is not None)

    def result(self, arch: str) -> BuildResult:
        """The one package built for ``arch``; raises its BuildError if it failed."""
        (package,) = (p for p in self.packages if p.options.arch == arch)
        if package.error is not None:
            raise package.error
        assert package.result is not None
        return package.result

    def failure(self) -> BuildError | None:
        """None when everything built; the error itself when the one package failed; else one
        BuildError naming what built (and is in the template) and why each other failed."""
        if not self.failed:
            return None
        if len(self.packages) == 1:
            return self.failed[0].error
        ok = [p.label for p in self.packages if p.error is None]
        done = (f"built {', '.join(ok)} ({TEMPLATE_NAME} has only that); " if ok and self.template
                else f"built {', '.join(ok)}; " if ok else "nothing was built; ")
        return BuildError(done + "; ".join(
            f"{p.label} failed: {p.error.message}" for p in self.failed if p.error is not None))


def build(options: BuildOptions, *, progress: progress_.Progress | None = None) -> BuildOutcome:
    packages = _with_digests(options.packages(), options.base_image_digest,
                             options.base_image_digests)

    def write_template(built: Sequence[BuildResult]) -> Path:
        template_dir = options.out_dir
        model_dir = project.relative_model_dir(options.model_dir, template_dir)
        return write(template_dir / TEMPLATE_NAME,
                     template_options(options, [r.options for r in built], model_dir))

    return build_packages(packages, write_template if options.template else None,
                          dry_run=options.dry_run, progress=progress)


def build_template(path: Path, *, out_dir: Path = Path("build"), function: str | None = None,
                   overrides: Mapping[str, Any] | None = None,
                   extra_requirements: tuple[str, ...] = (),
                   base_image_digest: str | None = None,
                   base_image_digests: Mapping[str, str] | None = None,
                   dry_run: bool = False, progress: progress_.Progress | None = None,
                   ) -> BuildOutcome:
    """The functions of the SAM template at ``path`` (or the one named ``function``), each as
    the template says, ``overrides`` applied (``project.read_project``); OUT/template.yaml for
    those that built. No fallbacks: the template's settings are explicit."""
    functions = project.read_project(path, function=function, overrides=overrides)
    jobs = [fn.build_options(out_dir, extra_requirements=extra_requirements)
            for fn in functions]
    packages = _with_digests(jobs, base_image_digest, base_image_digests or {})

    def write_template(built: Sequence[BuildResult]) -> Path:
        done = {r.options.function_name for r in built}
        return project.write_template(out_dir / TEMPLATE_NAME,
                                      tuple(fn for fn in functions if fn.logical_id in done))

    outcome = build_packages(packages, write_template, dry_run=dry_run, progress=progress)
    notes = tuple(f"{fn.logical_id}: {note}" for fn in functions for note in fn.notes)
    return replace(outcome, notes=notes)


def build_packages(packages: Sequence[PackageOptions],
                   write_template: Callable[[Sequence[BuildResult]], Path] | None, *,
                   dry_run: bool = False, progress: progress_.Progress | None = None,
                   ) -> BuildOutcome:
    """Plan every package, then build each (a failure does not stop the others), then
    ``write_template`` for those that built."""
    plans = tuple(api.plan(p) for p in packages)
    _check_layout(plans)
    if dry_run:
        return BuildOutcome(plans)
    shown = progress_.resolve(progress)
    shown.total(api.STEPS * len(plans))
    outcomes = []
    for options in packages:
        try:
            outcomes.append(PackageOutcome(options, api.build_package(options, progress=shown)))
        except BuildError as err:
            outcomes.append(PackageOutcome(options, error=err))
    built = [o.result for o in outcomes if o.result is not None]
    template = write_template(built) if write_template is not None and built else None
    return BuildOutcome(plans, tuple(outcomes), template)


def template_options(options: BuildOptions, packages: Sequence[PackageOptions],
                     model_dir: str | None) -> TemplateOptions:
    """The SAM template of ``packages`` (each as built: a fallback's package type or runtime).
    The first keeps the function's name and API path; another arch's gets its own."""
    functions = []
    for i, p in enumerate(packages):
        suffix = "" if i == 0 else p.arch.capitalize().replace("_", "")
        path = options.api_path
        if i and path is not None:
            path = f"{path.rstrip('/')}-{p.arch}"
        functions.append(FunctionDef(
            logical_id=options.function_name + suffix, arch=p.arch, package_type=p.package_type,
            runtime=p.runtime, memory_mb=options.memory_mb, timeout_s=options.timeout_s,
            backend=options.backend, variant=options.variant, api_path=path,
            model_dir=model_dir))
    return TemplateOptions(
        functions=tuple(functions), function_url=options.function_url,
        warmup_schedule=options.warmup_schedule,
        provisioned_concurrency=options.provisioned_concurrency)


def _with_digests(packages: Sequence[PackageOptions], one: str | None,
                  per_arch: Mapping[str, str]) -> list[PackageOptions]:
    """Each package with its base image digest (an image's FROM line)."""
    archs = sorted({p.arch for p in packages})
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
    for p in packages:
        pin = per_arch.get(p.arch, one)
        if pin is not None and p.package_type != "image":
            raise OptionError(f"{{base_image_digest}} pins an image's FROM line, but "
                              f"{p.function_name} ({p.arch}) builds a zip: pass {{package_type}} "
                              "image or drop the digest")
        out.append(replace(p, base_image_digest=pin))
    return out


def _check_layout(plans: Sequence[BuildPlan]) -> None:
    """Two functions of one template must not build into the same OUT/<arch> folder."""
    seen: dict[Path, str] = {}
    for plan in plans:
        name = plan.options.function_name
        other = seen.setdefault(plan.out_arch_dir, name)
        if other != name:
            raise OptionError(f"{other} and {name} would both build into {plan.out_arch_dir}; "
                              "build them one at a time with {function} and different {out_dir}")
