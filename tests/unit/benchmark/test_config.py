from __future__ import annotations

import json

import pytest

from lambdalite.benchmark.cli import bench, parse_memory, parse_variants
from lambdalite.benchmark.config import (
    DEFAULT_MEMORY,
    FULL,
    QUICK,
    QUICK_TF_SKIP,
    BenchOptions,
    config_for,
)
from lambdalite.cli import ApiCommand
from lambdalite.errors import OptionError, UsageError


def test_full_defaults():
    c = config_for(BenchOptions())
    assert (c.cold_starts, c.warm, c.warmup) == (FULL.cold_starts, FULL.warm, FULL.warmup)
    assert c.memory_sizes == DEFAULT_MEMORY == (1024, 3008)
    assert c.backends == ("litert", "tf", "onnxruntime") and c.variants is None
    assert c.runtime == "python3.11" and c.notes == ()


def test_quick_is_small_and_says_why_tf_is_skipped():
    c = config_for(BenchOptions(quick=True))
    assert (c.cold_starts, c.warm, c.warmup) == (QUICK.cold_starts, QUICK.warm, QUICK.warmup)
    assert c.memory_sizes == (1024,)
    assert c.backends == ("litert", "onnxruntime") and c.notes == (QUICK_TF_SKIP,)


def test_quick_keeps_tf_when_asked_for_explicitly():
    c = config_for(BenchOptions(quick=True, variants=("float32", "tf")))
    assert c.backends == ("litert", "tf") and c.variants == ("float32",) and not c.notes


def test_explicit_values_win_over_the_mode():
    c = config_for(BenchOptions(quick=True, cold_starts=2, warm=7, warmup=0, memory_sizes=(512,)))
    assert (c.cold_starts, c.warm, c.warmup, c.memory_sizes) == (2, 7, 0, (512,))


def test_rows_split_into_variants_and_backends():
    assert config_for(BenchOptions(variants=("int8", "float32"))).variants == ("float32", "int8")
    tf_only = config_for(BenchOptions(variants=("tf",)))
    assert (tf_only.variants, tf_only.backends) == ((), ("tf",))
    mixed = config_for(BenchOptions(variants=("onnx_dynamic", "tf", "dynamic")))
    assert (mixed.variants, mixed.backends) == (("dynamic", "onnx_dynamic"),
                                                ("litert", "tf", "onnxruntime"))
    assert config_for(BenchOptions(memory_sizes=(1024, 3008, 1024))).memory_sizes == (1024, 3008)


def test_the_cli_parses_its_strings():
    assert parse_variants(None) is None and parse_variants("all") is None
    assert parse_variants("int8, float32") == ("int8", "float32")
    with pytest.raises(UsageError, match="--variants 'float32,bfloat'"):
        parse_variants("float32,bfloat")
    assert parse_memory("1024,3008") == (1024, 3008) and parse_memory(None) is None
    with pytest.raises(UsageError, match="--memory 'big'"):
        parse_memory("big")


@pytest.mark.parametrize("options, field, flag", [
    ({"cold_starts": 0}, "cold_starts", "--cold"), ({"warm": 0}, "warm", "--warm"),
    ({"warmup": -1}, "warmup", "--warmup"), ({"runtime": "python2.7"}, "runtime", "--runtime"),
    ({"cold_fraction": 2.0}, "cold_fraction", "--cold-fraction"),
    ({"timeout_s": 0}, "timeout_s", "--timeout"), ({"variants": ("bfloat",)}, "variants",
                                                   "--variants"),
    ({"memory_sizes": (64,)}, "memory_sizes", "--memory"),
])
def test_bad_values_name_the_option_and_the_cli_shows_its_flag(options, field, flag):
    """The API's error names its field; `lambdalite bench` shows the flag that sets it."""
    with pytest.raises(OptionError) as err:
        config_for(BenchOptions(**options))
    assert err.value.message.startswith(field) or f" {field}" in err.value.message
    assert flag not in err.value.message
    assert isinstance(bench, ApiCommand)
    assert flag in err.value.renamed(bench.flags()).message


def test_settings_are_json_ready():
    assert json.loads(json.dumps(config_for(BenchOptions(quick=True)).settings()))["quick"] is True
