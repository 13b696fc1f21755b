"""``lambdalite build | template | deploy``: thin click fronts over build/api.py and template.py."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from lambdalite.build.template import FunctionDef, TemplateOptions, write
from lambdalite.platform import ARCHS, BUILDABLE_RUNTIMES, DEFAULT_RUNTIME

ARCH_CHOICES = [*ARCHS, "all"]


def _archs(arch: str) -> list[str]:
    return list(ARCHS) if arch == "all" else [arch]


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
        click.option("--memory", "memory_mb", type=click.IntRange(128, 10240), default=1024,
                     show_default=True, help="MemorySize in MB."),
        click.option("--timeout", "timeout_s", type=click.IntRange(1, 900), default=30,
                     show_default=True, help="Timeout in seconds."),
        click.option("--name", "function_name", default="InferenceFunction", show_default=True,
                     help="Logical id of the function in template.yaml."),
        click.option("--api-path", default="/classify_digit", show_default=True),
        click.option("--function-url", is_flag=True, help="Add a Function URL (AWS_IAM auth)."),
        click.option("--warmup", "warmup_schedule", default=None, metavar="RATE",
                     help='Keep-warm schedule, e.g. "rate(5 minutes)".'),
        click.option("--provisioned-concurrency", type=click.IntRange(1), default=None,
                     help="Publish alias `live` with this provisioned concurrency."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def template_options(archs: list[str], kw: dict[str, Any],
                     model_dir: str | None = None) -> TemplateOptions:
    functions = []
    for i, arch in enumerate(archs):
        # With --arch all the second function gets its own name and API path.
        suffix = "" if i == 0 else arch.capitalize().replace("_", "")
        path = kw["api_path"] if i == 0 else f"{kw['api_path'].rstrip('/')}-{arch}"
        functions.append(FunctionDef(
            logical_id=kw["function_name"] + suffix, arch=arch, package_type=kw["package_type"],
            runtime=kw["runtime"], memory_mb=kw["memory_mb"], timeout_s=kw["timeout_s"],
            backend=kw["backend"], variant=kw["variant"], api_path=path, model_dir=model_dir,
        ))
    return TemplateOptions(
        functions=tuple(functions), function_url=kw["function_url"],
        warmup_schedule=kw["warmup_schedule"],
        provisioned_concurrency=kw["provisioned_concurrency"],
    )


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
@click.option("--base-image-digest", default=None, help="Pin FROM to sha256:... (image only).")
@click.option("--extra-requirement", "extra", multiple=True,
              help="Another pip requirement to ship (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print the plan (pip command, rules) and stop.")
@function_options
def build(model_dir: Path | None, template_path: Path | None, function: str | None,
          out_dir: Path, base_image_digest: str | None, extra: tuple[str, ...],
          dry_run: bool, **kw: Any) -> None:
    """Build the function for Lambda (zip or image context) and write OUT/template.yaml."""
    from lambdalite.build import api, project, report  # deferred: keeps `--help` light
    from lambdalite.errors import UsageError

    build_extra: dict[str, Any] = {"extra_requirements": extra, "base_image_digest": base_image_digest}
    if template_path is not None:
        functions = project.read_project(
            template_path, function=function, overrides=_explicit(kw, model_dir))
        jobs = [fn.build_options(out_dir, **build_extra) for fn in functions]
    elif function is not None:
        raise UsageError("--function selects a function of --template FILE; pass --template")
    elif model_dir is None:
        raise UsageError("pass --model-dir DIR (made by `lambdalite convert`) or --template "
                         "FILE (a SAM template whose function has Metadata.LambdaliteModelDir)")
    else:
        jobs = [api.BuildOptions(
            model_dir=model_dir, out_dir=out_dir, variant=kw["variant"], backend=kw["backend"],
            runtime=kw["runtime"], arch=arch, package_type=kw["package_type"],
            memory_mb=kw["memory_mb"], timeout_s=kw["timeout_s"],
            function_name=kw["function_name"], **build_extra,
        ) for arch in _archs(kw["arch"])]
    plans = [api.plan(options) for options in jobs]
    _check_layout(plans)
    if dry_run:
        for plan in plans:
            click.echo(plan.describe())
        return
    results = [api.execute(plan, progress=True) for plan in plans]
    report.print_results(results)
    path = out_dir / "template.yaml"
    if template_path is not None:
        for fn in functions:
            for note in fn.notes:
                click.echo(f"note: {fn.logical_id}: {note}", err=True)
        project.write_template(path, functions)
    else:
        assert model_dir is not None
        write(path, template_options(_archs(kw["arch"]), kw,
                                     project.relative_model_dir(model_dir, out_dir)))
    click.echo(f"wrote {path}; next: `lambdalite local invoke -t {path} -e EVENT.json` "
               f"or `lambdalite deploy -t {path}`")


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
    from lambdalite.build.project import relative_model_dir
    from lambdalite.build.template import to_yaml

    stdout = str(output) == "-"
    where = Path.cwd() if stdout else output.parent
    rel = relative_model_dir(model_dir, where) if model_dir is not None else None
    opts = template_options(_archs(kw["arch"]), kw, rel)
    if stdout:
        click.echo(to_yaml(opts), nl=False)
        return
    click.echo(f"wrote {write(output, opts)}")


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
    from lambdalite.errors import UsageError

    if not template_path.exists():
        raise UsageError(f"{template_path} does not exist; run `lambdalite build` first")
    image = "PackageType: Image" in template_path.read_text()
    commands = deploy_commands(template_path, stack_name, image)
    sam = shutil.which("sam")
    if sam is None or print_only:
        why = "--print-only" if print_only else "the SAM CLI is not installed here"
        click.echo(f"Not deploying ({why}); nothing was sent to AWS. Run:", err=True)
        for cmd in commands:
            click.echo(shlex.join(cmd))
        return
    for cmd in commands:
        click.echo(f"$ {shlex.join(cmd)}", err=True)
        subprocess.run(cmd, check=True)
