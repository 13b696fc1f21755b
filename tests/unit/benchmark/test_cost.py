from __future__ import annotations

import pytest

from lambdalite.benchmark.cost import CostInputs, billed_ms, cost_per_million, gb_seconds
from lambdalite.lambda_facts import ARCHS, PRICE_PER_MILLION_REQUESTS


def test_billed_duration_rounds_up_to_the_millisecond():
    assert billed_ms(100.0) == 100
    assert billed_ms(100.2) == 101
    assert billed_ms(0.01) == 1
    assert billed_ms(-5) == 0


def test_gb_seconds_uses_1024_mb_per_gb():
    assert gb_seconds(1024, 1000) == 1.0
    assert gb_seconds(3008, 500) == pytest.approx(3008 / 1024 / 2)


def test_cost_per_million_on_fixed_numbers():
    # 99% warm at 100 ms, 1% cold at 500 ms INIT (billed) + 200 ms: mean 106 ms at 1 GB.
    inputs = CostInputs(memory_mb=1024, warm_duration_ms=100, init_duration_ms=500,
                        cold_duration_ms=200, cold_fraction=0.01)
    assert cost_per_million(inputs, "x86_64") == pytest.approx(0.20 + 106_000 * 0.0000166667)
    assert cost_per_million(inputs, "arm64") == pytest.approx(0.20 + 106_000 * 0.0000133334)


def test_prices_come_from_the_platform_table(monkeypatch):
    inputs = CostInputs(2048, 10, 0, 0, cold_fraction=0.0)
    base = cost_per_million(inputs, "x86_64") - PRICE_PER_MILLION_REQUESTS
    assert base == pytest.approx(1e6 * 2 * 0.010 * ARCHS["x86_64"].price_per_gb_second)
    monkeypatch.setattr("lambdalite.benchmark.cost.PRICE_PER_MILLION_REQUESTS", 1.0)
    assert cost_per_million(inputs, "x86_64") == pytest.approx(base + 1.0)


def test_init_is_billed_on_cold_starts():
    warm_only = CostInputs(1024, 50, 1000, 50, cold_fraction=0.0)
    all_cold = CostInputs(1024, 50, 1000, 50, cold_fraction=1.0)
    diff = cost_per_million(all_cold, "x86_64") - cost_per_million(warm_only, "x86_64")
    assert diff == pytest.approx(1e6 * 1.0 * 1.0 * ARCHS["x86_64"].price_per_gb_second)


def test_cold_fraction_outside_0_1_is_rejected():
    with pytest.raises(ValueError, match="cold_fraction"):
        cost_per_million(CostInputs(1024, 1, 1, 1, cold_fraction=1.5), "x86_64")
