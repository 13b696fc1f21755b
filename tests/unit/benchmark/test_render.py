from __future__ import annotations

from dataclasses import replace

from lambdalite.benchmark import render
from lambdalite.benchmark.render import (
    HEADER,
    dynamic_vs_float32,
    fmt_bytes,
    fmt_ms,
    render_markdown,
    table_rows,
    writeup_markdown,
)
from lambdalite.benchmark.results import BenchResult

from .conftest import named


def test_formats():
    assert fmt_ms(0.64) == "0.6 ms" and fmt_ms(250.4) == "250 ms" and fmt_ms(30400) == "30.40 s"
    assert fmt_ms(None) == "-"
    assert fmt_bytes(629 * 1024 * 1024) == "629.0 MB" and fmt_bytes(50_000) == "49 KB"


def test_one_line_per_row_and_memory_in_the_writeups_shape(result):
    rows = table_rows(result)
    assert len(rows) == 8 and all(len(r) == len(HEADER) for r in rows)
    assert HEADER[:2] == ("variant", "memory") and "cold start" in HEADER
    f32 = named(next(r for r in rows if r[0].startswith("float32") and r[1] == "1024 MB"))
    # cold start p50 = init p50 (401) + first (300); warm p50 of 200,210,220,230 = 215
    assert f32["cold start"] == "701 ms" and f32["warm run"] == "215 ms"
    assert f32["package size"] == "300.0 MB / 299.0 MB (arm64, python3.12)"
    assert f32["memory used"] == "105 MB" and f32["accuracy"] == "98.00%"
    assert f32["$/1M x86_64"].startswith("$") and f32["$/1M arm64"].startswith("$")
    tf = named(next(r for r in rows if r[0].startswith("tf") and r[1] == "1024 MB"))
    assert tf["cold start"] == "timed out" and tf["zipped"] == "image"
    int8 = named(next(r for r in rows if r[0].startswith("int8")))
    assert int8["accuracy"] == "95.00% (-3.00 pt)"


def test_markdown_carries_settings_machine_and_the_dynamic_point(result):
    md = render_markdown(result)
    assert md.startswith("| variant | memory |")
    assert "Test CPU" in md and "3 cold start(s)" in md and "a note" in md
    assert "tf @ 1024 MB stopped: Task timed out" in md
    assert "arm64 packages are built and checked, not run" in md
    (line_1024, _line_3008, writeup) = dynamic_vs_float32(result)
    assert "warm p50 53.5 ms vs 215 ms (0.25x)" in line_1024 and "20x" in writeup


def test_without_arm64_the_notes_say_so(result):
    no_arm = replace(result, settings={**result.settings, "arm64_sizes": False},
                     rows=tuple(replace(r, sizes=r.sizes[:1]) for r in result.rows))
    md = render_markdown(no_arm)
    assert "package size = unzipped x86_64 (arm64 not built: --no-arm64)" in md
    assert "arm64 packages are built" not in md and "x86_64 / arm64" not in md


def test_the_writeup_note_comes_from_the_writeup_table(result, monkeypatch):
    assert dynamic_vs_float32(result)[-1] == (
        "the write-up measured dynamic-range ~20x slower than float32 on x86_64 "
        "(57.3 s vs 2.85 s warm) with the TFLite runtime of its day")
    monkeypatch.setattr(render, "WRITEUP_DYNAMIC", ("x", "1 MB", "-", "28.5 s", "1 MB"))
    assert "~10x slower than float32 on x86_64 (28.5 s vs 2.85 s warm)" in (
        dynamic_vs_float32(result)[-1])


def test_writeup_table_is_quoted():
    md = writeup_markdown()
    assert "1743 MB" in md and "30.4 s" in md and "57.3 s" in md and "4.42 s" in md


def test_json_round_trip_keeps_every_sample(result, tmp_path):
    path = result.save(tmp_path / "r.json")
    again = BenchResult.load(path)
    assert again == result
    import json

    data = json.loads(path.read_text())
    f32 = next(c for c in data["cells"] if c["row"] == "float32" and c["memory_mb"] == 1024)
    assert [w["duration_ms"] for w in f32["warm"]] == [200, 210, 220, 230]
    summary = next(s for s in data["summaries"] if s["row"] == "float32")
    assert summary["warm_duration_ms"]["p50"] == 215
    assert summary["cost_per_million_usd"]["arm64"] < summary["cost_per_million_usd"]["x86_64"]
