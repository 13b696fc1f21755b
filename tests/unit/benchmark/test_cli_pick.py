"""`lambdalite bench --from-json ... --pick`: where --write-manifest writes, the limits' ranges."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from lambdalite.benchmark.results import BenchResult
from lambdalite.cli import main
from lambdalite.manifest import Manifest


@pytest.fixture
def model_copy(tmp_path: Path, mnist_model_dir: Path):
    def copy(name: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(mnist_model_dir / "manifest.json", folder / "manifest.json")
        return folder
    return copy


def saved(result: BenchResult, tmp_path: Path, model_dir: Path) -> Path:
    # Another machine's absolute path, or one of this test's folders.
    mnist = replace(result, model="mnist", model_dir=str(model_dir))
    return mnist.save(tmp_path / "bench.json")


def run(tmp_path: Path, *args: str) -> int:
    return main(["bench", "--out", str(tmp_path / "out"), "--pick", "--max-accuracy-drop", "1",
                 *args])


def test_model_option_wins_over_the_jsons_folder(result, tmp_path, model_copy, capsys):
    recorded, chosen = model_copy("recorded"), model_copy("chosen")
    path = saved(result, tmp_path, recorded)
    assert run(tmp_path, "--from-json", str(path), "--model", str(chosen),
               "--write-manifest") == 0
    assert Manifest.load(chosen).default_variant == "dynamic"
    assert Manifest.load(recorded).default_variant != "dynamic"
    assert f"to {chosen / 'manifest.json'} (from --model {chosen})" in capsys.readouterr().out


def test_the_jsons_folder_when_it_exists_here(result, tmp_path, model_copy, capsys):
    recorded = model_copy("recorded")
    path = saved(result, tmp_path, recorded)
    assert run(tmp_path, "--from-json", str(path), "--write-manifest") == 0
    assert Manifest.load(recorded).default_variant == "dynamic"
    assert f"(from the model folder recorded in {path})" in capsys.readouterr().out


def test_a_folder_from_another_machine_is_a_usage_error(result, tmp_path, capsys):
    path = saved(result, tmp_path, Path("/work/elsewhere/examples/mnist/model"))
    assert run(tmp_path, "--from-json", str(path), "--write-manifest") == 2
    err = capsys.readouterr().err
    assert "recorded in" in err and "/work/elsewhere/examples/mnist/model" in err
    assert "has no manifest.json on this machine: pass --model DIR" in err


def test_another_models_folder_is_refused(result, tmp_path, model_copy, capsys):
    folder = model_copy("other")
    path = replace(result, model_dir=str(folder)).save(tmp_path / "bench.json")  # model "fixed"
    assert run(tmp_path, "--from-json", str(path), "--write-manifest") == 2
    assert "holds model 'mnist', but the benchmark measured 'fixed'" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "value"), [("--max-accuracy-drop", "-1"), ("--max-size", "0")])
def test_limits_below_their_range_are_usage_errors(result, tmp_path, flag, value, capsys):
    path = result.save(tmp_path / "bench.json")
    assert main(["bench", "--from-json", str(path), "--pick", flag, value]) == 2
    assert f"Invalid value for '{flag}'" in capsys.readouterr().err


def test_function_needs_write_template(result, tmp_path, capsys):
    path = result.save(tmp_path / "bench.json")
    assert main(["bench", "--from-json", str(path), "--pick", "--function", "Fn"]) == 2
    assert "--function names the function of --write-template" in capsys.readouterr().err
