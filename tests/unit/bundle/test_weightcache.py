"""Whether the build makes an XNNPACK weight cache, and what it spares from slimming (no I/O)."""

from __future__ import annotations

import pytest

from lambdalite.bundle import slim, weightcache
from lambdalite.lambda_facts import MB

PY = "/usr/bin/python3.12"


@pytest.mark.parametrize(("args", "build", "why"), [
    (("litert", "x86_64", PY, 208 * MB, None, "x86_64"), True, "built on this x86_64 CPU"),
    (("litert", "x86_64", PY, 1 * MB, None, "x86_64"), False, "off: the model is 1.0 MB, under 64 MB"),
    (("litert", "x86_64", PY, 1 * MB, True, "x86_64"), True, "built"),
    (("litert", "x86_64", PY, 208 * MB, False, "x86_64"), False, "off (weight_cache=False)"),
    (("tf", "x86_64", PY, 208 * MB, None, "x86_64"), False, "off: the tf backend has no XNNPACK"),
    (("litert", "arm64", PY, 208 * MB, None, "x86_64"), False,
     "not built: it is built on a CPU of the target's architecture and this machine is x86_64"),
    (("litert", "arm64", PY, 208 * MB, None, "aarch64"), True, "built on this aarch64 CPU"),
    (("litert", "x86_64", None, 208 * MB, None, "x86_64"), False, "not built: no Python"),
])
def test_plan(args, build, why):
    planned = weightcache.plan(*args)
    assert planned.build is build and planned.why.startswith(why)


def test_a_planned_cache_spares_ml_dtypes_from_the_slim_rules():
    rules = slim.rules_for("litert")
    kept = weightcache.rules_for(rules, weightcache.CachePlan(True, "built"))
    patterns = {p for r in kept for p in r.patterns}
    assert not patterns & set(weightcache.KEPT_PATTERNS)
    assert "tqdm" in patterns and "google/protobuf" in patterns   # the rest still goes
    assert weightcache.rules_for(rules, weightcache.CachePlan(False, "off")) == rules
    assert {"ml_dtypes", "ml_dtypes-*.dist-info"} <= {p for r in rules for p in r.patterns}
