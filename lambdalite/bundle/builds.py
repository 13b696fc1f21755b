"""``lambdalite.build``: the packages ``BuildOptions`` asks for, and their SAM template.

    outcome = lambdalite.build(BuildOptions(model_dir=Path("model"), archs=("x86_64", "arm64")))
    outcome = lambdalite.build(BuildOptions(template=Path("template.yaml")))   # its functions
    for package in outcome.packages:            # each: its BuildResult, or its BuildError
        print(package.label, package.result or package.error)
    print(outcome.template, outcome.lint)       # OUT/template.yaml for what built; cfn-lint's

Every package is planned first (a bad option fails before pip runs), then built; when one
fails the others still build, and the template is written (``lambdalite.sam.write``) and
linted (``lambdalite.sam.lint``, when cfn-lint is installed) for those that did
(``outcome.failure()`` is the error to raise: the CLI exits 5 with it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lambdalite import progress as progress_
from lambdalite.bundle import api, jobs
from lambdalite.bundle.api import BuildPlan, BuildResult, PackageOptions
from lambdalite.bundle.options import TEMPLATE_NAME, BuildOptions
from lambdalite.errors import BuildError, OptionError
from lambdalite.sam import lint, write

HEADER = ("# Written by `lambdalite build`/`lambdalite template`; deploy with "
          "`sam deploy --guided`.\n")
HEADER_FROM_TEMPLATE = ("# Written by `lambdalite build --template`; deploy with "
                        "`sam deploy --guided`.\n")


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
    # cfn-lint's findings in the written template; None: not linted (no template written,
    # or cfn-lint is not installed: lambdalite.sam.lint.NOT_INSTALLED).
    lint: tuple[str, ...] | None = None

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
    """Plan every package, then build each (a failure does not stop the others), then write
    and lint the template of those that built."""
    todo = jobs.jobs_for(options)
    plans = tuple(api.plan(job.options) for job in todo)
    _check_layout(plans)
    notes = tuple(f"{job.function.logical_id}: {note}" for job in todo for note in job.notes)
    if options.dry_run:
        return BuildOutcome(plans, notes=notes)
    shown = progress_.resolve(progress)
    shown.total(api.STEPS * len(plans))
    outcomes = []
    for job in todo:
        try:
            outcomes.append(PackageOutcome(job.options,
                                           api.build_package(job.options, progress=shown)))
        except BuildError as err:
            outcomes.append(PackageOutcome(job.options, error=err))
    built = [job.as_built(done.result.options) for job, done in zip(todo, outcomes, strict=True)
             if done.result is not None]
    if not options.write_template or not built:
        return BuildOutcome(plans, tuple(outcomes), notes=notes)
    header = HEADER if options.template is None else HEADER_FROM_TEMPLATE
    path = write.write(options.out_dir / TEMPLATE_NAME, built, header=header)
    findings, not_linted = lint.review(path)
    return BuildOutcome(plans, tuple(outcomes), path, notes,
                        None if not_linted else tuple(findings))


def _check_layout(plans: Sequence[BuildPlan]) -> None:
    """Two functions of one template must not build into the same OUT/<arch> folder."""
    seen: dict[Path, str] = {}
    for plan in plans:
        name = plan.options.function_name
        other = seen.setdefault(plan.out_arch_dir, name)
        if other != name:
            raise OptionError(f"{other} and {name} would both build into {plan.out_arch_dir}; "
                              "build them one at a time with {function} and different {out_dir}")


__all__ = ["HEADER", "HEADER_FROM_TEMPLATE", "BuildOutcome", "PackageOutcome", "build"]
