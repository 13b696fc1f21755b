"""One package: ``build_package(options)`` plans, then executes -> a checked task root, zip or
image context. (``lambdalite.build``, in ``builds.py``, builds one or both architectures of a
function and its template through this.)

    from lambdalite.bundle.api import PackageOptions, build_package
    result = build_package(PackageOptions(model_dir=Path("lambdalite/examples/mnist/model"),
                                          out_dir=Path("build"), runtime="python3.11"))

Steps: install the backend's requirements for the target with pip (compiling, with zig, a
requirement that has no wheel for it: crosscompile.py) -> verify what got
installed -> slim -> ELF machine, glibc and libstdc++ checks -> copy the function code and
the one model variant -> compile .pyc for the target Python -> size check; when a check fails
because of a package the user did not pin, versions.py steps it down to an older release and
runs these steps again -> lock -> zip (or image context) -> size check. The fallbacks, when
asked for (an explicit choice is never overridden): a zip over Lambda's limits is built as an
image instead; wheels that need a newer glibc than the runtime's are built for the next runtime
that has it. ``BuildResult.fallbacks`` says which was taken, and why.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from lambdalite import progress as progress_
from lambdalite.bundle import (
    crosscompile,
    elfcheck,
    image,
    install,
    package,
    resolve,
    size,
    slim,
    versions,
    weightcache,
)
from lambdalite.bundle.errors import BuildError, CheckFailed, GlibcTooNew, PackageTooLarge
from lambdalite.bundle.options import Backend
from lambdalite.bundle.targets import Target
from lambdalite.errors import OptionError
from lambdalite.function.floors import IMPORTS_HANDLER, NOOP_HANDLER
from lambdalite.lambda_facts import (
    BUILDABLE_RUNTIMES,
    DEFAULT_RUNTIME,
    RUNTIMES,
    base_image,
    deprecation_warning,
)
from lambdalite.manifest import Manifest

# The function's entry point, as Lambda's Handler / an image's CMD names it.
HANDLER = "lambdalite.function.handler.lambda_handler"
# Every package also carries the floor handlers (lambdalite.function.floors): the same package
# with one of them as its Handler measures the cold start it cannot beat.
FLOOR_HANDLERS = {"noop": NOOP_HANDLER, "imports": IMPORTS_HANDLER}
STEPS = 8  # progress units of one package: 6 in _assemble (again per release versions.fit
#           steps down to), write and check size


@dataclass(frozen=True)
class PackageOptions:
    """One package: one function, runtime, architecture and package type."""

    model_dir: Path
    out_dir: Path
    variant: str | None = None
    backend: Backend = "litert"
    runtime: str = DEFAULT_RUNTIME
    arch: str = "x86_64"
    package_type: Literal["zip", "image"] = "zip"
    memory_mb: int = 1024
    timeout_s: int = 30
    function_name: str = "InferenceFunction"
    # Added to the backend's requirements (pip syntax), e.g. ("tflite-runtime==2.14.0",).
    extra_requirements: tuple[str, ...] = ()
    # The LiteRT interpreter's distribution instead of ai-edge-litert, e.g.
    # "tflite-runtime==2.7.0" (the write-up's; python3.9, with numpy<2: resolve.py).
    litert_package: str | None = None
    base_image_digest: str | None = None
    # Fallbacks, for what the user left to lambdalite (the CLI: a flag not given).
    # XNNPACK weight cache (bundle/weightcache.py): None = auto, for a variant of 64 MB or more.
    weight_cache: bool | None = None
    image_fallback: bool = False     # a zip over Lambda's limits -> an image
    runtime_fallback: bool = False   # wheels need a newer glibc -> the next runtime with it


@dataclass(frozen=True)
class BuildResult:
    options: PackageOptions          # as built: after a fallback, its package type or runtime
    task_root: Path
    zip_path: Path | None
    context_dir: Path | None
    unzipped_bytes: int
    zipped_bytes: int | None
    files: int
    glibc_needed: str | None
    glibc_available: str
    warnings: tuple[str, ...]
    handler: str = HANDLER
    # Beyond the contract: what the report and bench show.
    glibc_needed_by: str | None = None                     # the file that needs the most
    installed: tuple[str, ...] = ()                        # "name==version", as locked
    packages: tuple[tuple[str, int], ...] = ()             # (distribution, bytes), biggest first
    slimmed: tuple[tuple[str, int, int], ...] = ()         # (rule, paths, bytes removed)
    notes: tuple[str, ...] = ()
    lock_path: Path | None = None
    libstdcxx_needed: str | None = None                   # highest GLIBCXX_, e.g. "GLIBCXX_3.4.21"
    libstdcxx_needed_by: str | None = None
    libstdcxx_available: str = ""                          # e.g. "GLIBCXX_3.4.29 (GCC 11.2)"
    # Versions stepped down to fit the runtime, each with why newer ones were rejected.
    picked: tuple[str, ...] = ()
    # What a fallback changed (package type, runtime) and why.
    fallbacks: tuple[str, ...] = ()
    # Requirements with no wheel for the target, compiled from source: how, what they need.
    compiled: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuildPlan:
    options: PackageOptions
    target: Target
    requirements: tuple[str, ...]
    out_arch_dir: Path                # OUT/<arch> (zip) or OUT/image-<arch> (image)
    task_root: Path
    pip_command: tuple[str, ...]
    rules: tuple[slim.Rule, ...] = field(default=())
    compile_with: str | None = None
    cache: weightcache.CachePlan = weightcache.CachePlan(False, "not planned")

    def describe(self) -> str:
        lines = [
            f"target      {self.target}",
            f"package     {self.options.package_type} -> {self.out_arch_dir}",
            f"model       {self.options.model_dir} variant={self.options.variant or '(default)'} "
            f"backend={self.options.backend}"
            + (f" ({self.options.litert_package})" if self.options.litert_package else ""),
            f"pip         {' '.join(self.pip_command)}",
            f"slim rules  {', '.join(r.name for r in self.rules)}",
            f"compile     {self.compile_with or 'skipped (no matching interpreter)'}",
            f"xnnpack     weight cache {self.cache.why}",
        ]
        if self.options.package_type == "image":
            o = self.options
            lines.append(f"FROM        {base_image(o.runtime, o.arch, o.base_image_digest)}")
        return "\n".join(lines)


def plan(options: PackageOptions) -> BuildPlan:
    if options.arch == "all":
        raise OptionError("{arch} 'all': a package has one architecture (lambdalite.build "
                          "builds several: BuildOptions(archs=('x86_64', 'arm64')))")
    target = Target.of(options.runtime, options.arch)
    if options.backend not in resolve.REQUIREMENTS:
        raise OptionError(f"{{backend}} {options.backend!r}: use one of "
                          f"{', '.join(resolve.REQUIREMENTS)}")
    manifest = Manifest.load(options.model_dir)
    variant = manifest.variant_for(options.variant, options.backend)  # fail early on a bad variant
    options = with_hook_requirements(options, manifest)
    digest = options.base_image_digest
    if digest is not None and not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise OptionError(f"{{base_image_digest}} {digest!r} must look like "
                          "sha256:<64 hex digits>")
    out = options.out_dir / (
        options.arch if options.package_type == "zip" else f"image-{options.arch}"
    )
    task_root = out / image.TASK_DIRNAME
    reqs = resolve.requirements_for(options.backend, options.extra_requirements, target,
                                    litert_package=options.litert_package)
    compile_with = slim.find_interpreter(target.python_version)
    cache = weightcache.plan(options.backend, options.arch, compile_with, variant.size_bytes,
                             options.weight_cache, litert_package=options.litert_package)
    return BuildPlan(
        options=options,
        target=target,
        requirements=reqs,
        out_arch_dir=out,
        task_root=task_root,
        pip_command=tuple(install.pip_command(task_root, reqs, target)),
        rules=weightcache.rules_for(slim.rules_for(options.backend), cache),
        compile_with=compile_with,
        cache=cache,
    )


def with_hook_requirements(options: PackageOptions, manifest: Manifest) -> PackageOptions:
    """The manifest's hook requirements join the extra requirements: the same pip, glibc and
    size checks, and spared by the slim rules like anything the user asked for."""
    if manifest.hooks is None:
        return options
    hooks_file = options.model_dir / manifest.hooks.module
    if not hooks_file.is_file():
        raise BuildError(f"the manifest names hooks module {manifest.hooks.module} but "
                         f"{hooks_file} is missing; convert again with --hooks FILE")
    extra = tuple(dict.fromkeys((*options.extra_requirements, *manifest.hooks.requirements)))
    return replace(options, extra_requirements=extra)


def build_package(options: PackageOptions, *, progress: progress_.Progress | None = None
                  ) -> BuildResult:
    """Plan and execute one package, with the fallbacks ``options`` allows."""
    shown = progress_.resolve(progress)
    taken: list[str] = []
    while True:
        p = plan(options)
        try:
            return execute(p, progress=shown, fallbacks=tuple(taken))
        except BuildError as err:
            fallback = _fallback(options, err)
            if fallback is None:
                raise
            shutil.rmtree(p.out_arch_dir, ignore_errors=True)  # the attempt: nothing to ship
            options, why = fallback
            taken.append(why)


def _fallback(o: PackageOptions, err: BuildError) -> tuple[PackageOptions, str] | None:
    if isinstance(err, PackageTooLarge) and o.image_fallback and o.package_type == "zip":
        return (replace(o, package_type="image"),
                f"built as an image: the zip is over Lambda's limits ({err.reason})")
    newer = _newer_runtime(o.runtime)
    if isinstance(err, GlibcTooNew) and o.runtime_fallback and newer is not None:
        return (replace(o, runtime=newer),
                f"built for {newer}: {o.runtime}'s glibc {RUNTIMES[o.runtime].glibc_str} is too "
                f"old for the {o.arch} wheels ({err.reason})")
    return None


def _newer_runtime(runtime: str) -> str | None:
    """The oldest buildable runtime on a newer glibc (Amazon Linux 2 -> 2023)."""
    have = RUNTIMES[runtime].glibc
    return next((r for r in BUILDABLE_RUNTIMES if RUNTIMES[r].glibc > have), None)


@dataclass(frozen=True)
class _Assembled:
    """A task root whose dependencies passed the ELF checks and whose size fits the type."""

    installed: dict[str, resolve.Installed]
    owners: dict[str, str]
    slimmed: slim.SlimReport
    infos: tuple[elfcheck.ElfInfo, ...]
    compile_note: str | None
    files: int
    unzipped: int
    compiled: tuple[crosscompile.Compiled, ...] = ()
    cache_note: str | None = None


def _assemble(p: BuildPlan, requirements: tuple[str, ...], steps: progress_.Progress
              ) -> _Assembled:
    """Install ``requirements`` for the target into a fresh task root and check it.

    Raises CheckFailed (with the culprit's installed version) so versions.fit can step down.
    """
    o, target, root = p.options, p.target, p.task_root
    if p.out_arch_dir.exists():
        shutil.rmtree(p.out_arch_dir)
    with progress_.step(steps, f"pip install for {target} ({' '.join(requirements)})"):
        # A requirement with no wheel for the target is compiled for it (its sdist).
        compiled = crosscompile.install_compiling(root, requirements, target, progress=steps)
    with progress_.step(steps, "verify installed versions"):
        installed = resolve.read_installed(root)
        resolve.verify(installed, requirements, target,
                       compiled=frozenset(resolve.canonical(c.name) for c in compiled))
        owners = resolve.owner_of(installed)
    with progress_.step(steps, "slim dependencies"):
        # What the user asked for (and what it requires) stays, even where a rule drops it.
        asked = resolve.requested_closure(installed, o.extra_requirements, target,
                                          stop_at=resolve.REQUIREMENTS[o.backend])
        report = slim.apply(root, p.rules, keep=resolve.paths_of(installed, asked))
    try:
        with progress_.step(steps, "check ELF machines, glibc and libstdc++"):
            # Function code and model hold no ELF files: check before copying and compiling.
            infos = tuple(elfcheck.scan(root))
            elfcheck.check_arch(infos, target)
            elfcheck.check_glibc(infos, target, owners)
            elfcheck.check_libstdcxx(infos, target, owners)
        with progress_.step(steps, "copy function code and model"):
            package.copy_function_code(root)
            package.copy_model(o.model_dir, root, o.variant, o.backend)
        with progress_.step(steps, f"compile .pyc for python{target.python_version}"
                                   + (" and the XNNPACK weight cache" if p.cache.build else "")):
            note = slim.compile_for_target(root, target.python_version, p.compile_with)
            cache_note = (weightcache.execute(root, p.compile_with)
                          if p.cache.build and p.compile_with else None)
        files, unzipped = package.tree_stats(root)
        # Fail before zipping what cannot ship; versions.fit never steps for size alone.
        size.check(o.package_type, unzipped, None, backend=o.backend,
                   model_bytes=slim.tree_bytes(root / package.MODEL_DIRNAME))
    except CheckFailed as err:
        item = installed.get(resolve.canonical(err.package)) if err.package else None
        err.version = item.version if item else None
        raise
    return _Assembled(installed, owners, report, infos, note, files, unzipped, compiled,
                      cache_note)


def execute(p: BuildPlan, *, progress: progress_.Progress | None = None,
            fallbacks: tuple[str, ...] = ()) -> BuildResult:
    """About ``STEPS`` units of ``progress`` (the caller sets its total). ``fallbacks``: what
    ``build_package`` changed to get here, recorded in the result."""
    o, target, root = p.options, p.target, p.task_root
    notes: list[str] = []
    steps = progress_.resolve(progress)
    screens = install.cache_subdir("screens")
    done, picks = versions.fit(
        p.requirements, lambda reqs: _assemble(p, reqs, steps),
        pinned=versions.pinned((*o.extra_requirements, *filter(None, [o.litert_package]))),
        versions=lambda name: versions.list_versions(name, target, cache=screens),
        screen=lambda name, v: versions.screen_wheel(
            name, v, target, o.package_type,
            constraints=versions.constraints_for(name, o.extra_requirements), cache=screens),
        target_label=str(target),
    )
    picked = tuple(pick.note() for pick in picks)
    compiled = tuple(c.note() for c in done.compiled)
    installed, owners, infos = done.installed, done.owners, done.infos
    if done.compile_note:
        notes.append(done.compile_note)
    if done.cache_note:
        notes.append(done.cache_note)
    elif p.cache.why.startswith("not built"):
        notes.append(f"XNNPACK weight cache {p.cache.why}")
    if done.slimmed.spared:
        notes.append("kept for --extra-requirement (slim rules drop them otherwise): "
                     + ", ".join(done.slimmed.spared))
    lock_path = p.out_arch_dir / "requirements.lock"
    lock_path.write_text(resolve.lock_text(installed, target, picked, compiled))
    worst = elfcheck.highest_glibc(infos)
    worst_cxx = elfcheck.highest_libstdcxx(infos)
    files, unzipped = done.files, done.unzipped
    zip_path: Path | None = None
    zipped: int | None = None
    context: Path | None = None
    with progress_.step(steps, "write package"):
        if o.package_type == "zip":
            zip_path = p.out_arch_dir / "function.zip"
            zipped = package.write_zip(root, zip_path)
        else:
            context = image.write_context(p.out_arch_dir, o.runtime, o.arch, HANDLER,
                                          o.base_image_digest)
    with progress_.step(steps, "check size"):
        verdict = size.check(o.package_type, unzipped, zipped)
    notes.extend(verdict.notes)
    deprecated = deprecation_warning(o.runtime)
    result = BuildResult(
        options=o,
        task_root=root,
        zip_path=zip_path,
        context_dir=context,
        unzipped_bytes=unzipped,
        zipped_bytes=zipped,
        files=files,
        glibc_needed=worst.glibc_str if worst else None,
        glibc_available=target.runtime.glibc_str,
        warnings=(*((deprecated,) if deprecated else ()), *verdict.warnings),
        glibc_needed_by=worst.path if worst else None,
        installed=tuple(sorted(i.pin for i in installed.values())),
        packages=package_sizes(root, owners),
        slimmed=tuple((k, n, b) for k, (n, b) in done.slimmed.removed.items()),
        notes=tuple(notes),
        lock_path=lock_path,
        libstdcxx_needed=worst_cxx.glibcxx_str if worst_cxx else None,
        libstdcxx_needed_by=worst_cxx.path if worst_cxx else None,
        libstdcxx_available=f"{elfcheck.version_str('GLIBCXX', target.runtime.glibcxx)} "
                            f"(GCC {target.runtime.libstdcxx_gcc})",
        picked=picked,
        fallbacks=fallbacks,
        compiled=compiled,
    )
    write_summary(result, p.out_arch_dir / "build.json")
    return result


def package_sizes(root: Path, owners: dict[str, str]) -> tuple[tuple[str, int], ...]:
    """Bytes per distribution (function code and model under their own names), biggest first."""
    sizes: dict[str, int] = {}
    for child in root.iterdir():
        name = owners.get(child.name)
        if name is None:
            name = child.name.split("-", 1)[0] if child.name.endswith(".dist-info") else child.name
            name = owners.get(name, name)
        sizes[name] = sizes.get(name, 0) + slim.tree_bytes(child)
    return tuple(sorted(sizes.items(), key=lambda kv: -kv[1]))


def write_summary(result: BuildResult, path: Path) -> None:
    data = {
        "runtime": result.options.runtime,
        "arch": result.options.arch,
        "package_type": result.options.package_type,
        "backend": result.options.backend,
        "litert_package": result.options.litert_package,
        "files": result.files,
        "unzipped_bytes": result.unzipped_bytes,
        "zipped_bytes": result.zipped_bytes,
        "glibc_needed": result.glibc_needed,
        "glibc_needed_by": result.glibc_needed_by,
        "glibc_available": result.glibc_available,
        "libstdcxx_needed": result.libstdcxx_needed,
        "libstdcxx_needed_by": result.libstdcxx_needed_by,
        "libstdcxx_available": result.libstdcxx_available,
        "installed": list(result.installed),
        "picked": list(result.picked),
        "fallbacks": list(result.fallbacks),
        "compiled": list(result.compiled),
        "packages": dict(result.packages),
        "slimmed": {rule: {"paths": n, "bytes": b} for rule, n, b in result.slimmed},
        "warnings": list(result.warnings),
        "notes": list(result.notes),
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
