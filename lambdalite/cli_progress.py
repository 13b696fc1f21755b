"""The CLI's one ``lambdalite.progress.Progress``: a rich bar on stderr.

    with RichProgress() as progress:
        result = lambdalite.bench(options, progress=progress)

Every command draws its long job with it (convert, evaluate, build, bench, train), so the
bars look alike and the jobs know nothing of rich. stderr, so stdout keeps only results.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)


class RichProgress:
    """``transient``: the bar disappears when the job ends (build prints its table instead)."""

    def __init__(self, *, transient: bool = False, console: Console | None = None) -> None:
        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(),
            console=console or Console(stderr=True), transient=transient)
        self._task = self._progress.add_task("starting", total=None)

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def total(self, units: int) -> None:
        self._progress.update(self._task, total=units)

    def update(self, description: str, advance: int = 0) -> None:
        self._progress.update(self._task, description=description, advance=advance)
