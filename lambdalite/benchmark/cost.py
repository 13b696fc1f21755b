"""What a variant costs per million requests on Lambda, from measured durations.

Prices come from ``lambdalite.lambda_facts`` (the one documented place: ``ARCHS[...]``
``price_per_gb_second`` and ``PRICE_PER_MILLION_REQUESTS``). Lambda bills duration in 1 ms
steps at MemorySize GB (1 GB = 1024 MB), and since 2025-08-01 it bills the INIT phase of a cold
start like invoke duration, so a cold request costs ``Init Duration + Duration``.

A million requests is ``cold_fraction`` cold starts and the rest warm. The arm64 figure applies
arm64's price to durations measured on this (x86_64) machine: arm64 is built, not run, here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lambdalite.lambda_facts import ARCHS, BILLING_GRANULARITY_MS, PRICE_PER_MILLION_REQUESTS

MILLION = 1_000_000
DEFAULT_COLD_FRACTION = 0.01   # 1 request in 100 lands on a new execution environment


@dataclass(frozen=True)
class CostInputs:
    memory_mb: int
    warm_duration_ms: float       # a typical warm invocation (we pass the warm mean)
    init_duration_ms: float       # a typical cold start's INIT (mean)
    cold_duration_ms: float       # the first invocation after INIT (mean)
    cold_fraction: float = DEFAULT_COLD_FRACTION


def billed_ms(duration_ms: float) -> int:
    """Lambda rounds each billed phase up to the next millisecond."""
    step = BILLING_GRANULARITY_MS
    return int(math.ceil(max(0.0, duration_ms) / step) * step)


def gb_seconds(memory_mb: int, ms: float) -> float:
    return memory_mb / 1024 * ms / 1000


def cost_per_million(inputs: CostInputs, arch: str) -> float:
    """USD per million requests: request charge + duration (warm, and cold with INIT)."""
    warm_ms = billed_ms(inputs.warm_duration_ms)
    cold_ms = billed_ms(inputs.init_duration_ms) + billed_ms(inputs.cold_duration_ms)
    return cost_from_billed(inputs.memory_mb, warm_ms, cold_ms, inputs.cold_fraction, arch)


def cost_from_billed(memory_mb: int, warm_billed_ms: float, cold_billed_ms: float,
                     cold_fraction: float, arch: str) -> float:
    """USD per million requests from billed durations: a warm call's, and a cold one's (INIT
    included, as Lambda's Billed Duration of a cold start is); ``bench --remote`` passes the
    means of the REPORT lines' Billed Duration."""
    if not 0.0 <= cold_fraction <= 1.0:
        raise ValueError(f"cold_fraction {cold_fraction} is outside 0..1")
    price = ARCHS[arch].price_per_gb_second
    mean_ms = (1 - cold_fraction) * warm_billed_ms + cold_fraction * cold_billed_ms
    return PRICE_PER_MILLION_REQUESTS + MILLION * gb_seconds(memory_mb, mean_ms) * price
