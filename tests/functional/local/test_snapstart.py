"""SnapStart's lifecycle in the local engine, with real awslambdaric: INIT and the before-snapshot
hooks, then RESTORE and the after-restore hooks, in every new environment (no snapshot is taken
here); REPORT lines with Restore Duration as Lambda prints them; failing hooks."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import FunctionSpec

HANDLERS = Path(__file__).resolve().parents[2] / "fixtures" / "handlers"
pytestmark = pytest.mark.timeout(120)


def spec(name: str, snap_start: bool = True, **env: str) -> FunctionSpec:
    return FunctionSpec(name, "snapstart_hooks.handler", HANDLERS, runtime="python3.12",
                        memory_mb=256, timeout_s=10.0, environment=env, snap_start=snap_start)


@pytest.fixture(scope="module")
def engine():
    functions = [spec("Snap"), spec("OnDemand", snap_start=False),
                 spec("AfterFails", FAIL_HOOK="after"), spec("BeforeFails", FAIL_HOOK="before")]
    with LocalLambda({f.name: f for f in functions}) as eng:
        yield eng


def test_hooks_run_in_lambdas_order_and_the_report_has_restore_duration(engine: LocalLambda):
    cold = engine.invoke("Snap", b"{}")
    body = json.loads(cold.payload)
    assert body["order"] == ["init", "before_snapshot", "after_restore", "invoke"]
    assert body["initialization_type"] == "snap-start"
    rep = cold.report
    assert cold.cold and rep.init_duration_ms is None     # INIT ran at "publish" time
    assert rep.restore_duration_ms is not None and rep.restore_duration_ms > 0
    # Billed from the measured durations, which the REPORT prints to 0.01 ms (1.004 ms shows
    # as 1.00 and bills 2): the bounds of the printed values' rounding on either side.
    restore = rep.billed_restore_duration_ms
    assert restore in {math.ceil(rep.restore_duration_ms + d) for d in (-0.005, 0.005)}
    billed = [math.ceil(rep.duration_ms + d + restore) for d in (-0.005, 0.005)]
    assert billed[0] <= rep.billed_duration_ms <= billed[1]
    report = cold.logs.splitlines()[-1]
    assert re.search(r"\tRestore Duration: [\d.]+ ms\tBilled Restore Duration: \d+ ms$", report)
    assert "Init Duration" not in report
    lines = [line.split(" ", 1)[0] for line in cold.logs.splitlines()]
    starts = [w for w in lines if w in ("INIT_START", "RESTORE_START", "RESTORE_REPORT",
                                        "START", "END", "REPORT")]
    assert starts == ["INIT_START", "RESTORE_START", "RESTORE_REPORT", "START", "END", "REPORT"]
    assert "after-restore hook ran" in cold.logs
    warm = engine.invoke("Snap", b"{}")
    again = json.loads(warm.payload)
    assert not warm.cold and again["pid"] == body["pid"]
    assert again["order"] == ["init", "before_snapshot", "after_restore", "invoke", "invoke"]
    assert warm.report.restore_duration_ms is None and "Restore" not in warm.logs


def test_an_on_demand_function_runs_no_hooks(engine: LocalLambda):
    result = engine.invoke("OnDemand", b"{}")
    body = json.loads(result.payload)
    assert body["order"] == ["init", "invoke"] and body["initialization_type"] == "on-demand"
    assert result.report.init_duration_ms is not None
    assert result.report.restore_duration_ms is None and "RESTORE" not in result.logs


def test_a_failing_after_restore_hook_fails_the_call_and_resets(engine: LocalLambda):
    first = engine.invoke("AfterFails", b"{}")
    assert first.function_error and first.error_type == "Runtime.AfterRestoreError"
    assert "after-restore hook failed" in json.loads(first.payload)["errorMessage"]
    assert re.search(r"RESTORE_REPORT Restore Duration: [\d.]+ ms\tStatus: error\t"
                     r"Error Type: Runtime.AfterRestoreError", first.logs)
    again = engine.invoke("AfterFails", b"{}")
    assert again.cold and again.error_type == "Runtime.AfterRestoreError"   # a new environment


def test_a_failing_before_snapshot_hook_is_an_init_error(engine: LocalLambda):
    result = engine.invoke("BeforeFails", b"{}")
    assert result.function_error and result.error_type == "Runtime.BeforeSnapshotError"
    assert "INIT_REPORT" in result.logs and "Error Type: Runtime.BeforeSnapshotError" in result.logs
