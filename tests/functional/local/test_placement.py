"""The engine's CPU placement with real awslambdaric processes: each environment runs on as
many host CPUs as Lambda shows it, CPUs no other environment holds while there are free ones
(``local/limits/placement.py``)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from lambdalite.local import environment
from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import FunctionSpec
from lambdalite.local.interpreters import HOST_VERSION
from lambdalite.local.limits import placement

HANDLERS = Path(__file__).resolve().parents[2] / "fixtures" / "handlers"
HOST_CPUS = sorted(os.sched_getaffinity(0)) if placement.SUPPORTED else []
pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(len(HOST_CPUS) < 2, reason="needs sched_setaffinity and 2 CPUs"),
]
SPEC = FunctionSpec("Affinity", "affinity.handler", HANDLERS, runtime=f"python{HOST_VERSION}",
                    memory_mb=1024, timeout_s=30.0)


def seen(engine: LocalLambda, sleep: float = 0.0) -> dict[str, list[int]]:
    result = engine.invoke("Affinity", json.dumps({"sleep": sleep}).encode())
    assert result.function_error is None, result.payload
    return json.loads(result.payload)


def two_at_once(engine: LocalLambda) -> list[dict[str, list[int]]]:
    """Two calls at the same moment: two environments, alive together."""
    answers: list[dict[str, list[int]]] = []
    threads = [threading.Thread(target=lambda: answers.append(seen(engine, sleep=1.0)))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_an_environment_runs_on_as_many_host_cpus_as_lambda_shows_it() -> None:
    # 1024 MB: Lambda shows 2 vCPUs; a 2-CPU host gives it both, a larger one 2 of its own
    with LocalLambda({"Affinity": SPEC}) as engine:
        got = seen(engine)
    assert len(got["main"]) == min(len(HOST_CPUS), environment.visible_vcpus(1024)) == 2
    assert set(got["main"]) <= set(HOST_CPUS)
    assert got["thread"] == got["main"]   # a thread the function starts inherits them


def test_environments_get_cpus_of_their_own_and_give_them_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Lambda shows every size 2 vCPUs or more; one a size, for a 2-CPU host to have room for two
    monkeypatch.setattr(environment, "visible_vcpus", lambda memory_mb: 1)
    with LocalLambda({"Affinity": SPEC}, concurrency=2) as engine:
        answers = two_at_once(engine)
        shared = engine.placement
        assert shared is not None
        held = dict(shared.holders())
    cpus = sorted(a["main"][0] for a in answers)
    assert all(len(a["main"]) == 1 and a["thread"] == a["main"] for a in answers)
    assert len(set(cpus)) == 2 and set(cpus) <= set(HOST_CPUS)   # not the same CPU twice
    assert sum(held.values()) == 2
    assert sum(shared.holders().values()) == 0   # closed: every CPU handed back


def test_without_placement_every_environment_runs_on_every_cpu(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environment, "visible_vcpus", lambda memory_mb: 1)
    with LocalLambda({"Affinity": SPEC}, concurrency=2, cpu_placement=False) as engine:
        answers = two_at_once(engine)
    assert all(a == {"main": HOST_CPUS, "thread": HOST_CPUS} for a in answers)
