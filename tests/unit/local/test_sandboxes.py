"""One sandbox per limits mode, against fake cgroup trees in tmp_path: the files are the
interface, so writing them is what a mode does and reading them is what it measures. (The
kernel keeps its files up to date; here the test writes what the kernel would.) cgroup v1 also
runs for real in tests/functional/local; v2 cannot on a v1 host."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lambdalite.lambda_facts import MB
from lambdalite.local.limits import (
    LimitsMode,
    LimitsPlan,
    detect_mode,
    limits_notice,
    open_sandbox,
)
from lambdalite.local.limits.cgroup import remove_stale_groups
from lambdalite.local.limits.cgroup_v1 import CgroupV1Sandbox
from lambdalite.local.limits.cgroup_v2 import CgroupV2Sandbox
from lambdalite.local.limits.fallback import RLIMIT_AS_HEADROOM, FallbackSandbox

PLAN = LimitsPlan(memory_bytes=128 * MB, cpu_quota_us=1_447)   # plan_limits(128)
RUNTIME = ["/usr/bin/python3", "-m", "awslambdaric", "app.handler"]


@pytest.fixture
def v2(tmp_path: Path) -> CgroupV2Sandbox:
    return CgroupV2Sandbox("Fn-1", PLAN, tmp_path)


def _read(path: Path) -> str:
    return path.read_text()


def test_v2_makes_its_group_under_the_engines_and_sets_the_limits(v2, tmp_path) -> None:
    engine = tmp_path / f"lambdalite-{os.getpid()}"
    assert v2.group.parent == engine and v2.group.name.startswith("Fn-1-")
    assert _read(engine / "cgroup.subtree_control") == "+memory +cpu"
    assert _read(v2.group / "memory.max") == str(128 * MB)
    assert _read(v2.group / "memory.swap.max") == "0"
    assert _read(v2.group / "cpu.max") == "1447 20000"   # 128 MB: 0.0724 vCPU a 20 ms period
    other = CgroupV2Sandbox("Fn-1", PLAN, tmp_path)
    assert other.group != v2.group   # two engines in one process may both have an "Fn-1"


def test_v2_without_a_cpu_quota_writes_no_cpu_max(tmp_path) -> None:
    sandbox = CgroupV2Sandbox("Fn-1", LimitsPlan(128 * MB, None), tmp_path)
    assert not (sandbox.group / "cpu.max").exists()


def test_v2_spawn_joins_its_group_only(v2) -> None:
    command = v2.command(RUNTIME)
    assert command[:2] == ["/bin/sh", "-c"] and "ulimit" not in command[2]
    assert command[3:] == ["sh", str(v2.group / "cgroup.procs"), "--", *RUNTIME]


def test_v2_freezes_and_thaws_through_cgroup_freeze(v2) -> None:
    (v2.group / "cgroup.events").write_text("populated 1\nfrozen 1\n")
    v2.freeze()
    assert _read(v2.group / "cgroup.freeze") == "1"
    v2.thaw()
    assert _read(v2.group / "cgroup.freeze") == "0"


def test_v2_peak_is_memory_peak_and_the_lifetime_peak_survives_a_reset(v2) -> None:
    (v2.group / "memory.peak").write_text(f"{50 * MB}\n")
    assert v2.peak_since_reset() == 50 * MB
    v2.reset_peak()
    assert _read(v2.group / "memory.peak") == "0"   # Linux 6.12+: resets the peak
    (v2.group / "memory.peak").write_text(f"{20 * MB}\n")
    assert v2.peak_since_reset() == 20 * MB and v2.lifetime_peak == 50 * MB


def test_v2_peak_falls_back_on_memory_current_before_linux_5_19(v2) -> None:
    (v2.group / "memory.current").write_text(f"{30 * MB}\n")
    assert v2.peak_since_reset() == 30 * MB


def test_v2_reports_each_oom_kill_once(v2) -> None:
    events = v2.group / "memory.events"
    events.write_text("low 0\nhigh 0\nmax 4\noom 1\noom_kill 0\n")
    assert not v2.oom_killed()
    events.write_text("low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n")
    assert v2.oom_killed()
    assert not v2.oom_killed()
    events.unlink()   # unreadable: no kill to report
    assert not v2.oom_killed()


def test_v2_kernel_enforces_so_nothing_is_polled(v2) -> None:
    assert v2.poll_interval_s is None and not v2.poll()
    assert not v2.oom_error("MemoryError")


def test_v2_kill_all_uses_cgroup_kill_and_thaws(v2) -> None:
    (v2.group / "cgroup.kill").write_text("")
    v2.kill_all()
    assert _read(v2.group / "cgroup.kill") == "1"
    assert _read(v2.group / "cgroup.freeze") == "0"   # frozen processes die only once thawed


def test_v2_close_removes_the_group_and_the_engines_folder(v2) -> None:
    for path in v2.group.iterdir():   # the kernel removes its files with the group
        path.unlink()
    engine = v2.group.parent
    (engine / "cgroup.subtree_control").unlink()
    v2.close()
    assert not v2.group.exists() and not engine.exists()
    v2.close()   # twice is harmless


def test_v1_makes_a_group_per_controller_and_sets_the_limits(tmp_path) -> None:
    bases = {c: tmp_path / c for c in ("memory", "cpu", "freezer")}
    sandbox = CgroupV1Sandbox("Fn-1", PLAN, bases)
    assert len({g.name for g in sandbox.groups}) == 1   # one name in every hierarchy
    assert sandbox.memory.parent == tmp_path / "memory" / f"lambdalite-{os.getpid()}"
    assert _read(sandbox.memory / "memory.limit_in_bytes") == str(128 * MB)
    assert _read(sandbox.memory / "memory.memsw.limit_in_bytes") == str(128 * MB)
    assert _read(sandbox.cpu / "cpu.cfs_quota_us") == "1447"
    assert _read(sandbox.cpu / "cpu.cfs_period_us") == "20000"
    assert sandbox.command(RUNTIME)[4:7] == [str(g / "cgroup.procs") for g in sandbox.groups]
    sandbox.freeze()
    assert _read(sandbox.freezer / "freezer.state") == "FROZEN"
    sandbox.thaw()
    assert _read(sandbox.freezer / "freezer.state") == "THAWED"


def test_v1_measures_max_usage_and_counts_oom_kills(tmp_path) -> None:
    sandbox = CgroupV1Sandbox("Fn-1", PLAN, {c: tmp_path / c for c in ("memory", "cpu", "freezer")})
    (sandbox.memory / "memory.max_usage_in_bytes").write_text(f"{40 * MB}\n")
    assert sandbox.peak_since_reset() == 40 * MB
    sandbox.reset_peak()
    assert _read(sandbox.memory / "memory.max_usage_in_bytes") == "0"
    (sandbox.memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\n")
    (sandbox.memory / "memory.failcnt").write_text("2\n")   # old kernels: no oom_kill line
    assert sandbox.oom_killed()
    (sandbox.memory / "memory.oom_control").write_text("oom_kill_disable 0\noom_kill 2\n")
    assert not sandbox.oom_killed()


def test_fallback_caps_address_space_and_polls(tmp_path) -> None:
    sandbox = FallbackSandbox.open("Fn-1", PLAN, tmp_path / "no-cgroups-here")
    kib = (128 * MB + RLIMIT_AS_HEADROOM) // 1024
    command = sandbox.command(RUNTIME)
    assert f"ulimit -v {kib} || exit 111; " in command[2]
    assert command[3:] == ["sh", "--", *RUNTIME]   # no group to join
    assert sandbox.poll_interval_s == 0.05 and not sandbox.poll()   # nothing spawned yet
    assert sandbox.oom_error("MemoryError") and not sandbox.oom_error("ValueError")
    assert not sandbox.oom_killed()
    assert list(tmp_path.iterdir()) == []


def test_detect_finds_no_cgroups_in_an_empty_tree(tmp_path) -> None:
    assert detect_mode(tmp_path) is LimitsMode.FALLBACK
    assert isinstance(open_sandbox(LimitsMode.FALLBACK, "Fn-1", PLAN, tmp_path), FallbackSandbox)


def test_each_mode_has_its_notice() -> None:
    assert "cgroup v1" in limits_notice(LimitsMode.CGROUP_V1)
    assert "cgroup.freeze" in limits_notice(LimitsMode.CGROUP_V2)
    assert "no CPU cap" in limits_notice(LimitsMode.FALLBACK)


def test_stale_groups_of_dead_engines_are_swept(tmp_path) -> None:
    dead = tmp_path / "lambdalite-999999999"   # above any pid_max: no such process
    (dead / "Fn-1-abcd").mkdir(parents=True)
    alive = tmp_path / f"lambdalite-{os.getpid()}"
    (alive / "Fn-2-abcd").mkdir(parents=True)
    probe = tmp_path / "lambdalite-probe-1"
    probe.mkdir()
    remove_stale_groups(tmp_path)
    assert not dead.exists() and (alive / "Fn-2-abcd").exists() and probe.exists()
