"""What ``lambdalite.build`` is asked to build (``BuildOptions``), and lambdalite's defaults for a
function made from options alone (a template's functions have SAM's defaults instead).

    BuildOptions(model_dir=Path("model"), archs=("x86_64", "arm64"))     # one function, 2 archs
    BuildOptions(template=Path("template.yaml"), memory_mb=2048)          # a SAM template's

Standard library only: ``lambdalite build --help`` shows these defaults without importing the
build (``jobs.py`` maps the options onto packages, ``builds.py`` runs them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Backend = Literal["litert", "tf", "onnxruntime"]
PackageKind = Literal["zip", "image"]

# The function a model folder is built as, when an option is not set.
FUNCTION_NAME = "InferenceFunction"
BACKEND: Backend = "litert"
PACKAGE_TYPE: PackageKind = "zip"
MEMORY_MB = 1024
TIMEOUT_S = 30
# The API event of the SAM "machine learning" quick-start template (POST on the implicit
# ServerlessRestApi).
API_PATH = "/classify_digit"
OUT_DIR = Path("build")
TEMPLATE_NAME = "template.yaml"


@dataclass(frozen=True)
class BuildOptions:
    """The model in ``model_dir`` built as one function, a package for each of ``archs``; or,
    with ``template``, the functions of that SAM template (only ``function``, if set), each as
    the template says.

    A field left None is not set: with ``template`` the template's value, else the default in
    its comment. A value set always wins, over the template too (``model_dir`` over
    ``Metadata.LambdaliteModelDir``, one arch over ``Architectures``).

    ``image_fallback`` / ``runtime_fallback``: build an image when the zip is over Lambda's
    limits / for the next runtime when the wheels need a newer glibc (reported in each
    ``BuildResult.fallbacks``). The CLI turns them on for ``--package`` / ``--runtime`` not
    given, and never with ``--template``: a value given is never overridden.
    ``write_template``: write ``out_dir``/template.yaml for what built (and lint it, when
    cfn-lint is installed)."""

    model_dir: Path | None = None
    template: Path | None = None
    function: str | None = None                     # with template: build only this one
    out_dir: Path = OUT_DIR
    archs: tuple[str, ...] | None = None            # ("x86_64",); with template: one arch
    variant: str | None = None                      # the manifest's default
    backend: Backend | None = None                  # BACKEND
    runtime: str | None = None                      # lambda_facts.DEFAULT_RUNTIME
    package_type: PackageKind | None = None         # PACKAGE_TYPE
    memory_mb: int | None = None                    # MEMORY_MB
    timeout_s: int | None = None                    # TIMEOUT_S
    function_name: str | None = None                # FUNCTION_NAME (the logical id)
    api_path: str | None = None                     # the manifest's api_path, else API_PATH
    function_url: bool = False                      # True: a Function URL (AWS_IAM auth)
    warmup_schedule: str | None = None              # none; "rate(5 minutes)"
    provisioned_concurrency: int | None = None      # none; alias `live` with this many
    # SnapStart on published versions, alias `live` (a zip on python3.12+: no image fallback).
    snapstart: bool = False
    extra_requirements: tuple[str, ...] = ()        # pip syntax, shipped too
    litert_package: str | None = None               # ai-edge-litert; tflite-runtime==2.7.0
    # Pin the image's FROM: one digest for the one arch built, or one per arch.
    base_image_digest: str | None = None
    base_image_digests: Mapping[str, str] = field(default_factory=dict)
    image_fallback: bool = False
    runtime_fallback: bool = False
    weight_cache: bool | None = None                # XNNPACK weight cache; None: auto (>= 64 MB)
    write_template: bool = True
    dry_run: bool = False                           # plan only: nothing is built or written


__all__ = ["API_PATH", "BACKEND", "FUNCTION_NAME", "MEMORY_MB", "OUT_DIR", "PACKAGE_TYPE",
           "TEMPLATE_NAME", "TIMEOUT_S", "Backend", "BuildOptions", "PackageKind"]
