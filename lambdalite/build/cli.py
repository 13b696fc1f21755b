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


def template_options(archs: list[str], kw: dict[str, Any]) -> TemplateOptions:
    functions = []
    for i, arch in enumerate(archs):
        # With --arch all the second function gets its own name and API path.
        suffix = "" if i == 0 else arch.capitalize().replace("_", "")
        path = kw["api_path"] if i == 0 else f"{kw['api_path'].rstrip('/')}-{arch}"
        functions.append(FunctionDef(
            logical_id=kw["function_name"] + suffix, arch=arch, package_type=kw["package_type"],
            runtime=kw["runtime"], memory_mb=kw["memory_mb"], timeout_s=kw["timeout_s"],
            backend=kw["backend"], variant=kw["variant"], api_path=path,
        ))
    return TemplateOptions(
        functions=tuple(functions), function_url=kw["function_url"],
        warmup_schedule=kw["warmup_schedule"],
        provisioned_concurrency=kw["provisioned_concurrency"],
    )


@click.command()
@click.option("--model-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              required=True, help="Folder with manifest.json (made by `lambdalite convert`).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("build"),
              show_default=True)
@click.option("--base-image-digest", default=None, help="Pin FROM to sha256:... (image only).")
@click.option("--extra-requirement", "extra", multiple=True,
              help="Another pip requirement to ship (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print the plan (pip command, rules) and stop.")
@function_options
def build(model_dir: Path, out_dir: Path, base_image_digest: str | None, extra: tuple[str, ...],
          dry_run: bool, **kw: Any) -> None:
    """Build the function for Lambda (zip or image context) and write OUT/template.yaml."""
    from lambdalite.build import api, report  # deferred: keeps `lambdalite --help` light

    archs = _archs(kw["arch"])
    results = []
    for arch in archs:
        options = api.BuildOptions(
            model_dir=model_dir, out_dir=out_dir, variant=kw["variant"], backend=kw["backend"],
            runtime=kw["runtime"], arch=arch, package_type=kw["package_type"],
            memory_mb=kw["memory_mb"], timeout_s=kw["timeout_s"],
            function_name=kw["function_name"], extra_requirements=extra,
            base_image_digest=base_image_digest,
        )
        plan = api.plan(options)
        if dry_run:
            click.echo(plan.describe())
            continue
        results.append(api.execute(plan, progress=True))
    if dry_run:
        return
    report.print_results(results)
    path = write(out_dir / "template.yaml", template_options(archs, kw))
    click.echo(f"wrote {path}; next: `lambdalite local invoke -t {path} -e EVENT.json` "
               f"or `lambdalite deploy -t {path}`")


@click.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("build/template.yaml"),
              show_default=True)
@function_options
def template(output: Path, **kw: Any) -> None:
    """Write only the SAM template (CodeUri/DockerContext point at `lambdalite build` output)."""
    path = write(output, template_options(_archs(kw["arch"]), kw))
    click.echo(f"wrote {path}")


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
