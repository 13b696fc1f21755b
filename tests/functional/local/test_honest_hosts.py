"""A host that cannot measure memory says so at start and reports Max Memory Used as
unmeasured (None, "n/a"), never 0: the real engine in that mode, and the notices per host."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from lambdalite.local import log_lines
from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import FunctionSpec
from lambdalite.local.limits import LimitsMode, detect_mode, limits_notice
from lambdalite.local.limits.cgroup_v2 import CgroupV2Sandbox

HANDLERS = Path(__file__).resolve().parents[2] / "fixtures" / "handlers"
RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
pytestmark = pytest.mark.timeout(60)


def test_without_procfs_memory_is_unmeasured_never_zero(tmp_path: Path) -> None:
    records: list[dict[str, object]] = []
    spec = FunctionSpec("Echo", "echo.handler", HANDLERS, runtime=RUNTIME, memory_mb=128)
    with LocalLambda({"Echo": spec}, limits=LimitsMode.UNMEASURED,
                     log_sink=records.append) as engine:
        assert "memory neither capped nor measured (Max Memory Used: n/a)" in engine.limits_notice
        cold = engine.invoke("Echo", b'{"n": 1}')
        warm = engine.invoke("Echo", b'{"n": 2}')
    assert json.loads(cold.payload)["event"] == {"n": 1} and warm.cold is False
    for result in (cold, warm):
        assert result.report.max_memory_used_mb is None
        assert "\tMax Memory Used: n/a" in result.report.line()
        assert "Max Memory Used: n/a" in result.logs
    assert [(r["max_memory_used_mb"], r["invocation_peak_mb"]) for r in records] == [
        (None, None), (None, None)]
    assert cold.report.init_duration_ms and cold.report.init_duration_ms > 0   # still measured


def test_a_host_without_procfs_or_not_linux_gets_the_unmeasured_mode(tmp_path: Path) -> None:
    assert detect_mode(tmp_path, proc=tmp_path / "no-proc") is LimitsMode.UNMEASURED
    assert detect_mode(tmp_path, platform="darwin") is LimitsMode.UNMEASURED
    assert detect_mode(tmp_path) is LimitsMode.FALLBACK     # /proc, but no cgroup to use here
    assert "no CPU cap" in limits_notice(LimitsMode.FALLBACK)


@pytest.mark.parametrize(("release", "gap"), [
    ("5.15.0-91-generic", "no memory.peak before Linux 5.19"),
    ("6.8.0-1019-aws", "memory.peak cannot be reset before Linux 6.12"),
    ("6.12.3", None),
])
def test_cgroup_v2_says_what_this_kernel_does_not_measure(release: str, gap: str | None) -> None:
    notice = CgroupV2Sandbox.notice(release=release)
    assert notice.startswith(CgroupV2Sandbox.NOTICE)
    assert (gap in notice) if gap else notice == CgroupV2Sandbox.NOTICE


def test_the_report_line_keeps_lambdas_format_where_memory_is_measured() -> None:
    assert log_lines.report("id", 1.5, 2, 128, 44).endswith("\tMax Memory Used: 44 MB")
    assert log_lines.report("id", 1.5, 2, 128, None).endswith("\tMax Memory Used: n/a")
