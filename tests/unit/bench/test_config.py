from __future__ import annotations

import pytest

from lambdalite.bench.config import (
    DEFAULT_MEMORY,
    FULL,
    QUICK,
    QUICK_TF_SKIP,
    make_config,
    parse_memory,
    parse_variants,
)
from lambdalite.errors import UsageError


def test_full_defaults():
    c = make_config()
    assert (c.cold_starts, c.warm, c.warmup) == (FULL.cold_starts, FULL.warm, FULL.warmup)
    assert c.memory_sizes == DEFAULT_MEMORY == (1024, 3008)
    assert c.backends == ("litert", "tf") and c.variants is None
    assert c.runtime == "python3.11" and c.notes == ()


def test_quick_is_small_and_says_why_tf_is_skipped():
    c = make_config(quick=True)
    assert (c.cold_starts, c.warm, c.warmup) == (QUICK.cold_starts, QUICK.warm, QUICK.warmup)
    assert c.memory_sizes == (1024,)
    assert c.backends == ("litert",) and c.notes == (QUICK_TF_SKIP,)


def test_quick_keeps_tf_when_asked_for_explicitly():
    c = make_config(quick=True, variants="float32,tf")
    assert c.backends == ("litert", "tf") and c.variants == ("float32",) and not c.notes


def test_explicit_values_win_over_the_mode():
    c = make_config(quick=True, cold=2, warm=7, warmup=0, memory="512")
    assert (c.cold_starts, c.warm, c.warmup, c.memory_sizes) == (2, 7, 0, (512,))


def test_parse_variants():
    assert parse_variants(None) == (None, ("litert", "tf"))
    assert parse_variants("all") == (None, ("litert", "tf"))
    assert parse_variants("int8, float32") == (("float32", "int8"), ("litert",))
    assert parse_variants("tf") == ((), ("tf",))
    with pytest.raises(UsageError, match="bfloat"):
        parse_variants("float32,bfloat")


def test_parse_memory():
    assert parse_memory("1024,3008,1024") == (1024, 3008)
    for bad in ("64", "1024,20000", "big", ""):
        with pytest.raises(UsageError, match="--memory"):
            parse_memory(bad)


@pytest.mark.parametrize("kwargs, flag", [
    ({"cold": 0}, "--cold"), ({"warm": 0}, "--warm"), ({"warmup": -1}, "--warmup"),
    ({"runtime": "python2.7"}, "--runtime"), ({"cold_fraction": 2.0}, "--cold-fraction"),
    ({"timeout_s": 0}, "--timeout"),
])
def test_bad_values_name_the_flag(kwargs, flag):
    with pytest.raises(UsageError, match=flag):
        make_config(**kwargs)


def test_settings_are_json_ready():
    import json

    assert json.loads(json.dumps(make_config(quick=True).settings()))["quick"] is True
