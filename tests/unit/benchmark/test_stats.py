from __future__ import annotations

import math

import pytest

from lambdalite.benchmark.stats import percentile, robust_stdev, summarize


def test_percentiles_interpolate_between_ranks():
    samples = [4.0, 1.0, 3.0, 2.0]          # order must not matter
    assert percentile(samples, 50) == 2.5
    assert percentile(samples, 95) == pytest.approx(3.85)
    assert percentile(samples, 99) == pytest.approx(3.97)
    assert percentile(samples, 0) == 1.0 and percentile(samples, 100) == 4.0


def test_percentile_matches_numpy_linear_method():
    np = pytest.importorskip("numpy")
    samples = [12.5, 3.0, 7.25, 100.0, 0.5, 9.0, 9.0, 41.0]
    for q in (1, 25, 50, 90, 95, 99):
        assert percentile(samples, q) == pytest.approx(float(np.percentile(samples, q)))


def test_summary_of_fixed_samples():
    s = summarize([10, 20, 30, 40, 50])
    assert (s.n, s.mean, s.min, s.max, s.p50) == (5, 30.0, 10.0, 50.0, 30.0)
    assert s.stdev == pytest.approx(math.sqrt(250))   # sample stdev
    assert s.p95 == pytest.approx(48.0) and s.p99 == pytest.approx(49.6)


def test_single_sample_has_zero_spread():
    s = summarize([7.0])
    assert s.stdev == 0.0 and s.p50 == s.p99 == s.mean == 7.0


@pytest.mark.parametrize("bad", [[], None])
def test_empty_sample_is_an_error(bad):
    with pytest.raises((ValueError, TypeError)):
        summarize(bad)


def test_percentile_outside_range_is_an_error():
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 101)


def test_robust_stdev_ignores_one_outlier():
    calm = [0.6, 0.7, 0.8, 0.7, 0.6, 0.8]
    assert robust_stdev(calm) == pytest.approx(1.4826 * 0.1)
    assert robust_stdev([*calm, 38.0]) == pytest.approx(1.4826 * 0.1)
    assert summarize([*calm, 38.0]).stdev > 10
    assert robust_stdev([5.0]) == 0.0 and robust_stdev([]) == 0.0
