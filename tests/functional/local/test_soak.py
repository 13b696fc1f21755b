"""`lambdalite local soak` in small: every phase runs (fuzz, load, faults, hostile clients) with
few inputs and short timeouts, and every row of its table passes. The full run's table is in
docs/RELIABILITY.md."""

from __future__ import annotations

import pytest

from lambdalite.examples import mnist_example
from lambdalite.local.soak import SoakOptions, run_soak

pytestmark = pytest.mark.timeout(300)


def test_a_small_soak_passes_every_check() -> None:
    example = mnist_example()
    options = SoakOptions(model_dir=example / "model", digits_dir=example / "digits", seed=7,
                          fuzz=48, calls=64, concurrency=4, idle_connections=40,
                          read_timeout_s=0.5, idle_timeout_s=1.0, time_limit_s=120)
    report = run_soak(options)
    table = report.render()
    assert report.ok, table
    checks = {row.check for row in report.rows}
    assert {"environments killed by client input", "5xx for client errors",
            "lost or wrong answers", "Runtime API takeover from another process refused",
            "start-api: connections held past the read/idle timeout"} <= checks, table
    assert "| fuzz | inputs through start-api" in table and "settings: seed=7" in table
