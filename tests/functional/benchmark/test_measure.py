"""``runner.measure`` against one-file handlers under the real local engine: samples are
counted as configured, and a timeout or a crash stops the cell with Lambda's error type."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lambdalite.benchmark.config import BenchOptions, config_for
from lambdalite.benchmark.runner import Built, Row, measure
from lambdalite.progress import Callback

ROW = Row("float32", "litert", "float32")
HANDLER_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "handlers"


def run(handler: str, payload: dict, **config):  # type: ignore[no-untyped-def]
    done: list[int] = [0]
    cfg = config_for(BenchOptions(**config))
    cell = measure(cfg, ROW, Built(HANDLER_FIXTURES, handler, ()), 256,
                   json.dumps(payload).encode(), Callback(lambda _msg, n, _total: done.append(n)))
    return cell, done[-1], cfg


def test_counts_cold_and_warm_samples_and_excludes_warmup():
    cell, units, cfg = run("echo.handler", {"x": 1}, cold_starts=2, warm=3, warmup=2)
    assert cell.error is None and len(cell.cold) == 2 and len(cell.warm) == 3
    assert all(c.init_duration_ms and c.init_duration_ms > 0 for c in cell.cold)
    assert all(0 < w.max_memory_used_mb <= 256 for w in cell.warm)
    assert units == cfg.cold_starts + cfg.warmup + cfg.warm    # the progress bar ends full


def test_timeout_stops_the_cell_as_lambda_reports_it():
    cell, units, cfg = run("sleepy.handler", {"seconds": 5}, cold_starts=2, warm=3, timeout_s=1)
    assert cell.timed_out and cell.error_type == "Sandbox.Timedout"
    assert len(cell.cold) == 1 and cell.warm == ()
    assert units == cfg.cold_starts + cfg.warmup + cfg.warm


def test_crash_is_recorded_with_its_error_type():
    cell, _, _ = run("crash.handler", {}, cold_starts=1, warm=1)
    assert cell.error and cell.error_type and not cell.timed_out and cell.warm == ()


def test_an_emulated_cell_is_marked_and_its_answer_checked_against_x86_64():
    """A python3.13 arm64 package runs under qemu: one cold start, a few warm calls, the
    answer compared with the x86_64 run's (here a one-file handler stands in for the package)."""
    from lambdalite import emulation
    from lambdalite.benchmark.runner import measure_emulated

    why = emulation.why_not_ready()
    if why is not None:
        pytest.skip(f"arm64 cannot run emulated here: {why}")
    cfg = config_for(BenchOptions(runtime="python3.13", cold_starts=2, warm=5, warmup=1))
    built = Built(HANDLER_FIXTURES, "answer.handler", (), arm64_root=HANDLER_FIXTURES)
    payload = json.dumps({"n": 4}).encode()
    units: list[int] = [0]
    progress = Callback(lambda _msg, n, _total: units.append(n))
    reference: list[bytes] = []
    x86 = measure(cfg, ROW, built, 256, payload, progress, answers=reference)
    assert x86.error is None and not x86.emulated and len(reference) == 1
    cell = measure_emulated(cfg, ROW, built, payload, reference, progress)
    assert (cell.arch, cell.emulated, cell.answers, cell.error) == ("arm64", True, "equal", None)
    assert len(cell.cold) == 1 and len(cell.warm) == 3        # EMULATED_WARM, no warm-up
    assert cell.cost("x86_64", 0.01) is None
    assert units[-1] == (2 + 1 + 5) + (1 + 3)                  # every invocation counted


def test_throughput_rounds_start_the_environments_asked_for_and_count_every_call():
    """``throughput.scaling``: 1 and 2 environments, interleaved; each round runs its warm
    calls through that many environments (never a figure checked: the machine decides)."""
    from lambdalite.benchmark.runner import function_spec
    from lambdalite.benchmark.throughput import scaling

    cfg = config_for(BenchOptions())
    spec = function_spec(cfg, ROW, Built(HANDLER_FIXTURES, "echo.handler", ()), 256)
    result = scaling(spec, b'{"x": 1}', environments=(1, 2), rounds=2, calls=30)
    assert [r.environments for r in result.rounds] == [1, 2, 1, 2]
    assert all(r.calls == 30 and r.errors == 0 and r.seconds > 0 for r in result.rounds)
    assert result.median(2) is not None and result.speedup(2) is not None
    # CPU is counted for every round: the engine's (its client threads among its groups) and
    # the runtimes', from /proc, while they live.
    for r in result.rounds:
        assert r.engine_cpu_s is not None and r.engine_cpu_s > 0
        assert r.runtime_cpu_s is not None and r.runtime_cpu_s > 0
        assert r.threads["client"] > 0 and r.threads["runtime-api request"] > 0
    assert result.cpu_ms_per_call(1) is not None
