"""Hot reload for ``start-api`` and ``start-lambda``: when a function's code or model changes on
disk, its environments are reclaimed, so that the next call is a cold start with the new code.

    watcher = Watcher(engine, on_change=print, refresh=reread_spec).start()
    ...
    watcher.stop()

What is watched is each function's ``FunctionSpec.watch``: its CodeUri folder (or the .zip,
which is unpacked again), and its model folder when ``LAMBDALITE_MODEL_DIR`` points outside the
code. ``watchfiles`` (Rust's notify: inotify, FSEvents, ReadDirectoryChangesW) reports the
changes, debounced, without polling; its default filter skips ``__pycache__``, ``.git``,
editor swap files and the like. An environment busy with a call finishes it first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import FunctionSpec

log = logging.getLogger(__name__)
DEBOUNCE_MS = 300          # an editor's save, a `cp -r`, a rebuild: one reload, not hundreds
Refresh = Callable[[str], FunctionSpec | None]


class Watcher:
    """Watches every function of ``engine``; ``on_change(line)`` gets one log line per reload;
    ``refresh(name)`` re-reads a function whose code is a .zip (a new unpacked folder)."""

    def __init__(self, engine: LocalLambda, on_change: Callable[[str], None], *,
                 refresh: Refresh | None = None, extra: Iterable[Path] = (),
                 on_extra: Callable[[Path], None] | None = None) -> None:
        self.engine = engine
        self.on_change = on_change
        self.refresh = refresh
        self.extra = tuple(p.resolve() for p in extra)    # e.g. the template: not reloaded
        self.on_extra = on_extra
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()

    def roots(self) -> dict[Path, set[str]]:
        """Watched path -> the functions it belongs to."""
        found: dict[Path, set[str]] = {}
        for name, spec in self.engine.functions.items():
            for path in spec.watch:
                found.setdefault(path.resolve(), set()).add(name)
        return found

    def start(self) -> Watcher:
        self._thread = threading.Thread(target=self._run, name="lambda-reload", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def changed(self, paths: Iterable[Path]) -> None:
        """Reload the functions the changed ``paths`` belong to (one line each)."""
        roots = self.roots()
        per_function: dict[str, list[Path]] = {}
        for path in paths:
            path = path.resolve()
            if path in self.extra and self.on_extra is not None:
                self.on_extra(path)
            for root, names in roots.items():
                if path == root or root in path.parents:
                    for name in names:
                        per_function.setdefault(name, []).append(path.relative_to(
                            root if root.is_dir() else root.parent))
        for name, changed in sorted(per_function.items()):
            self._reload(name, sorted(set(changed)))

    def _reload(self, name: str, changed: list[Path]) -> None:
        spec = self.engine.functions[name]
        new = None
        if self.refresh is not None and any(p.suffix == ".zip" for p in spec.watch):
            new = self.refresh(name)
        retired = self.engine.reload(name, new)
        shown = ", ".join(str(p) for p in changed[:3])
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        self.on_change(f"reload: {name}: {shown}{more} changed; {retired} environment(s) "
                       "reclaimed, the next call is a cold start with the new code")

    def _run(self) -> None:
        import watchfiles  # deferred: only servers watch

        # A .zip is watched through its folder: editors and builds replace files by renaming,
        # which a watch on the file itself would lose.
        targets = {p if p.is_dir() else p.parent for p in [*self.roots(), *self.extra]}
        targets = {p for p in targets if p.exists()}
        self.ready.set()
        if not targets:
            return
        try:
            for changes in watchfiles.watch(*targets, stop_event=self._stop,
                                            debounce=DEBOUNCE_MS, step=50,
                                            raise_interrupt=False):
                self.changed(Path(path) for _, path in changes)
        except Exception:   # the servers go on without reload rather than die with it
            log.exception("hot reload stopped")
