"""`lambdalite bench --goals`: each of issue 15's figures from a run's results, with its goal and
whether it is met (figures made up here; the command measures them)."""

from __future__ import annotations

from lambdalite.benchmark.goals import (
    GoalReport,
    large_figures,
    mnist_figures,
    size_figures,
    throughput_figures,
)
from lambdalite.benchmark.results import BenchResult
from lambdalite.benchmark.throughput import Round, Scaling

from .test_floor_rows import with_floors


def by_name(figures):  # type: ignore[no-untyped-def]
    return {f.name: f for f in figures}


def test_cold_start_over_the_floor_and_first_vs_warm_per_variant(result: BenchResult):
    figures = by_name(mnist_figures(with_floors(result)))
    gap = figures["mnist float32 cold start over the imports-only floor"]
    # float32 701 ms, imports-only floor 180 ms (conftest / test_floor_rows)
    assert (gap.value, gap.met) == ("+521.0 ms", False)
    first = figures["mnist int8 first Duration vs warm p50"]
    assert first.value == "90.0 ms vs 31.5 ms (2.9x)" and first.met is False
    assert figures["mnist floor (imports) cold start"].value == "180 ms"
    assert "mnist tf cold start over the imports-only floor" in figures   # no tf floor: "-"
    assert figures["mnist tf cold start over the imports-only floor"].met is None


def test_size_and_large_and_throughput_figures(result: BenchResult):
    (size,) = size_figures(result)
    assert size.value == "120.0 MB / 300.0 MB" and size.met is False
    cold, memory = large_figures(result)
    assert cold.value.startswith("701 ms") and cold.met is False and memory.value == "105 MB"
    rounds = (Round(1, 1000, 1.0, 0), Round(2, 1000, 0.5, 0), Round(1, 1000, 1.2, 0),
              Round(2, 1000, 0.6, 0))
    (scale,) = throughput_figures(Scaling(3008, rounds))
    assert "917 vs 1833 (2.00x)" in scale.value and scale.met is True
    (missing,) = throughput_figures(None)
    assert missing.met is None
    counted = (Round(1, 1000, 1.0, 0, 0.4, 1.1), Round(2, 1000, 0.5, 0, 0.5, 1.2))
    (shown,) = throughput_figures(Scaling(3008, counted))
    assert shown.value.endswith("; CPU ms a call, engine + runtime: 0.40 + 1.10 vs 0.50 + 1.20")


def test_the_report_prints_each_goal_the_machine_and_the_settings(result: BenchResult):
    report = GoalReport(tuple(size_figures(result)), result.machine, {"runtime": "python3.12"})
    lines = report.lines()
    assert lines[0].endswith("(goal: <= 27 MB / 85 MB; MISSED)")
    assert lines[1].startswith("machine: Test CPU, 2 cores") and lines[2] == "settings: runtime=python3.12"


def test_goals_flags_choose_the_peer_rows(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    # The run itself takes minutes and is measured, not tested: only what the flags ask for.
    import pytest

    from lambdalite.benchmark import goals
    from lambdalite.cli import main

    asked = []

    def run_goals(options, progress=None):  # type: ignore[no-untyped-def]
        asked.append(options.peer_rows)
        raise SystemExit(0)

    monkeypatch.setattr(goals, "run_goals", run_goals)
    for flags in ([], ["--quick"], ["--no-peer-rows"], ["--quick", "--peer-rows"]):
        with pytest.raises(SystemExit):
            main(["bench", "--goals", "--out", str(tmp_path), *flags])
    assert asked == [True, False, False, True]


def test_the_steal_of_each_phase_is_noted():
    from lambdalite.benchmark.goals import StealLog
    from lambdalite.benchmark.machine import CpuTimes

    readings = iter([CpuTimes(10, 1000), CpuTimes(60, 2000), CpuTimes(60, 2000), None])
    steal = StealLog(lambda: next(readings))
    assert steal.during("MNIST rows", lambda: "rows") == "rows"
    steal.during("engine calls/s", lambda: None)               # unreadable after: no figure
    assert steal.percent == {"MNIST rows": 5.0}
    assert steal.note().endswith("while measuring: MNIST rows 5.0 %")


def test_the_report_is_saved_as_json_that_reads_back(result: BenchResult, tmp_path):
    import json

    report = GoalReport(tuple(size_figures(result)), result.machine,
                        {"runtime": "python3.12", "cpu_steal_percent": {"MNIST rows": 5.0}},
                        ("a note",))
    saved = json.loads(report.save(tmp_path / "out" / "goals.json").read_text())
    assert saved["figures"][0]["name"] == size_figures(result)[0].name
    assert saved["figures"][0]["met"] is False
    assert saved["settings"]["cpu_steal_percent"] == {"MNIST rows": 5.0}
    assert saved["notes"] == ["a note"] and saved["machine"]["cpu_model"] == "Test CPU"


def test_the_engine_rounds_are_kept_round_by_round():
    rounds = (Round(1, 1000, 1.0, 0), Round(2, 1000, 0.5, 0), Round(1, 1000, 1.25, 0),
              Round(2, 1000, 0.625, 0))
    data = Scaling(3008, rounds).to_dict()
    assert data["calls_per_second"] == {"1": [1000.0, 800.0], "2": [2000.0, 1600.0]}
    assert data["median_calls_per_second"] == {"1": 900.0, "2": 1800.0}
    assert len(data["rounds"]) == 4 and data["memory_mb"] == 3008
