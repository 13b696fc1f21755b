"""Summary statistics of a list of samples (milliseconds, megabytes), stdlib only.

Percentiles use linear interpolation between closest ranks (numpy's default "linear" method,
Hyndman & Fan type 7), so p50 of an even-sized sample is the mean of the two middle values.
``robust_stdev`` estimates the standard deviation from the median absolute deviation, so one
outlier (a 38 ms hiccup among 0.7 ms calls) does not make every difference look like noise.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    stdev: float          # sample standard deviation; 0.0 for a single sample
    min: float
    max: float
    p50: float
    p95: float
    p99: float

    def to_dict(self) -> dict[str, float | int]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of ``samples``, linear interpolation."""
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile {q} is outside 0..100")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# MAD x 1.4826 estimates the standard deviation of normally distributed samples.
MAD_TO_STDEV = 1.4826


def robust_stdev(samples: Sequence[float]) -> float:
    """1.4826 x the median absolute deviation from the median; 0.0 for fewer than 2 samples."""
    if len(samples) < 2:
        return 0.0
    median = percentile(samples, 50)
    return MAD_TO_STDEV * percentile([abs(s - median) for s in samples], 50)


def summarize(samples: Sequence[float]) -> Summary:
    if not samples:
        raise ValueError("cannot summarize an empty sample")
    values = [float(s) for s in samples]
    return Summary(
        n=len(values),
        mean=statistics.fmean(values),
        stdev=statistics.stdev(values) if len(values) > 1 else 0.0,
        min=min(values),
        max=max(values),
        p50=percentile(values, 50),
        p95=percentile(values, 95),
        p99=percentile(values, 99),
    )
