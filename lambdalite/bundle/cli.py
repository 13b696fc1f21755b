"""``lambdalite build | template | deploy``: flags -> ``BuildOptions`` -> ``lambdalite.build``
(``bundle/builds.py``) -> the build tables; the SAM template through ``lambdalite.sam``.

A flag not given is None, an option not set: the template's value with ``--template``, else
lambdalite's default (``bundle/options.py``, shown in ``--help``)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, get_args

import click

from lambdalite.bundle import options as defaults
from lambdalite.cli import ApiCommand
from lambdalite.lambda_facts import (
    ARCHS,
    BUILDABLE_RUNTIMES,
    DEFAULT_RUNTIME,
    MEMORY_MAX_MB,
    MEMORY_MIN_MB,
    TIMEOUT_MAX_S,
)
from lambdalite.manifest import API_PATH_PATTERN

ARCH_CHOICES = [*ARCHS, "all"]


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
_API_PATH = _matching(API_PATH_PATTERN, "an API path starts with /, e.g. /classify_digit")
_SCHEDULE = _matching(r"(rate|cron)\(.+\)", 'a schedule is "rate(5 minutes)" or '
                                              '"cron(0/5 * * * ? *)"')


def function_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by `build` and `template` (what the template describes)."""
    opts = [
        click.option("--variant", default=None, help="Model variant (default: manifest default)."),
        click.option("--backend", type=click.Choice(get_args(defaults.Backend)),
                     default=defaults.BACKEND, show_default=True),
        click.option("--runtime", type=click.Choice(BUILDABLE_RUNTIMES), default=DEFAULT_RUNTIME,
                     show_default=True, help="Not given: the next runtime where the wheels need a "
                     "newer glibc (build; the table says so)."),
        click.option("--arch", type=click.Choice(ARCH_CHOICES), default="x86_64",
                     show_default=True, help="`all` builds x86_64 and arm64."),
        click.option("--package", "package_type", type=click.Choice(["zip", "image"]),
                     default=defaults.PACKAGE_TYPE, show_default=True, help="Not given: an "
                     "image where the zip is over Lambda's limits (build; the table says so)."),
        click.option("--memory", "memory_mb", type=click.IntRange(MEMORY_MIN_MB, MEMORY_MAX_MB),
                     default=defaults.MEMORY_MB, show_default=True, help="MemorySize in MB."),
        click.option("--timeout", "timeout_s", type=click.IntRange(1, TIMEOUT_MAX_S),
                     default=defaults.TIMEOUT_S, show_default=True, help="Timeout in seconds."),
        click.option("--name", "function_name", default=defaults.FUNCTION_NAME,
                     show_default=True, callback=_LOGICAL_ID, help="Logical id of the function "
                     "in template.yaml (letters and digits)."),
        click.option("--api-path", default=defaults.API_PATH,
                     show_default=f"the manifest's api_path, else {defaults.API_PATH}",
                     callback=_API_PATH, help="Path of the function's API event."),
        click.option("--function-url", is_flag=True, help="Add a Function URL (AWS_IAM auth)."),
        click.option("--warmup", "warmup_schedule", default=None, metavar="RATE",
                     callback=_SCHEDULE,
                     help='Keep-warm schedule, e.g. "rate(5 minutes)" or "cron(...)".'),
        click.option("--provisioned-concurrency", type=click.IntRange(1), default=None,
                     help="Publish alias `live` with this provisioned concurrency."),
        click.option("--snapstart", is_flag=True, help="SnapStart on published versions, "
                     "alias `live` (zip, python3.12+; not with provisioned concurrency)."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


# API fields whose flag has another name (the others match a parameter's name).
_FLAGS = {"archs": "--arch", "base_image_digest": "--base-image-digest",
          "base_image_digests": "--base-image-digest", "extra_requirements": "--extra-requirement",
          "template": "--template"}


@click.command(cls=ApiCommand, fields=_FLAGS)
@click.option("--model-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Folder with manifest.json (made by `lambdalite convert`); "
              "required unless the --template function has Metadata.LambdaliteModelDir.")
@click.option("--template", "template_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Build the functions of this SAM template; flags given "
              "explicitly override its settings.")
@click.option("--function", "function", default=None, metavar="NAME",
              help="With --template: build only this function (logical id).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=defaults.OUT_DIR,
              show_default=True)
@click.option("--base-image-digest", "digests", multiple=True, metavar="[ARCH=]sha256:...",
              help="Pin the image's FROM to a digest (--package image only). Digests differ "
              "per architecture: with --arch all pass x86_64=sha256:... and arm64=sha256:... "
              "(repeatable).")
@click.option("--extra-requirement", "extra", multiple=True,
              help="Another pip requirement to ship (repeatable).")
@click.option("--litert-package", default=None, metavar="REQ",
              help="Where the LiteRT interpreter comes from instead of ai-edge-litert, e.g. "
              "tflite-runtime==2.7.0 (with --runtime python3.9: its newest Python; numpy<2).")
@click.option("--weight-cache/--no-weight-cache", "weight_cache", default=None,
              help="Ship XNNPACK's packed weights for this machine's CPU (python3.12+) "
              "[default: for a variant of 64 MB or more].")
@click.option("--dry-run", is_flag=True, help="Print the plan (pip command, rules) and stop.")
@function_options
def build(model_dir: Path | None, template_path: Path | None, function: str | None,
          out_dir: Path, digests: tuple[str, ...], extra: tuple[str, ...],
          litert_package: str | None, weight_cache: bool | None,
          dry_run: bool, **kw: Any) -> None:
    """Build the function for Lambda (zip or image context) and write OUT/template.yaml."""
    from lambdalite.bundle import builds  # deferred: keeps `--help` light
    from lambdalite.cli_progress import RichProgress
    from lambdalite.errors import UsageError

    if template_path is not None and kw["arch"] == "all":
        raise UsageError("--arch all cannot be combined with --template: set Architectures per "
                         "function in the template, or pass --arch x86_64 / arm64")
    one, per_arch = parse_digests(digests)
    options = build_options(
        kw, model_dir=model_dir, template=template_path, function=function, out_dir=out_dir,
        extra_requirements=extra, base_image_digest=one, base_image_digests=per_arch,
        litert_package=litert_package, weight_cache=weight_cache, dry_run=dry_run)
    # The fallbacks only for what the user left to lambdalite: never for a flag given, nor
    # for what a template says.
    left = template_path is None
    options = replace(options, image_fallback=left and options.package_type is None,
                      runtime_fallback=left and options.runtime is None)
    with RichProgress(transient=True) as progress:
        outcome = builds.build(options, progress=progress)
    if dry_run:
        for plan in outcome.plans:
            click.echo(plan.describe())
        return
    _show(outcome)
    failure = outcome.failure()
    if failure is not None:
        raise failure


def build_options(kw: dict[str, Any], **more: Any) -> Any:
    """``BuildOptions`` from the flags ``function_options`` adds: a flag not given is None
    (not set), so that a template's value stands. (Its default, shown by --help, is the one
    ``lambdalite.build`` takes for an option not set.)"""
    from click.core import ParameterSource

    from lambdalite.bundle.options import BuildOptions

    ctx = click.get_current_context()
    given: dict[str, Any] = {k: None if ctx.get_parameter_source(k) is ParameterSource.DEFAULT
                             and not isinstance(v, bool) else v for k, v in kw.items()}
    arch = given.pop("arch")
    archs = None if arch is None else tuple(ARCHS) if arch == "all" else (arch,)
    return BuildOptions(archs=archs, **given, **more)


def _show(outcome: Any) -> None:
    """Each package's table (stdout) or, with several packages, its one FAILED line (stderr);
    then the template's notes, path and cfn-lint's findings."""
    from lambdalite.bundle import report
    from lambdalite.sam.lint import NOT_INSTALLED

    for package in outcome.packages:
        if package.result is not None:
            report.print_results([package.result])
        elif len(outcome.packages) > 1:
            err = package.error
            click.echo(f"{package.label}: FAILED ({err.error_type}): {err.message}", err=True)
    if outcome.template is None:
        return
    for note in outcome.notes:
        click.echo(f"note: {note}", err=True)
    path = outcome.template
    click.echo(f"wrote {path}; next: `lambdalite local invoke -t {path} -e EVENT.json` "
               f"or `lambdalite deploy -t {path}`")
    if outcome.lint is None:
        click.echo(f"note: {NOT_INSTALLED}", err=True)
    for finding in outcome.lint or ():
        click.echo(f"warning: cfn-lint: {finding}", err=True)
    if outcome.lint == ():
        click.echo(f"cfn-lint: no findings in {path}", err=True)


def parse_digests(values: tuple[str, ...]) -> tuple[str | None, dict[str, str]]:
    """``--base-image-digest`` values (``sha256:...`` or ``ARCH=sha256:...``) -> the one bare
    digest, and the per-arch ones (``builds`` checks them against what is built)."""
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
    if len(bare) > 1 or (bare and per_arch):
        raise UsageError("pass one --base-image-digest sha256:..., or one ARCH=sha256:... per "
                         "architecture")
    return (bare[0] if bare else None), per_arch


@click.command(cls=ApiCommand, fields=_FLAGS)
@click.option("-o", "--output", type=click.Path(path_type=Path),
              default=defaults.OUT_DIR / defaults.TEMPLATE_NAME,
              show_default=True, help="Where to write it; `-` for stdout.")
@click.option("--model-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Record the model folder (Metadata.LambdaliteModelDir) so that "
              "`lambdalite build --template` finds it.")
@function_options
def template(output: Path, model_dir: Path | None, **kw: Any) -> None:
    """Write only the SAM template (CodeUri/DockerContext point at `lambdalite build` output)."""
    from lambdalite.bundle.builds import HEADER
    from lambdalite.bundle.jobs import template_functions
    from lambdalite.sam.write import to_yaml, write

    stdout = str(output) == "-"
    where = Path.cwd() if stdout else output.parent
    # The model folder is only recorded (Metadata.LambdaliteModelDir), never read, here.
    functions = template_functions(build_options(kw, model_dir=model_dir), where)
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
