"""``bench --remote``'s figures without a server: made-up REPORT lines, not measurements."""

from __future__ import annotations

import pytest

from lambdalite.benchmark.cost import CostInputs, cost_from_billed, cost_per_million
from lambdalite.benchmark.remote import (
    RemoteCell,
    RemoteSample,
    _check_unqualified,
    _local_row,
    _sweep,
    compare,
)
from lambdalite.benchmark.results import CellResult, ColdSample, WarmSample
from lambdalite.errors import OptionError
from lambdalite.local.engine_types import Report
from lambdalite.manifest import Manifest


def sample(duration: float, billed: int, used: int, init: float | None = None) -> RemoteSample:
    return RemoteSample(Report("r", duration, billed, 1024, used, init), duration + 30,
                        init is not None)


REMOTE = RemoteCell(1024, cold=(sample(20.0, 621, 90, init=600.0),),
                    warm=(sample(4.0, 4, 80), sample(6.0, 6, 85), sample(5.0, 5, 82)))
LOCAL = CellResult("int8", 1024, (ColdSample(300.0, 10.0, 400.0, 45),),
                   (WarmSample(2.0, 3.0, 44), WarmSample(2.5, 3.0, 44), WarmSample(3.0, 4.0, 45)))


def test_ratios_are_remote_over_local() -> None:
    c = compare(LOCAL, REMOTE, "x86_64", 0.01)
    assert c.cold_start_ms == (310.0, 620.0) and c.ratio(c.cold_start_ms) == 2.0
    assert c.warm_p50_ms == (2.5, 5.0) and c.ratio(c.warm_p50_ms) == 2.0
    assert c.max_memory_mb == (45, 90) and c.ratio(c.max_memory_mb) == 2.0


def test_without_a_local_run_there_is_no_ratio() -> None:
    c = compare(None, REMOTE, "arm64", 0.01)
    assert c.ratio(c.warm_p50_ms) is None and c.warm_p50_ms == (None, 5.0)
    assert c.to_dict()["warm_p50_ms"] == {"local": None, "remote": 5.0, "ratio": None}


def test_cost_comes_from_the_billed_durations_and_the_architecture() -> None:
    # warm billed mean 5 ms; cold billed 621 ms (INIT included, as Lambda bills it).
    expected = cost_from_billed(1024, 5.0, 621.0, 0.01, "arm64")
    assert REMOTE.cost("arm64", 0.01) == pytest.approx(expected)
    assert REMOTE.cost("arm64", 0.01) < REMOTE.cost("x86_64", 0.01)  # type: ignore[operator]
    assert RemoteCell(1024, cold=REMOTE.cold).cost("x86_64", 0.01) is None


def test_billed_cost_agrees_with_the_local_cost_of_the_same_durations() -> None:
    local = cost_per_million(CostInputs(2048, 4.2, 300.3, 10.1, 0.05), "x86_64")
    assert cost_from_billed(2048, 5, 301 + 11, 0.05, "x86_64") == pytest.approx(local)
    with pytest.raises(ValueError, match="outside 0..1"):
        cost_from_billed(2048, 5, 5, 1.5, "x86_64")


def test_the_sweep_defaults_to_the_functions_memory_and_is_checked() -> None:
    assert _sweep(None, {"MemorySize": 3008}) == (3008,)
    assert _sweep((512, 1024, 512), {"MemorySize": 3008}) == (512, 1024)
    with pytest.raises(OptionError, match="128..10240 MB"):
        _sweep((64,), {"MemorySize": 3008})


def test_the_local_row_is_the_one_the_function_serves(mnist_model_dir) -> None:  # type: ignore[no-untyped-def]
    manifest = Manifest.load(mnist_model_dir)
    env = {"Environment": {"Variables": {"LAMBDALITE_VARIANT": "dynamic"}}}
    assert _local_row(None, env, manifest) == "dynamic"
    assert _local_row("int8", env, manifest) == "int8"
    assert _local_row(None, {"Environment": {"Variables": {"LAMBDALITE_BACKEND": "tf"}}},
                      manifest) == "tf"
    assert _local_row(None, {}, manifest) == manifest.default_variant
    with pytest.raises(OptionError, match="the function's LAMBDALITE_VARIANT asks for row "
                                          "'nope'.*pass variant with one of them"):
        _local_row(None, {"Environment": {"Variables": {"LAMBDALITE_VARIANT": "nope"}}},
                   manifest)


def test_a_version_or_alias_is_refused_before_anything_changes() -> None:
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:fn"
    for ok in ("fn", "fn:$LATEST", arn, f"{arn}:$LATEST"):
        _check_unqualified(ok)
    for qualified in ("fn:prod", f"{arn}:3"):
        with pytest.raises(OptionError, match="configuration of \\$LATEST"):
            _check_unqualified(qualified)
