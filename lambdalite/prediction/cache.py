"""The function of a model folder, built once for this machine and reused while nothing changed.

    template, reused = cached_build(Path("model"), runtime="python3.11", arch="x86_64")

The build is ``lambdalite.build`` (a zip with the model, the slim handler and the wheels for
the runtime, checked like any other build); its folder is named by a key over everything that
changes the package: the model folder's files (name, size, modification time), the lambdalite
code the function ships (content), the runtime, the architecture, the variant and the backend.
Another model, an edited file or a new lambdalite gives another key, hence a fresh build.

Where: ``cache_dir`` > ``$LAMBDALITE_CACHE_DIR`` > ``~/.cache/lambdalite/predict``. A build is
made in a scratch folder beside its final place and renamed into it, so that two ``predict``
runs never see half a build.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from lambdalite import envvars
from lambdalite import progress as progress_
from lambdalite.bundle.builds import build
from lambdalite.bundle.options import TEMPLATE_NAME, Backend, BuildOptions
from lambdalite.bundle.package import function_sources
from lambdalite.errors import UsageError

DEFAULT_CACHE_DIR = Path.home() / ".cache" / "lambdalite" / "predict"


def cache_root(cache_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if cache_dir is not None:
        return cache_dir
    return Path(env[envvars.CACHE_DIR]) if env.get(envvars.CACHE_DIR) else DEFAULT_CACHE_DIR


def build_key(model_dir: Path, *, runtime: str, arch: str, variant: str | None,
              backend: Backend) -> str:
    digest = hashlib.sha256(f"{runtime}|{arch}|{variant}|{backend}".encode())
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(model_dir)}|{stat.st_size}|{stat.st_mtime_ns}\n"
                      .encode())
    for source, target in function_sources():
        digest.update(target.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:20]


def cached_build(model_dir: Path, *, runtime: str, arch: str, variant: str | None = None,
                 backend: Backend = "litert", cache_dir: Path | None = None,
                 progress: progress_.Progress | None = None) -> tuple[Path, bool]:
    """The template of the model's function built for ``runtime``/``arch``, and whether it
    was reused. BuildError when it cannot be built (the build's own message)."""
    if not (model_dir / "manifest.json").is_file():
        raise UsageError(f"{model_dir} is not a model folder (no manifest.json): pass the "
                         "output of `lambdalite convert`, or a SAM template")
    key = build_key(model_dir, runtime=runtime, arch=arch, variant=variant, backend=backend)
    final = cache_root(cache_dir) / key
    if (final / TEMPLATE_NAME).is_file():
        return final / TEMPLATE_NAME, True
    scratch = final.with_name(f"{key}.building-{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        outcome = build(BuildOptions(model_dir=model_dir.resolve(), out_dir=scratch,
                                     archs=(arch,), runtime=runtime, package_type="zip",
                                     variant=variant, backend=backend), progress=progress)
        failure = outcome.failure()
        if failure is not None:
            raise failure
        try:
            scratch.rename(final)
        except OSError:
            if not (final / TEMPLATE_NAME).is_file():   # not a build that won the race
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return final / TEMPLATE_NAME, False
