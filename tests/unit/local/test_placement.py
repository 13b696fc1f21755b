"""The CPU placement of environments (``local/limits/placement.py``): which host CPUs each
environment gets, and the calling thread's affinity around a spawn."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lambdalite.local.limits import placement
from lambdalite.local.limits.placement import CpuPlacement, spawning_on


def test_each_environment_gets_cpus_no_other_holds_while_there_are_free_ones() -> None:
    cpus = CpuPlacement(range(8))
    got = [cpus.acquire(2) for _ in range(4)]
    assert all(g is not None and len(g) == 2 for g in got)
    assert set().union(*got) == set(range(8))   # four environments, eight CPUs: no overlap
    assert set(cpus.holders().values()) == {1}


def test_an_environment_that_needs_every_cpu_is_not_placed() -> None:
    cpus = CpuPlacement([0, 1])
    assert cpus.acquire(2) is None
    assert cpus.acquire(6) is None
    assert cpus.holders() == {0: 0, 1: 0}


def test_more_environments_than_cpus_share_the_least_taken_ones() -> None:
    cpus = CpuPlacement([4, 5, 6])
    first = [cpus.acquire(1) for _ in range(3)]
    assert sorted(next(iter(g)) for g in first if g) == [4, 5, 6]
    fourth = cpus.acquire(2)
    assert fourth is not None and len(fourth) == 2
    assert sorted(cpus.holders().values()) == [1, 2, 2]


def test_released_cpus_are_handed_out_again_and_ties_go_round() -> None:
    cpus = CpuPlacement(range(4))
    a = cpus.acquire(1)
    b = cpus.acquire(1)
    assert a != b   # a tie does not start from the same CPU again
    cpus.release(a)
    cpus.release(b)
    assert cpus.holders() == dict.fromkeys(range(4), 0)
    cpus.release(None)   # an environment that was not placed releases nothing
    held = cpus.acquire(3)
    assert held is not None and len(held) == 3
    cpus.release(held)
    cpus.release(held)   # twice: the counts never go below zero
    assert min(cpus.holders().values()) == 0


def test_the_first_cpu_handed_out_is_the_start_one() -> None:
    assert CpuPlacement(range(4), start=2).acquire(1) == {2}
    assert CpuPlacement(range(4), start=7).acquire(2) == {3, 0}   # start wraps, then goes round
    assert CpuPlacement([10, 20, 30]).acquire(1) == {10}


def test_a_placement_needs_cpus() -> None:
    with pytest.raises(ValueError, match="at least one CPU"):
        CpuPlacement([])


@pytest.mark.skipif(not placement.SUPPORTED or len(os.sched_getaffinity(0)) < 2,
                    reason="needs sched_setaffinity and at least 2 CPUs")
def test_a_process_spawned_inside_inherits_the_cpus_and_the_thread_gets_its_own_back() -> None:
    before = os.sched_getaffinity(0)
    one = frozenset({min(before)})
    with spawning_on(one):
        code = "import os; print(sorted(os.sched_getaffinity(0)))"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout
    assert out.strip() == str(sorted(one))
    assert os.sched_getaffinity(0) == before
    with spawning_on(None):
        assert os.sched_getaffinity(0) == before


@pytest.mark.skipif(not placement.SUPPORTED, reason="needs sched_setaffinity")
def test_cpus_taken_away_since_mean_an_unplaced_spawn_not_an_error() -> None:
    before = os.sched_getaffinity(0)
    with spawning_on(frozenset({100_000})):   # no such CPU: the kernel refuses the mask
        assert os.sched_getaffinity(0) == before
    assert os.sched_getaffinity(0) == before


def test_the_shared_placement_covers_the_cpus_this_process_may_use() -> None:
    shared = placement.shared_placement()
    if not placement.SUPPORTED:
        assert shared is None
        return
    assert shared is not None
    assert set(shared.cpus) == os.sched_getaffinity(0)
    assert placement.shared_placement() is shared
