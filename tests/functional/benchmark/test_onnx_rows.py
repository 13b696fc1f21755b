"""ONNX Runtime rows next to LiteRT's: the same local Lambda, the same table and JSON, the pick
free to choose them, and what it writes into a template."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

import lambdalite
from lambdalite.benchmark.pick import Constraints, pick
from lambdalite.benchmark.render import render_markdown
from lambdalite.benchmark.writeback import template_values

pytestmark = [pytest.mark.tf, pytest.mark.slow]


def test_onnx_rows_run_beside_litert_and_may_be_picked(mnist_onnx_dir: Path,
                                                       tmp_path: Path) -> None:
    result = lambdalite.bench(lambdalite.BenchOptions(
        model=mnist_onnx_dir, variants=("float32", "onnx_float32"), cold_starts=1, warm=3,
        warmup=1, memory_sizes=(1024,), arm64_sizes=False, peer_rows=False, out=tmp_path))
    rows = [r for r in result.rows if r.floor is None]
    assert [(r.row, r.backend) for r in rows] == [("float32", "litert"),
                                                 ("onnx_float32", "onnxruntime")]
    # each backend's floors (no-op, imports only) run from its package, onnxruntime's too
    assert {(r.floor, r.backend) for r in result.rows if r.floor} == {
        ("noop", "litert"), ("imports", "litert"), ("noop", "onnxruntime"),
        ("imports", "onnxruntime")}
    assert all(c.error is None and len(c.warm) == 3 for c in result.cells), result.cells
    onnx_size = rows[1].sizes[0]
    assert any(p.startswith("onnxruntime==1.16.") for p in onnx_size.installed)  # python3.11
    assert not any(p.startswith("ai-edge-litert==") for p in onnx_size.installed)
    table = render_markdown(result)
    assert "| onnx_float32 (ONNX Runtime) | 1024 MB |" in table
    assert "| float32 (LiteRT) | 1024 MB |" in table
    assert any(n.startswith("the ONNX rows run onnxruntime 1.16.") for n in result.notes)
    saved = json.loads(result.save(tmp_path / "r.json").read_text())
    assert [r["backend"] for r in saved["rows"] if not r.get("floor")] == ["litert", "onnxruntime"]

    verdict = pick(result, Constraints(objective="latency"))
    assert verdict.row in ("float32", "onnx_float32")
    # where the ONNX row is the one that ran cleanly, the pick takes it
    only_onnx = dataclasses.replace(result, cells=tuple(c for c in result.cells
                                                        if c.row == "onnx_float32"))
    small = pick(only_onnx, Constraints(objective="latency"))
    assert small.row == "onnx_float32"
    assert template_values(small) == {"MemorySize": "1024", "LAMBDALITE_BACKEND": "onnxruntime",
                                      "LAMBDALITE_VARIANT": "onnx_float32"}
