"""``lambdalite build | template | deploy``: thin click fronts over bundle/api.py, bundle/jobs.py
and the SAM layer (``lambdalite.sam``: reading, writing and linting the template)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lambdalite.lambda_facts import (
    ARCHS,
    BUILDABLE_RUNTIMES,
    DEFAULT_RUNTIME,
    MEMORY_MAX_MB,
    MEMORY_MIN_MB,
    TIMEOUT_MAX_S,
)

if TYPE_CHECKING:
    from lambdalite.sam.model import SamFunction

ARCH_CHOICES = [*ARCHS, "all"]
HEADER = ("# Written by `lambdalite build`/`lambdalite template`; deploy with "
          "`sam deploy --guided`.\n")
HEADER_FROM_TEMPLATE = ("# Written by `lambdalite build --template`; deploy with "
                        "`sam deploy --guided`.\n")


def _archs(arch: str) -> list[str]:
    return list(ARCHS) if arch == "all" else [arch]


def _matching(pattern: str, what: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback: the value (when given) must match ``pattern``, else a usage error."""
    def check(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None and not re.fullmatch(pattern, value):
            raise click.BadParameter(f"{value!r}: {what}", ctx=ctx, param=param)
        return value
    return check


# What CloudFormation accepts (cfn-lint E3031/E3001 otherwise): a logical id is alphanumeric,
# an API Gateway path starts with /, a schedule expression is rate(...) or cron(...).
_LOGICAL_ID = _matching(r"[A-Za-z0-9]+", "a logical id has letters and digits only, "
                                         "e.g. InferenceFunction")
_API_PATH = _matching(r"/\S*", "an API path starts with /, e.g. /classify_digit")
_SCHEDULE = _matching(r"(rate|cron)\(.+\)", 'a schedule is "rate(5 minutes)" or '
                                              '"cron(0/5 * * * ? *)"')


def function_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by `build` and `template` (what the template describes)."""
    opts = [
        click.option("--variant", default=None, help="Model variant (default: manifest default)."),
        click.option("--backend", type=click.Choice(["litert", "tf"]), default="litert",
                     show_default=True),
        click.option("--runtime", type=click.Choice(BUILDABLE_RUNTIMES), default=DEFAULT_RUNTIME,
                     show_default=True),
        click.option("--arch", type=click.Choice(ARCH_CHOICES), default="x86_64",
                     show_default=True, help="`all` builds x86_64 and arm64."),
        click.option("--package", "package_type", type=click.Choice(["zip", "image"]),
                     default="zip", show_default=True),
        click.option("--memory", "memory_mb", type=click.IntRange(MEMORY_MIN_MB, MEMORY_MAX_MB), default=1024,
                     show_default=True, help="MemorySize in MB."),
        click.option("--timeout", "timeout_s", type=click.IntRange(1, TIMEOUT_MAX_S), default=30,
                     show_default=True, help="Timeout in seconds."),
        click.option("--name", "function_name", default="InferenceFunction", show_default=True,
                     callback=_LOGICAL_ID, help="Logical id of the function in template.yaml "
                     "(letters and digits)."),
        click.option("--api-path", default="/classify_digit", show_default=True,
                     callback=_API_PATH),
        click.option("--function-url", is_flag=True, help="Add a Function URL (AWS_IAM auth)."),
        click.option("--warmup", "warmup_schedule", default=None, metavar="RATE",
                     callback=_SCHEDULE,
                     help='Keep-warm schedule, e.g. "rate(5 minutes)" or "cron(...)".'),
        click.option("--provisioned-concurrency", type=click.IntRange(1), default=None,
                     help="Publish alias `live` with this provisioned concurrency."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def template_functions(archs: list[str], kw: dict[str, Any],
                       model_dir: str | None = None) -> tuple[SamFunction, ...]:
    """The functions the flags describe, one per architecture."""
    from lambdalite.bundle.jobs import lambdalite_function

    functions = []
    for i, arch in enumerate(archs):
        # With --arch all the second function gets its own name and API path.
        suffix = "" if i == 0 else arch.capitalize().replace("_", "")
        path = kw["api_path"] if i == 0 else f"{kw['api_path'].rstrip('/')}-{arch}"
        functions.append(lambdalite_function(
            kw["function_name"] + suffix, arch=arch, package_type=kw["package_type"],
            runtime=kw["runtime"], memory_mb=kw["memory_mb"], timeout_s=kw["timeout_s"],
            backend=kw["backend"], variant=kw["variant"], api_path=path, model_dir=model_dir,
            function_url_auth="AWS_IAM" if kw["function_url"] else None,
            warmup_schedule=kw["warmup_schedule"],
            provisioned_concurrency=kw["provisioned_concurrency"]))
    return tuple(functions)


@click.command()
@click.option("--model-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Folder with manifest.json (made by `lambdalite convert`); "
              "required unless the --template function has Metadata.LambdaliteModelDir.")
@click.option("--template", "template_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Build the functions of this SAM template; flags given "
              "explicitly override its settings.")
@click.option("--function", "function", default=None, metavar="NAME",
              help="With --template: build only this function (logical id).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("build"),
              show_default=True)
@click.option("--base-image-digest", "digests", multiple=True, metavar="[ARCH=]sha256:...",
              help="Pin the image's FROM to a digest (--package image only). Digests differ "
              "per architecture: with --arch all pass x86_64=sha256:... and arm64=sha256:... "
              "(repeatable).")
@click.option("--extra-requirement", "extra", multiple=True,
              help="Another pip requirement to ship (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print the plan (pip command, rules) and stop.")
@function_options
def build(model_dir: Path | None, template_path: Path | None, function: str | None,
          out_dir: Path, digests: tuple[str, ...], extra: tuple[str, ...],
          dry_run: bool, **kw: Any) -> None:
    """Build the function for Lambda (zip or image context) and write OUT/template.yaml."""
    from lambdalite.bundle import api, jobs  # deferred: keeps `--help` light
    from lambdalite.errors import UsageError
    from lambdalite.sam import write

    build_extra: dict[str, Any] = {"extra_requirements": extra}
    if template_path is not None:
        todo = jobs.read_jobs(template_path, out_dir, function=function,
                              overrides=_explicit(kw, model_dir), **build_extra)
        header = HEADER_FROM_TEMPLATE
    elif function is not None:
        raise UsageError("--function selects a function of --template FILE; pass --template")
    elif model_dir is None:
        raise UsageError("pass --model-dir DIR (made by `lambdalite convert`) or --template "
                         "FILE (a SAM template whose function has Metadata.LambdaliteModelDir)")
    else:
        archs = _archs(kw["arch"])
        functions = template_functions(archs, kw, jobs.relative_model_dir(model_dir, out_dir))
        todo = tuple(jobs.BuildJob(api.BuildOptions(
            model_dir=model_dir, out_dir=out_dir, variant=kw["variant"], backend=kw["backend"],
            runtime=kw["runtime"], arch=arch, package_type=kw["package_type"],
            memory_mb=kw["memory_mb"], timeout_s=kw["timeout_s"],
            function_name=kw["function_name"], **build_extra,
        ), fn) for arch, fn in zip(archs, functions, strict=True))
        header = HEADER
    plans = [api.plan(options) for options in with_digests([j.options for j in todo], digests)]
    _check_layout(plans)
    if dry_run:
        for plan in plans:
            click.echo(plan.describe())
        return
    failures = _execute_all(plans)
    built = [err is None for err in failures]
    path = out_dir / "template.yaml"
    if any(built):
        for job in todo:
            for note in job.notes:
                click.echo(f"note: {job.function.logical_id}: {note}", err=True)
        write.write(path, [job.function for job, ok in zip(todo, built, strict=True) if ok],
                    header=header)
        click.echo(f"wrote {path}; next: `lambdalite local invoke -t {path} -e EVENT.json` "
                   f"or `lambdalite deploy -t {path}`")
        _lint(path)
    _raise_failures(plans, failures)


def _lint(path: Path) -> None:
    """cfn-lint's findings on stderr, or why there are none."""
    from lambdalite.sam.lint import review

    findings, note = review(path)
    for finding in findings:
        click.echo(f"warning: cfn-lint: {finding}", err=True)
    if note:
        click.echo(f"note: {note}", err=True)
    elif not findings:
        click.echo(f"cfn-lint: no findings in {path}", err=True)


def _label(options: Any) -> str:
    return f"{options.function_name} {options.runtime} {options.arch}"


def _execute_all(plans: list[Any]) -> list[Any]:
    """Build every plan and print its result; -> per plan its BuildError, or None if built.

    With one plan its error is raised as is; with several, each failure is one line on
    stderr and the others still build (_raise_failures ends the command)."""
    from lambdalite.bundle import api, report
    from lambdalite.errors import BuildError

    failures: list[BuildError | None] = []
    for plan in plans:
        try:
            result = api.execute(plan, progress=True)
        except BuildError as err:
            if len(plans) == 1:
                raise
            click.echo(f"{_label(plan.options)}: FAILED ({err.error_type}): {err.message}",
                       err=True)
            failures.append(err)
        else:
            report.print_results([result])
            failures.append(None)
    return failures


def _raise_failures(plans: list[Any], failures: list[Any]) -> None:
    from lambdalite.errors import BuildError

    if not any(failures):
        return
    ok = [_label(plan.options) for plan, err in zip(plans, failures, strict=True) if err is None]
    done = (f"built {', '.join(ok)} (template.yaml has only that); " if ok
            else "nothing was built; ")
    raise BuildError(done + "; ".join(
        f"{_label(plan.options)} failed: {err.message}"
        for plan, err in zip(plans, failures, strict=True) if err is not None))


def with_digests(jobs: list[Any], values: tuple[str, ...]) -> list[Any]:
    """Each job with its ``--base-image-digest`` (``sha256:...`` or ``ARCH=sha256:...``)."""
    from lambdalite.errors import UsageError

    per_arch: dict[str, str] = {}
    bare: list[str] = []
    for value in values:
        arch, sep, digest = value.partition("=")
        if not sep:
            bare.append(value)
        elif arch not in ARCHS:
            raise UsageError(f"--base-image-digest {value!r}: {arch!r} is not an architecture "
                             f"(use {' or '.join(ARCHS)})")
        elif per_arch.setdefault(arch, digest) != digest:
            raise UsageError(f"--base-image-digest: two digests for {arch}; pass one")
    archs = sorted({job.arch for job in jobs})
    if len(bare) > 1 or (bare and per_arch):
        raise UsageError("pass one --base-image-digest sha256:..., or one ARCH=sha256:... per "
                         "architecture")
    if bare and len(archs) > 1:
        raise UsageError(
            f"one --base-image-digest for {' and '.join(archs)}: the base image's digest "
            "differs per architecture; pass " + " ".join(
                f"--base-image-digest {a}=sha256:..." for a in archs))
    for arch in sorted(set(per_arch) - set(archs)):
        raise UsageError(f"--base-image-digest {arch}=...: nothing is built for {arch}")
    out = []
    for job in jobs:
        pin = per_arch.get(job.arch, bare[0] if bare else None)
        if pin is not None and job.package_type != "image":
            raise UsageError(f"--base-image-digest pins an image's FROM line, but "
                             f"{job.function_name} ({job.arch}) builds a zip: pass --package "
                             "image or drop the digest")
        out.append(replace(job, base_image_digest=pin))
    return out


def _explicit(kw: dict[str, Any], model_dir: Path | None) -> dict[str, Any]:
    """The options the user typed (not click's defaults): they override the template."""
    from click.core import ParameterSource

    from lambdalite.errors import UsageError

    ctx = click.get_current_context()
    given = {k: v for k, v in kw.items()
             if ctx.get_parameter_source(k) not in (ParameterSource.DEFAULT, None)}
    if given.get("arch") == "all":
        raise UsageError("--arch all cannot be combined with --template: set Architectures per "
                         "function in the template, or pass --arch x86_64 / arm64")
    if model_dir is not None:
        given["model_dir"] = model_dir
    return given


def _check_layout(plans: list[Any]) -> None:
    """Two functions of one template must not build into the same OUT/<arch> folder."""
    from lambdalite.errors import UsageError

    seen: dict[Path, str] = {}
    for plan in plans:
        name = plan.options.function_name
        other = seen.setdefault(plan.out_arch_dir, name)
        if other != name:
            raise UsageError(f"{other} and {name} would both build into {plan.out_arch_dir}; "
                             "build them one at a time with --function and different --out")


@click.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("build/template.yaml"),
              show_default=True, help="Where to write it; `-` for stdout.")
@click.option("--model-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Record the model folder (Metadata.LambdaliteModelDir) so that "
              "`lambdalite build --template` finds it.")
@function_options
def template(output: Path, model_dir: Path | None, **kw: Any) -> None:
    """Write only the SAM template (CodeUri/DockerContext point at `lambdalite build` output)."""
    from lambdalite.bundle.jobs import relative_model_dir
    from lambdalite.sam.write import to_yaml, write

    stdout = str(output) == "-"
    where = Path.cwd() if stdout else output.parent
    rel = relative_model_dir(model_dir, where) if model_dir is not None else None
    functions = template_functions(_archs(kw["arch"]), kw, rel)
    if stdout:
        click.echo(to_yaml(functions, header=HEADER), nl=False)
        return
    click.echo(f"wrote {write(output, functions, header=HEADER)}")


def deploy_commands(template_path: Path, stack_name: str | None, image: bool) -> list[list[str]]:
    deploy = ["sam", "deploy", "--guided", "--template-file", str(template_path),
              "--capabilities", "CAPABILITY_IAM", "--resolve-s3"]
    if stack_name:
        deploy += ["--stack-name", stack_name]
    if not image:
        return [deploy]
    # Images must be built by Docker first; `sam build` writes .aws-sam/build/template.yaml.
    built = ".aws-sam/build/template.yaml"
    deploy[deploy.index(str(template_path))] = built
    return [["sam", "build", "--template-file", str(template_path)],
            [*deploy, "--resolve-image-repos"]]


@click.command()
@click.option("-t", "--template", "template_path", type=click.Path(path_type=Path),
              default=Path("build/template.yaml"), show_default=True)
@click.option("--stack-name", default=None)
@click.option("--print-only", is_flag=True, help="Print the commands even if the SAM CLI exists.")
def deploy(template_path: Path, stack_name: str | None, print_only: bool) -> None:
    """Run `sam deploy --guided` for the template, or print the commands when SAM is absent."""
    from lambdalite.errors import DependencyError, UsageError
    from lambdalite.sam.parse import image_functions

    if not template_path.exists():
        raise UsageError(f"{template_path} does not exist; run `lambdalite build` first")
    commands = deploy_commands(template_path, stack_name, bool(image_functions(template_path)))
    sam = shutil.which("sam")
    if sam is None or print_only:
        why = "--print-only" if print_only else "the SAM CLI is not installed here"
        click.echo(f"Not deploying ({why}); nothing was sent to AWS. Run:", err=True)
        for cmd in commands:
            click.echo(shlex.join(cmd))
        return
    for cmd in commands:
        click.echo(f"$ {shlex.join(cmd)}", err=True)
        code = subprocess.run([sam, *cmd[1:]], check=False).returncode
        if code != 0:
            raise DependencyError(
                f"`{shlex.join(cmd)}` exited with code {code} (its output is above); nothing "
                "after it was run. Fix what the SAM CLI reports and run `lambdalite deploy` "
                "again")
