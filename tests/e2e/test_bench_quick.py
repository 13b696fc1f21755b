"""`lambdalite bench --quick` on the bundled MNIST model, as a user runs it: real builds, real
awslambdaric environments with cgroup limits, real LiteRT. Checks plausibility, never speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

VARIANTS = ("float32", "dynamic")   # the write-up's pair: enough to show the point, and quick


def lambdalite(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lambdalite", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "COLUMNS": "200"})


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = lambdalite("bench", "--quick", "--variants", ",".join(VARIANTS), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


def test_prints_the_table_and_the_paths(quick_run):
    out, proc = quick_run
    assert proc.stdout.startswith("| variant | memory | package size |")
    for variant in VARIANTS:
        assert f"| {variant} (LiteRT) | 1024 MB |" in proc.stdout
    assert "dynamic vs float32 at 1024 MB" in proc.stdout
    for name in ("bench-mnist.json", "bench-mnist.md", "bench-mnist.png"):
        assert str(out / name) in proc.stdout
    assert (out / "bench-mnist.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "warm call" in proc.stderr and "12/12" in proc.stderr   # the progress bar's end


def test_json_has_plausible_raw_samples(quick_run):
    out, _ = quick_run
    data = json.loads((out / "bench-mnist.json").read_text())
    assert data["settings"]["quick"] is True and data["machine"]["cores"] >= 1
    assert {c["row"] for c in data["cells"]} == set(VARIANTS)
    for cell in data["cells"]:
        assert cell["error"] is None and cell["memory_mb"] == 1024
        (cold,) = cell["cold"]
        assert cold["init_duration_ms"] > 0 and cold["duration_ms"] > 0
        assert cold["round_trip_ms"] >= cold["init_duration_ms"]
        assert len(cell["warm"]) == 3
        for sample in (cold, *cell["warm"]):
            assert 0 < sample["max_memory_used_mb"] <= 1024
        assert all(w["duration_ms"] > 0 for w in cell["warm"])
    for summary in data["summaries"]:
        costs = summary["cost_per_million_usd"]
        assert 0.2 < costs["arm64"] < costs["x86_64"]


def test_sizes_match_the_packages_on_disk(quick_run):
    out, _ = quick_run
    data = json.loads((out / "bench-mnist.json").read_text())
    for row in data["rows"]:
        x86 = next(s for s in row["sizes"] if s["arch"] == "x86_64")
        package = out / "packages" / row["row"] / "x86_64"
        zip_path = package / "function.zip"
        assert x86["zipped_bytes"] == zip_path.stat().st_size
        with zipfile.ZipFile(zip_path) as zf:
            assert x86["unzipped_bytes"] == sum(i.file_size for i in zf.infolist())
            assert f"model/{row['variant']}.tflite" in zf.namelist()
        # arm64 is built and checked: a size, or the check that failed (the table says which).
        arm = next(s for s in row["sizes"] if s["arch"] == "arm64")
        assert (arm["error"] is None) == (arm["unzipped_bytes"] is not None)
        assert arm["error"] is None or len(arm["error"]) > 20


def test_pick_from_the_json_writes_the_template(quick_run, tmp_path):
    out, _ = quick_run
    template = tmp_path / "template.yaml"
    template.write_text("Resources:\n  Fn:\n    Properties:\n      MemorySize: 128\n")
    proc = lambdalite("bench", "--from-json", str(out / "bench-mnist.json"), "--out",
                      str(tmp_path), "--pick", "--objective", "cost",
                      "--max-accuracy-drop", "0.5", "--write-template", str(template))
    assert proc.returncode == 0, proc.stderr
    assert "pick: " in proc.stdout and "cheapest" in proc.stdout
    assert "MemorySize: 1024" in template.read_text()


def test_bad_flag_is_a_usage_error():
    proc = lambdalite("bench", "--variants", "float64", timeout=60)
    assert proc.returncode == 2 and "float64" in proc.stderr
