from __future__ import annotations

import shutil

import pytest

from lambdalite.bench.pick import Constraints, Verdict, pick, write_manifest, write_template
from lambdalite.errors import UsageError
from lambdalite.local.cfn import load_yaml
from lambdalite.manifest import Manifest


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
    doc = load_yaml(template.read_text(), "t")
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
    doc = load_yaml(template.read_text(), "t")["Resources"]
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
