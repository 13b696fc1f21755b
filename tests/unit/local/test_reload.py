"""Which functions a change on disk reloads, and what the reload says (no watcher thread)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lambdalite.local.engine_types import FunctionSpec
from lambdalite.local.reload import Watcher


class Engine:
    """What the watcher needs of LocalLambda: the functions, and ``reload``."""

    def __init__(self, *specs: FunctionSpec) -> None:
        self.functions = {s.name: s for s in specs}
        self.reloaded: list[tuple[str, FunctionSpec | None]] = []

    def reload(self, name: str, spec: FunctionSpec | None = None) -> int:
        self.reloaded.append((name, spec))
        return 2


def test_a_change_reloads_the_functions_whose_code_or_model_holds_it(tmp_path: Path) -> None:
    code, model, other = tmp_path / "code", tmp_path / "model", tmp_path / "other"
    for folder in (code, model, other):
        folder.mkdir()
    a = FunctionSpec("A", "app.h", code, watch=(code, model))
    b = FunctionSpec("B", "app.h", other, watch=(other, model))
    engine = Engine(a, b)
    lines: list[str] = []
    watcher = Watcher(engine, lines.append)  # type: ignore[arg-type]
    watcher.changed([code / "app.py", code / "lib" / "x.py"])
    assert engine.reloaded == [("A", None)]
    assert lines == ["reload: A: app.py, lib/x.py changed; 2 environment(s) reclaimed, the next "
                     "call is a cold start with the new code"]
    watcher.changed([model / "float32.tflite"])
    assert [name for name, _ in engine.reloaded[1:]] == ["A", "B"]
    watcher.changed([tmp_path / "elsewhere.txt"])
    assert len(engine.reloaded) == 3


def test_a_zip_is_read_again_and_the_template_is_only_reported(tmp_path: Path) -> None:
    archive = tmp_path / "function.zip"
    archive.write_bytes(b"PK")
    template = tmp_path / "template.yaml"
    template.write_text("")
    fresh = FunctionSpec("Z", "app.h", tmp_path / "unpacked-again")
    engine = Engine(FunctionSpec("Z", "app.h", tmp_path / "unpacked", watch=(archive,)))
    seen: list[Any] = []
    watcher = Watcher(engine, seen.append, refresh=lambda name: fresh,  # type: ignore[arg-type]
                      extra=[template], on_extra=seen.append)
    watcher.changed([archive, template])
    assert engine.reloaded == [("Z", fresh)]
    assert seen[0] == template.resolve() and seen[1].startswith("reload: Z: function.zip changed")
