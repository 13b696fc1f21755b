"""Assemble the task root (function code + model) and write a deterministic zip."""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path

import lambdalite
from lambdalite.bundle import zipwrite
from lambdalite.function import SHARED_MODULES
from lambdalite.manifest import Manifest

MODEL_DIRNAME = "model"
# 1980-01-01 is the earliest time a zip entry can hold: the same inputs give the same bytes.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def function_sources() -> list[tuple[Path, str]]:
    """(source file, path in the task root) for the `lambdalite` code the function imports."""
    pkg = Path(lambdalite.__file__).resolve().parent
    # "lambdalite" -> __init__.py, "lambdalite.errors" -> errors.py
    files = [pkg / (m.partition(".")[2] or "__init__").replace(".", "/") for m in SHARED_MODULES]
    files = [f.with_suffix(".py") for f in files]
    files += sorted((pkg / "function").rglob("*.py"))
    return [(f, "lambdalite/" + f.relative_to(pkg).as_posix()) for f in files]


def copy_function_code(task_root: Path) -> int:
    for src, rel in function_sources():
        dest = task_root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    return len(function_sources())


def copy_model(model_dir: Path, task_root: Path, variant: str | None, backend: str) -> Manifest:
    """Copy only what the function will load (the variant or the TF model, and the hooks
    module) and rewrite the manifest around it (the evaluation set stays behind)."""
    manifest = Manifest.load(model_dir)
    chosen = manifest.variant_for(variant, backend)
    dest = task_root / MODEL_DIRNAME
    dest.mkdir(parents=True, exist_ok=True)
    if backend == "tf":
        if not manifest.model.tf_model:
            from lambdalite.errors import ModelError

            raise ModelError(
                f"{model_dir} has no TensorFlow model (model.tf_model) for --backend tf; "
                "convert from a SavedModel/Keras file or use --backend litert"
            )
        src = model_dir / manifest.model.tf_model
        if src.is_dir():
            shutil.copytree(src, dest / manifest.model.tf_model)
        else:
            shutil.copyfile(src, dest / manifest.model.tf_model)
    else:
        for name in chosen.files:
            shutil.copyfile(model_dir / name, dest / name)
        manifest = manifest._replace(model=manifest.model._replace(tf_model=None))
    if manifest.hooks is not None:
        shutil.copyfile(model_dir / manifest.hooks.module, dest / manifest.hooks.module)
    slim = manifest._replace(variants={chosen.name: chosen}, default_variant=chosen.name,
                             evaluation_set=None)
    slim.save(dest)
    return slim


def tree_stats(root: Path) -> tuple[int, int]:
    """(files, bytes) of a folder."""
    files = size = 0
    for path in root.rglob("*"):
        if path.is_file():
            files += 1
            size += path.stat().st_size
    return files, size


def write_zip(task_root: Path, zip_path: Path) -> int:
    """Deterministic zip: sorted entries, fixed timestamps, 0o755/0o644 modes. Returns bytes.

    Entries are deflated on every core (zipwrite.py); a tree it does not take (one that needs
    ZIP64, or over 512 MB: ``zipwrite.fits``) goes through ``zipfile``, one entry at a time,
    with ZIP64 records.
    """
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    entries = [_entry(task_root, path)
               for path in sorted(p for p in task_root.rglob("*") if p.is_file())]
    if zipwrite.fits(entries):
        return zipwrite.write(entries, zip_path, ZIP_EPOCH)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED, compresslevel=zipwrite.LEVEL,
                         allowZip64=True) as zf:
        for entry in entries:
            info = zipfile.ZipInfo(entry.name, ZIP_EPOCH)
            info.external_attr = entry.mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so Lambda honours the mode bits
            with entry.source.open("rb") as src, zf.open(info, "w", force_zip64=True) as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
    return os.path.getsize(zip_path)


def _entry(task_root: Path, path: Path) -> zipwrite.Entry:
    status = path.stat()
    mode = 0o755 if status.st_mode & stat.S_IXUSR else 0o644
    return zipwrite.Entry(path, path.relative_to(task_root).as_posix(), stat.S_IFREG | mode,
                          status.st_size)
