from __future__ import annotations

import shutil

import pytest

from lambdalite.bench.pick import Constraints, pick, write_manifest, write_template
from lambdalite.errors import UsageError
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


def test_write_template_sets_every_memory_size(tmp_path, result):
    template = tmp_path / "template.yaml"
    template.write_text("Globals:\n  Function:\n    MemorySize: 512  # MB\nResources:\n"
                        "  Fn:\n    Properties:\n      CodeUri: !Ref X\n      MemorySize: 128\n")
    v = pick(result, Constraints("latency"))
    assert write_template(template, v) == 2
    text = template.read_text()
    assert "MemorySize: 3008  # MB" in text and "MemorySize: 128" not in text
    assert "!Ref X" in text
    (tmp_path / "empty.yaml").write_text("Resources: {}\n")
    with pytest.raises(UsageError, match="MemorySize"):
        write_template(tmp_path / "empty.yaml", v)


def test_write_manifest_sets_default_variant(tmp_path, mnist_model_dir, result):
    shutil.copy(mnist_model_dir / "manifest.json", tmp_path / "manifest.json")
    v = pick(result, Constraints("latency", max_accuracy_drop=1.0))
    write_manifest(tmp_path, v)
    assert Manifest.load(tmp_path).default_variant == "dynamic"


def test_write_manifest_refuses_the_tf_row(tmp_path, mnist_model_dir, result):
    shutil.copy(mnist_model_dir / "manifest.json", tmp_path / "manifest.json")
    from lambdalite.bench.pick import Verdict

    with pytest.raises(UsageError, match="LAMBDALITE_BACKEND=tf"):
        write_manifest(tmp_path, Verdict("tf", 3008, (), ()))
