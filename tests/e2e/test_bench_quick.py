"""`lambdalite bench --quick` on the bundled MNIST model, as a user runs it: real builds, real
awslambdaric environments with cgroup limits, real LiteRT. Checks plausibility, never speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

from lambdalite.benchmark.config import BenchOptions, config_for
from lambdalite.benchmark.results import (
    BenchResult,
    CellResult,
    ColdSample,
    PackageSize,
    RowResult,
    WarmSample,
)
from lambdalite.sam.decode import decode

VARIANTS = ("float32", "dynamic")   # the write-up's pair: enough to show the point, and quick
FLOORS = ("floor-noop", "floor-imports")   # from float32's package, in every run


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
    assert "| floor: no-op handler (litert package) | 1024 MB |" in proc.stdout
    assert "| floor: imports only (numpy, PIL.Image, ai_edge_litert.interpreter) |" in proc.stdout
    for name in ("bench-mnist.json", "bench-mnist.md", "bench-mnist.png"):
        assert str(out / name) in proc.stdout
    assert (out / "bench-mnist.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the progress bar's end: 2 builds, then 4 rows x (1 cold start, 1 warm-up, 3 warm calls)
    assert "warm call" in proc.stderr and "22/22" in proc.stderr


def test_json_has_plausible_raw_samples(quick_run):
    out, _ = quick_run
    data = json.loads((out / "bench-mnist.json").read_text())
    assert data["settings"]["quick"] is True and data["machine"]["cores"] >= 1
    assert {c["row"] for c in data["cells"]} == {*VARIANTS, *FLOORS}
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
        if row["floor"]:
            assert row["package_of"] == "float32"      # no package of its own
            continue
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


def fixed_result(model_dir: str) -> BenchResult:
    """Made-up samples (not measurements) at two memory sizes: float32 at 3008 MB is fastest."""
    def cell(row: str, memory: int, warm: float) -> CellResult:
        cold = tuple(ColdSample(300.0 + i, 2 * warm, 400.0, 90) for i in range(3))
        return CellResult(row, memory, cold,
                          tuple(WarmSample(warm + i, warm + 2, 95) for i in range(4)))

    size = (PackageSize("x86_64", "zip", "python3.11", 40_000_000, 15_000_000),)
    return BenchResult(
        model="mnist", model_dir=model_dir,
        settings=config_for(BenchOptions(memory_sizes=(1024, 3008),
                                        variants=("float32", "dynamic"))).settings(),
        machine={"cpu_model": "fixed", "cores": 2, "limits": "fixed"},
        rows=(RowResult("float32", "litert", "float32", 400_000, 0.98, 0.0, size),
              RowResult("dynamic", "litert", "dynamic", 100_000, 0.979, 0.1, size)),
        cells=(cell("float32", 1024, 90.0), cell("float32", 3008, 30.0),
               cell("dynamic", 1024, 120.0), cell("dynamic", 3008, 60.0)),
        started="2026-01-01T00:00:00Z", finished="2026-01-01T00:01:00Z")


def test_pick_from_a_json_writes_the_template(tmp_path):
    fixed = fixed_result(str(tmp_path / "elsewhere")).save(tmp_path / "fixed.json")
    template = tmp_path / "template.yaml"
    template.write_text("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                        "    Properties:\n      CodeUri: !Ref Code  # kept\n"
                        "      MemorySize: 128\n")
    proc = lambdalite("bench", "--from-json", str(fixed), "--out", str(tmp_path / "out"),
                      "--pick", "--write-template", str(template), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "pick: float32 at 3008 MB" in proc.stdout
    doc = decode(template.read_text(), "template.yaml")
    props = doc["Resources"]["Fn"]["Properties"]
    assert props["MemorySize"] == 3008
    assert props["Environment"]["Variables"] == {"LAMBDALITE_BACKEND": "litert",
                                                 "LAMBDALITE_VARIANT": "float32"}
    assert "CodeUri: !Ref Code  # kept" in template.read_text()


def test_bad_flag_is_a_usage_error():
    proc = lambdalite("bench", "--variants", "float64", timeout=60)
    assert proc.returncode == 2 and "float64" in proc.stderr
