"""``lambdalite local soak``: the fuzz, load, fault and hostile-client figures, re-run.

    from lambdalite.local.soak import SoakOptions, run_soak
    report = run_soak(SoakOptions(model_dir=..., digits_dir=...))
    print(report.render()); assert report.ok

Servers are started on 127.0.0.1 (port 0); every phase is seeded and bounded in count and time.
docs/RELIABILITY.md holds a run's table and what each row means.
"""

from lambdalite.local.soak.report import Row, SoakReport
from lambdalite.local.soak.run import SoakOptions, run_soak

__all__ = ["Row", "SoakOptions", "SoakReport", "run_soak"]
