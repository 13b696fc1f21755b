from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from lambdalite.benchmark.pick import Constraints, Verdict, pick
from lambdalite.benchmark.results import CellResult, ColdSample, WarmSample
from lambdalite.benchmark.writeback import write_manifest, write_template
from lambdalite.errors import UsageError
from lambdalite.manifest import Manifest
from lambdalite.sam.decode import decode


def test_latency_picks_the_fastest_warm_variant(result):
    v = pick(result, Constraints("latency"))
    assert (v.row, v.memory_mb) == ("int8", 3008)
    assert "lowest warm p50" in v.reasons[0]
    assert any(r.startswith("tf @ 1024 MB: it did not run cleanly") for r in v.rejected)


def test_accuracy_limit_rejects_lossy_variants(result):
    v = pick(result, Constraints("latency", max_accuracy_drop=1.0))
    assert (v.row, v.memory_mb) == ("dynamic", 3008)
    assert any("int8" in r and "loses 3.00 accuracy points" in r for r in v.rejected)


def test_cost_objective_prefers_cheap_memory(result):
    v = pick(result, Constraints("cost", max_accuracy_drop=1.0))
    assert (v.row, v.memory_mb) == ("dynamic", 1024)
    assert "cheapest" in v.reasons[0] and "runner-up" in v.reasons[-1]


def test_size_objective_and_size_limit(result):
    v = pick(result, Constraints("size", max_accuracy_drop=1.0, max_size_mb=200))
    assert v.row == "dynamic"
    assert any("float32" in r and "limit 200 MB" in r for r in v.rejected)


def test_no_candidate_is_a_usage_error(result):
    with pytest.raises(UsageError, match="no variant meets"):
        pick(result, Constraints("latency", max_size_mb=1))


def only(result, memory=3008, **warm):
    """The fixture's rows with just these cells: row -> warm samples (one cold start each)."""
    return replace(result, cells=tuple(
        CellResult(row, memory, (ColdSample(300, 90, 400, 100),),
                   tuple(WarmSample(w, w + 1, 105) for w in samples))
        for row, samples in warm.items()))


def test_within_five_percent_is_a_tie_broken_by_accuracy(result):
    # int8 is 3% faster but loses 3 points: a tie, float32 (no drop) wins.
    v = pick(only(result, float32=[100] * 4, int8=[97] * 4), Constraints("latency"))
    assert v.row == "float32"
    assert v.reasons[0].startswith("it ties for lowest warm p50 (100 ms; lowest 97.0 ms) "
                                   "with int8 @ 3008 MB (97.0 ms)")
    assert "broken by the smaller accuracy drop, then the smaller package" in v.reasons[1]


def test_within_one_combined_stdev_is_a_tie(result):
    # 14% apart, but float32's samples spread ~18 ms: noise, not a difference.
    noisy = only(result, float32=[90, 100, 120, 130], int8=[95, 96, 97, 98])
    assert pick(noisy, Constraints("latency")).row == "float32"
    clear = only(result, float32=[150, 151, 152, 153], int8=[95, 96, 97, 98])
    v = pick(clear, Constraints("latency"))
    assert v.row == "int8" and v.reasons[0].startswith("it is the lowest warm p50 (96.5 ms)")
    assert "runner-up: float32 @ 3008 MB" in v.reasons[-1]
    # One hiccup does not turn a 2x difference into noise (the spread is MAD-based).
    hiccup = only(result, float32=[100, 100, 101, 102, 1000], int8=[50, 50, 51, 52, 50])
    assert pick(hiccup, Constraints("latency")).row == "int8"


def test_equal_drops_tie_goes_to_the_smaller_package(result):
    rows = tuple(replace(r, accuracy_drop_points=0.5) if r.row in ("float32", "dynamic") else r
                 for r in result.rows)
    tied = replace(only(result, float32=[50] * 4, dynamic=[51] * 4), rows=rows)
    v = pick(tied, Constraints("latency"))
    assert v.row == "dynamic"          # 150 MB against float32's 300 MB


def test_cost_ties_use_the_warm_spread_too(result):
    v = pick(only(result, int8=[100] * 4, dynamic=[90, 100, 110, 120]), Constraints("cost"))
    assert v.row == "dynamic" and v.reasons[0].startswith("it ties for cheapest")


def test_negative_accuracy_drop_is_refused(result):
    with pytest.raises(UsageError, match="--max-accuracy-drop -1 is negative"):
        pick(result, Constraints("latency", max_accuracy_drop=-1))
    with pytest.raises(UsageError, match="--max-size 0 must be more than 0 MB"):
        pick(result, Constraints("latency", max_size_mb=0))


def test_the_tf_row_is_named_the_reference(result):
    v = pick(result, Constraints("latency", max_accuracy_drop=0))
    assert v.row == "float32"
    assert any("tf (the original model on TensorFlow, the reference) was considered" in r
               for r in v.reasons)
    fast_tf = only(result, tf=[10, 11, 12, 13], float32=[100] * 4)
    v = pick(fast_tf, Constraints("latency", max_accuracy_drop=0))
    assert v.row == "tf"
    assert any(r.startswith("tf is the original model on TensorFlow, the reference") and
               "the accuracy limit does not apply to it" in r for r in v.reasons)
    assert not any("unknown" in r for r in v.reasons)


TEMPLATE = """\
Globals:
  Function:
    MemorySize: 512  # MB
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: !Ref X
      MemorySize: 128
      Environment:
        Variables:
          LAMBDALITE_VARIANT: float32
  Other:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: code/
  Bucket:
    Type: AWS::S3::Bucket
"""


def test_write_template_sets_memory_and_variant_of_every_function(tmp_path, result):
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)
    v = pick(result, Constraints("latency"))
    change = write_template(template, v)
    assert change.functions == ("Fn", "Other")
    assert change.values == {"MemorySize": "3008", "LAMBDALITE_BACKEND": "litert",
                             "LAMBDALITE_VARIANT": "int8"}
    doc = decode(template.read_text(), "t")
    for name in ("Fn", "Other"):
        props = doc["Resources"][name]["Properties"]
        assert props["MemorySize"] == 3008
        assert props["Environment"]["Variables"] == {"LAMBDALITE_BACKEND": "litert",
                                                     "LAMBDALITE_VARIANT": "int8"}
    assert "CodeUri: !Ref X" in template.read_text() and "MemorySize: 512  # MB" in TEMPLATE
    assert doc["Resources"]["Bucket"] == {"Type": "AWS::S3::Bucket"}


def test_write_template_one_function_and_the_tf_row(tmp_path):
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)
    change = write_template(template, Verdict("tf", 1024, (), ()), "Fn")
    assert change.functions == ("Fn",) and "LAMBDALITE_VARIANT" not in change.values
    doc = decode(template.read_text(), "t")["Resources"]
    # tf: the original model on TensorFlow; the variant is left as it was.
    assert doc["Fn"]["Properties"]["Environment"]["Variables"] == {
        "LAMBDALITE_BACKEND": "tf", "LAMBDALITE_VARIANT": "float32"}
    assert "MemorySize" not in doc["Other"]["Properties"]
    with pytest.raises(UsageError, match=r"no AWS::Serverless::Function named 'Nope' "
                                         r"\(it has Fn, Other\)"):
        write_template(template, Verdict("tf", 1024, (), ()), "Nope")
    (tmp_path / "empty.yaml").write_text("Resources:\n  B:\n    Type: AWS::S3::Bucket\n")
    with pytest.raises(UsageError, match="no AWS::Serverless::Function resource"):
        write_template(tmp_path / "empty.yaml", Verdict("tf", 1024, (), ()))


def test_write_manifest_sets_default_variant(tmp_path, mnist_model_dir, result):
    shutil.copy(mnist_model_dir / "manifest.json", tmp_path / "manifest.json")
    v = pick(result, Constraints("latency", max_accuracy_drop=1.0))
    write_manifest(tmp_path, v)
    assert Manifest.load(tmp_path).default_variant == "dynamic"


def test_write_manifest_refuses_the_tf_row(tmp_path, mnist_model_dir, result):
    shutil.copy(mnist_model_dir / "manifest.json", tmp_path / "manifest.json")
    with pytest.raises(UsageError, match="LAMBDALITE_BACKEND=tf"):
        write_manifest(tmp_path, Verdict("tf", 3008, (), ()))
