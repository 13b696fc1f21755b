"""The one progress protocol of lambdalite's long jobs (convert, build, bench, train).

Every job takes ``progress: Progress | None``; the CLI passes a rich bar
(``lambdalite.cli_progress.RichProgress``), the Python API passes nothing
(``SILENT``) or a callback (``Callback``):

    def show(description: str, done: int, total: int | None) -> None:
        print(f"{done}/{total} {description}")

    lambdalite.bench(options, progress=Callback(show))

A job calls ``total(n)`` once it knows how many units of work it has (again if the
count changes), then ``update(description)`` when it starts a unit and
``update(description, 1)`` when it finishes one; ``step`` does both around a block.
Stdlib only and import-light: the function package never imports it, but the API does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol


class Progress(Protocol):
    def total(self, units: int) -> None:
        """How many units the whole job has (called again when the count changes)."""
        ...

    def update(self, description: str, advance: int = 0) -> None:
        """What is happening now; ``advance`` units are done."""
        ...


class _Silent:
    def total(self, units: int) -> None:
        return None

    def update(self, description: str, advance: int = 0) -> None:
        return None


SILENT: Progress = _Silent()


class Callback:
    """A ``Progress`` that calls ``fn(description, done, total)`` on every change."""

    def __init__(self, fn: Callable[[str, int, int | None], None]) -> None:
        self._fn = fn
        self._done = 0
        self._total: int | None = None

    def total(self, units: int) -> None:
        self._total = units

    def update(self, description: str, advance: int = 0) -> None:
        self._done += advance
        self._fn(description, self._done, self._total)


def resolve(progress: Progress | None) -> Progress:
    """``progress`` or the silent one: jobs call this once and never test for None again."""
    return SILENT if progress is None else progress


class _Nested:
    """A job run inside another: its descriptions show, its counts belong to the outer job."""

    def __init__(self, outer: Progress) -> None:
        self._outer = outer

    def total(self, units: int) -> None:
        return None

    def update(self, description: str, advance: int = 0) -> None:
        self._outer.update(description)


def nested(outer: Progress | None) -> Progress:
    """The ``Progress`` to hand a job that is one unit of ``outer`` (train's conversion, the
    large model's): it says what it does, without changing the outer bar's count."""
    return SILENT if outer is None else _Nested(outer)


@contextmanager
def step(progress: Progress, description: str) -> Iterator[None]:
    """One unit of work: shown while the block runs, counted when it ends without an error."""
    progress.update(description)
    yield
    progress.update(description, 1)
