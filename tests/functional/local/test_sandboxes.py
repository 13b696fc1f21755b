"""The sandboxes with real processes: the spawn wrapper joins the group with the runtime's own
pid, the cgroup kill reaches a group's members, the fallback's polling, RLIMIT_AS and
SIGSTOP/SIGCONT work. (The engine's tests run whichever mode this machine has end to end.)"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdalite.lambda_facts import MB
from lambdalite.local.limits import LimitsPlan
from lambdalite.local.limits.base import CGROUP_ROOT
from lambdalite.local.limits.cgroup_v1 import CgroupV1Sandbox, controller_bases
from lambdalite.local.limits.cgroup_v2 import CgroupV2Sandbox
from lambdalite.local.limits.fallback import RLIMIT_AS_HEADROOM, FallbackSandbox

pytestmark = pytest.mark.timeout(60)
PLAN = LimitsPlan(memory_bytes=128 * MB, cpu_quota_us=None)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A process in its own process group, as the environment starts the runtime."""
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_the_wrapper_joins_the_group_with_the_runtimes_own_pid(tmp_path: Path) -> None:
    sandbox = CgroupV2Sandbox("Fn-1", PLAN, tmp_path)
    out = subprocess.run(sandbox.command(["/bin/sh", "-c", "echo $$"]), capture_output=True,
                         text=True, check=True).stdout
    # exec keeps the pid: what joined the group is the runtime itself, before it ran.
    assert (sandbox.group / "cgroup.procs").read_text().split() == [out.strip()]


def test_cgroup_kill_all_kills_every_member(tmp_path: Path, sleeper) -> None:
    sandbox = CgroupV2Sandbox("Fn-1", PLAN, tmp_path)
    (sandbox.group / "cgroup.procs").write_text(f"{sleeper.pid}\n")
    sandbox.kill_all()
    assert sleeper.wait(timeout=10) == -9


def test_a_dead_engines_frozen_runtime_is_killed_and_its_group_swept(sleeper) -> None:
    """What an engine killed by SIGKILL leaves: a frozen runtime in its group. The next
    engine's start (detect_mode sweeps) kills it, thaws it so it can die, removes the group."""
    bases = controller_bases(CGROUP_ROOT) if CgroupV1Sandbox.usable(CGROUP_ROOT) else None
    if bases is None:
        pytest.skip(f"no writable cgroup v1 freezer under {CGROUP_ROOT} on this machine")
    group = bases["freezer"] / "lambdalite-999999999" / "Fn-1-abcd"   # above any pid_max
    group.mkdir(parents=True)
    try:
        (group / "cgroup.procs").write_text(f"{sleeper.pid}\n")
        (group / "freezer.state").write_text("FROZEN")
        deadline = time.monotonic() + 10
        while (group / "freezer.state").read_text().strip() != "FROZEN":
            assert time.monotonic() < deadline, "the freezer did not freeze the sleeper"
            time.sleep(0.01)
        CgroupV1Sandbox.sweep_stale(CGROUP_ROOT)
        assert sleeper.wait(timeout=10) == -9
        assert not group.parent.exists()
    finally:
        if group.exists():
            (group / "freezer.state").write_text("THAWED")
            sleeper.kill()
            sleeper.wait()
            group.rmdir()
            group.parent.rmdir()


def test_fallback_runtime_starts_under_its_address_space_limit() -> None:
    sandbox = FallbackSandbox(PLAN)
    out = subprocess.run(sandbox.command(["/bin/sh", "-c", "ulimit -v"]), capture_output=True,
                         text=True, check=True).stdout
    assert int(out) == (PLAN.memory_bytes + RLIMIT_AS_HEADROOM) // 1024


def test_fallback_polls_the_process_trees_memory(sleeper) -> None:
    tight = FallbackSandbox(LimitsPlan(memory_bytes=1, cpu_quota_us=None))
    tight.started(sleeper.pid)
    assert tight.poll()                               # any live process is over 1 byte
    assert tight.peak_since_reset() > 0
    roomy = FallbackSandbox(PLAN)
    roomy.started(sleeper.pid)
    assert not roomy.poll()


def test_fallback_freezes_with_sigstop_and_thaws_with_sigcont(sleeper) -> None:
    sandbox = FallbackSandbox(PLAN)
    sandbox.started(sleeper.pid)
    sandbox.freeze()
    _wait_for_state(sleeper.pid, "T")
    sandbox.thaw()
    _wait_for_state(sleeper.pid, "S")


def _wait_for_state(pid: int, wanted: str) -> None:
    # Signals are delivered asynchronously; poll the state briefly (no timing is asserted).
    for _ in range(500):
        if _state(pid) == wanted:
            return
        time.sleep(0.01)
    pytest.fail(f"process {pid} never reached state {wanted}: {_state(pid)}")
