"""The build summary table (rich)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from lambdalite.bundle.api import BuildResult
from lambdalite.bundle.size import mb

TOP_PACKAGES = 6


def table(result: BuildResult) -> Table:
    o = result.options
    t = Table(title=f"lambdalite build: {o.runtime} {o.arch} {o.package_type} ({o.backend})",
              show_header=False)
    t.add_column("what", style="bold")
    t.add_column("value")
    t.add_row("task root", str(result.task_root))
    if result.zip_path:
        t.add_row("zip", str(result.zip_path))
    if result.context_dir:
        t.add_row("image context", f"{result.context_dir} (Dockerfile, .dockerignore, task/)")
    t.add_row("files", str(result.files))
    t.add_row("unzipped", mb(result.unzipped_bytes))
    if result.zipped_bytes is not None:
        t.add_row("zipped", mb(result.zipped_bytes))
    t.add_row("biggest", ", ".join(f"{n} {mb(b)}" for n, b in result.packages[:TOP_PACKAGES]))
    for note in result.fallbacks:
        t.add_row("[yellow]fallback[/yellow]", note)
    t.add_row("installed", ", ".join(result.installed))
    for note in result.picked:
        t.add_row("picked", note)
    for note in result.compiled:
        t.add_row("compiled", note)
    needed = result.glibc_needed or "none"
    by = f" ({result.glibc_needed_by})" if result.glibc_needed_by else ""
    t.add_row("glibc", f"needs {needed}{by}; {o.runtime} has {result.glibc_available}")
    cxx = result.libstdcxx_needed or "none"
    cxx_by = f" ({result.libstdcxx_needed_by})" if result.libstdcxx_needed_by else ""
    t.add_row("libstdc++", f"needs {cxx}{cxx_by}; {o.runtime} has {result.libstdcxx_available}")
    t.add_row("slimmed", mb(sum(b for _, _, b in result.slimmed)) + " removed: " + ", ".join(
        f"{rule} {mb(b)}" for rule, _, b in result.slimmed if b))
    for note in result.notes:
        t.add_row("note", note)
    for warning in result.warnings:
        t.add_row("[yellow]warning[/yellow]", warning)
    return t


def print_results(results: Sequence[BuildResult], console: Console | None = None) -> None:
    console = console or Console()
    for result in results:
        console.print(table(result))
