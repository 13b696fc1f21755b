"""Slim the installed dependencies: removal rules as data, then .pyc for the target Python.

Every rule says what it removes and why the function never needs it; the functional
tests import and run the slimmed package (python3.11 with ai-edge-litert 1.x and
python3.12 with 2.x) so a rule that breaks something fails a test. The import facts
behind the "never imported" rules were measured with ``python -X importtime`` and
``/proc/self/maps`` while the function served a request (docs/BUILD.md).
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lambdalite.errors import BuildError

PYENV_ROOT = Path("/root/.pyenv/versions")


@dataclass(frozen=True)
class Rule:
    name: str
    patterns: tuple[str, ...]      # globs relative to the task root (Path.glob syntax)
    why: str
    backends: tuple[str, ...] = ("litert", "tf", "onnxruntime")
    # Removes whole distributions the backend pulls in: spares those the user asked for
    # (--extra-requirement) and what they require.
    whole_packages: bool = False
    # Bundled-library folders (``pillow.libs``) whose libraries go too once no ELF file left in
    # the package needs them (DT_NEEDED, transitively): what the removed modules alone linked.
    # Only folders whose libraries are never dlopen()ed by name.
    orphans: tuple[str, ...] = ()
    # Whether the rule holds for this task root (what was installed), None: always.
    applies: Callable[[Path], bool] | None = None


def numpy_imports_lazily(root: Path) -> bool:
    """numpy 2 imports polynomial, ma and fft on first use; numpy 1.x (which the write-up's
    tflite-runtime 2.7.0 needs) imports them in ``numpy/__init__``, so they must stay."""
    versions = [p.name.split("-")[1] for p in root.glob("numpy-*.dist-info")]
    return bool(versions) and all(v.split(".")[0].isdigit() and int(v.split(".")[0]) >= 2
                                  for v in versions)


# Bundled shared libraries of manylinux wheels (auditwheel puts them in <dist>.libs/):
# numpy and Pillow load them by RPATH; removing any of them breaks the import.
PROTECTED = ("*.libs",)   # top-level folders; nothing inside them may be removed

RULES: tuple[Rule, ...] = (
    Rule("tests", ("**/tests", "numpy/_core/_*_tests.*.so", "numpy/conftest.py"),
         "test suites and test-only extension modules; nothing imports them at run time"),
    Rule("pycache", ("**/__pycache__",),
         "bytecode made for another Python; replaced by .pyc compiled for the target"),
    Rule("headers", ("**/*.h", "**/*.hpp", "**/*.pxd", "**/*.pyx", "numpy/_core/include",
                     "numpy/_core/lib/pkgconfig", "**/*.a"),
         "C/Cython headers and static libraries are for compiling against a package"),
    Rule("stubs", ("**/*.pyi", "**/py.typed"), "type stubs are read by type checkers only"),
    Rule("dist-info", ("*.dist-info/RECORD", "*.dist-info/INSTALLER", "*.dist-info/REQUESTED",
                       "*.dist-info/direct_url.json", "*.dist-info/entry_points.txt"),
         "installer bookkeeping; METADATA, WHEEL and licenses stay"),
    Rule("scripts", ("bin",), "console scripts (f2py, tqdm, ...): Lambda runs no shell commands"),
    Rule("numpy-tools", ("numpy/f2py", "numpy/_pyinstaller", "numpy/typing/tests"),
         "Fortran wrapper generator and PyInstaller hooks: build tools, loaded on demand only"),
    Rule("unused-deps",
         ("tqdm", "tqdm-*.dist-info", "google/protobuf", "google/_upb", "protobuf-*.dist-info",
          "ml_dtypes", "ml_dtypes-*.dist-info", "flatbuffers", "flatbuffers-*.dist-info",
          "backports/strenum", "backports_strenum-*.dist-info",
          "typing_extensions.py", "typing_extensions-*.dist-info"),
         "ai-edge-litert requires them for its converter/CompiledModel/tools; the classic "
         "Interpreter the function uses imports none of them (measured)",
         ("litert",), whole_packages=True),
    Rule("pillow-unused",
         ("PIL/_avif.*.so", "PIL/_imagingft.*.so", "PIL/_imagingtk.*.so"),
         "AVIF (not one of the formats the function decodes, function/decode.py FORMATS), "
         "the FreeType/HarfBuzz font stack (ImageFont, text drawing) and Tk; with them go the "
         "pillow.libs they alone link (libavif, libfreetype, libharfbuzz, libbrotli*, libpng16). "
         "_imaging itself links libjpeg, libtiff (+ zstd, lzma), libopenjp2 and libxcb (the X11 "
         "screen grab): those stay. Pillow imports these modules on use only and reports them "
         "unavailable (PIL.features)",
         orphans=("pillow.libs",)),
    Rule("numpy-unused",
         ("numpy/polynomial", "numpy/ma", "numpy/fft"),
         "numpy imports polynomial, ma and fft lazily, on first use; neither the function, "
         "LiteRT nor Pillow uses them (measured: sys.modules after a request). numpy.random "
         "stays: an after-restore hook re-seeds it, and hooks may use it; numpy 2 only",
         ("litert",), applies=numpy_imports_lazily),
    Rule("litert-extras",
         ("ai_edge_litert/tools", "ai_edge_litert/vendors", "ai_edge_litert/aot",
          "ai_edge_litert/*_pb2.py", "ai_edge_litert/libLiteRtWebGpuAccelerator.so",
          "ai_edge_litert/_pywrap_litert_converter.so", "ai_edge_litert/_pywrap_analyzer_wrapper.so",
          "ai_edge_litert/_pywrap_modify_model_interface.so",
          "ai_edge_litert/_pywrap_tensorflow_lite_calibration_wrapper.so",
          "ai_edge_litert/_pywrap_tfl_calibration.so"),
         "model tools, NPU vendor plugins, AOT compiler, protobuf schemas, the WebGPU "
         "accelerator and converter/calibration wrappers: the CPU Interpreter never loads them",
         ("litert",)),
    Rule("onnxruntime-unused-deps",
         ("sympy", "sympy-*.dist-info", "isympy.py", "mpmath", "mpmath-*.dist-info",
          "coloredlogs", "coloredlogs-*.dist-info", "coloredlogs.pth", "humanfriendly",
          "humanfriendly-*.dist-info", "google/protobuf", "google/_upb", "protobuf-*.dist-info",
          "flatbuffers", "flatbuffers-*.dist-info", "packaging", "packaging-*.dist-info"),
         "onnxruntime requires them for its quantization, transformer and conversion tools "
         "(1.16.3 also for its logging helpers); InferenceSession and run import none of them "
         "(measured on 1.16.3 and 1.32)",
         ("onnxruntime",), whole_packages=True),
    Rule("onnxruntime-tools",
         ("onnxruntime/transformers", "onnxruntime/tools", "onnxruntime/quantization",
          "onnxruntime/datasets", "onnxruntime/backend"),
         "model optimizers, quantization, conversion scripts, sample models and the ONNX "
         "backend-test API: `import onnxruntime` loads only onnxruntime/capi",
         ("onnxruntime",)),
)


@dataclass(frozen=True)
class SlimReport:
    removed: dict[str, tuple[int, int]] = field(default_factory=dict)  # rule -> (paths, bytes)
    spared: tuple[str, ...] = ()   # paths a whole-package rule kept because they were asked for

    @property
    def bytes_removed(self) -> int:
        return sum(b for _, b in self.removed.values())


def rules_for(backend: str) -> tuple[Rule, ...]:
    return tuple(r for r in RULES if backend in r.backends)


def _match(parts: tuple[str, ...], pattern: str) -> bool:
    """Path.glob semantics for our patterns: per-component fnmatch, leading ``**/`` = any depth."""
    pat = tuple(pattern.split("/"))
    if pat[0] == "**":
        pat = pat[1:]
        parts = parts[-len(pat):] if len(parts) >= len(pat) else ()
    return len(parts) == len(pat) and all(fnmatch.fnmatchcase(p, q) for p, q in zip(parts, pat, strict=True))


def matches(root: Path, rule: Rule, keep: frozenset[str] = frozenset(),
            spared: list[str] | None = None) -> list[Path]:
    """Paths a rule removes (the outermost ones), refusing protected paths.

    ``keep``: first path parts a whole-package rule must not touch (appended to ``spared``
    when it would have). One walk of the tree for all patterns: a TensorFlow install has
    ~20k files.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        rel_base = base.relative_to(root).parts
        for name in sorted([*dirnames, *filenames]):
            parts = (*rel_base, name)
            if any(_match(parts, p) for p in rule.patterns):
                if rule.whole_packages and parts[0] in keep:
                    if spared is not None:
                        spared.append("/".join(parts))
                    continue
                if any(fnmatch.fnmatchcase(parts[0], p) for p in PROTECTED):
                    raise BuildError(
                        f"slim rule {rule.name!r} would remove {'/'.join(parts)}, a bundled "
                        "library that numpy/Pillow load at import; fix the rule's pattern"
                    )
                found.append(base / name)
                seen.add(base / name)
        dirnames[:] = [d for d in dirnames if base / d not in seen]  # outermost only
    return sorted(found)


def tree_bytes(path: Path) -> int:
    if path.is_file() or path.is_symlink():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def apply(root: Path, rules: Iterable[Rule], keep: frozenset[str] = frozenset()) -> SlimReport:
    """Remove what the rules match; ``keep``: first path parts of requested distributions."""
    removed: dict[str, tuple[int, int]] = {}
    spared: list[str] = []
    for rule in rules:
        if rule.applies is not None and not rule.applies(root):
            continue
        paths = matches(root, rule, keep, spared)
        size = sum(tree_bytes(p) for p in paths)
        for path in paths:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        for folder in rule.orphans:
            orphans = orphaned_libraries(root, root / folder)
            paths += orphans
            size += sum(tree_bytes(p) for p in orphans)
            for path in orphans:
                path.unlink()
        removed[rule.name] = (len(paths), size)
    _remove_empty_dirs(root)
    return SlimReport(removed, tuple(spared))


def orphaned_libraries(root: Path, folder: Path) -> list[Path]:
    """The libraries of ``folder`` that no ELF file of ``root`` outside the orphans needs,
    directly or through another library (found by DT_NEEDED: ``elfcheck.needed``)."""
    from lambdalite.bundle import elfcheck

    if not folder.is_dir():
        return []
    libs = {p.name: p for p in folder.iterdir() if p.is_file() and elfcheck.is_elf(p)}
    needs = {p: set(elfcheck.needed(p)) for p in root.rglob("*")
             if p.is_file() and not p.is_symlink() and elfcheck.is_elf(p)}
    wanted = {name for p, names in needs.items() if p.parent != folder for name in names}
    todo = [n for n in wanted if n in libs]
    while todo:   # what the libraries still wanted need in turn
        for name in needs[libs[todo.pop()]]:
            if name in libs and name not in wanted:
                wanted.add(name)
                todo.append(name)
    return sorted(p for name, p in libs.items() if name not in wanted)


def _remove_empty_dirs(root: Path) -> None:
    for dirpath, _dirs, _files in sorted(os.walk(root), key=lambda t: -len(t[0])):
        path = Path(dirpath)
        if path != root and not any(path.iterdir()):
            path.rmdir()


# ---- .pyc for the target Python -------------------------------------------------------

def find_interpreter(python_version: str, pyenv_root: Path = PYENV_ROOT) -> str | None:
    """A python executable of exactly ``X.Y`` (the host's, else pyenv's), or None."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == python_version:
        return sys.executable
    for candidate in sorted(pyenv_root.glob(f"{python_version}.*/bin/python{python_version}")):
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def compile_for_target(root: Path, python_version: str, interpreter: str | None) -> str | None:
    """Compile every .py to .pyc with the target's Python; return a note when skipped.

    unchecked-hash: the zip's fixed timestamps would make mtime-based .pyc stale, and the
    task root is read-only on Lambda, so stale .pyc would be recompiled on every cold start.
    """
    if interpreter is None:
        return (
            f"no python{python_version} on this machine: .pyc not precompiled, so Lambda "
            f"compiles modules on every cold start (install python{python_version} to fix)"
        )
    cmd = [interpreter, "-I", "-m", "compileall", "-q", "-j", "0",
           "--invalidation-mode", "unchecked-hash", str(root)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        # Some packages ship .py files for other Python versions (templates, py2 code).
        return f"compileall reported errors (those modules compile at run time): {proc.stdout[-300:]}"
    return None
