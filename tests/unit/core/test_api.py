"""The public Python API: what ``import lambdalite`` offers, lazily, and its typed options."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

import lambdalite
from lambdalite.cli import ApiCommand
from lambdalite.errors import OptionError, UsageError

API = ("convert", "evaluate", "build", "LocalLambda", "bench", "predict")
OPTIONS = ("ConvertOptions", "EvaluateOptions", "BuildOptions", "BenchOptions")


def test_all_lists_every_export_and_each_resolves():
    assert set(lambdalite.__all__) == {"__version__", *lambdalite._EXPORTS}
    assert len(lambdalite.__all__) == len(set(lambdalite.__all__))
    for name in lambdalite.__all__:
        assert getattr(lambdalite, name) is not None, name
    assert {*API, *OPTIONS} <= set(lambdalite.__all__)
    assert set(lambdalite.__all__) <= set(dir(lambdalite))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = lambdalite.nope  # type: ignore[attr-defined]


def test_options_are_frozen_dataclasses():
    for name in OPTIONS:
        cls = getattr(lambdalite, name)
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, name


def test_import_lambdalite_stays_light():
    """The Lambda package ships lambdalite/__init__.py: importing it (and reading its version)
    must pull in none of the CLI's dependencies, nor numpy."""
    code = ("import sys, lambdalite; lambdalite.__version__; "
            "print(','.join(m for m in ('click', 'rich', 'yaml', 'numpy', 'lambdalite.conversion',"
            " 'lambdalite.bundle', 'lambdalite.benchmark', 'lambdalite.local', 'lambdalite.sam')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_the_verbs_are_plain_functions_whatever_was_imported_before():
    """``lambdalite.convert`` / ``bench`` are the pipeline's functions, not the packages that
    hold them (``conversion/``, ``benchmark/``: importing those leaves the verbs alone)."""
    import types

    import lambdalite.benchmark.runner
    import lambdalite.conversion.pipeline
    import lambdalite.prediction.api

    assert lambdalite.convert is lambdalite.conversion.pipeline.convert
    assert lambdalite.bench is lambdalite.benchmark.runner.bench
    assert lambdalite.predict is lambdalite.prediction.api.predict
    for verb in (lambdalite.convert, lambdalite.evaluate, lambdalite.build, lambdalite.bench,
                 lambdalite.predict):
        assert isinstance(verb, types.FunctionType), verb
    with pytest.raises(UsageError, match="does not exist"):
        lambdalite.convert(lambdalite.ConvertOptions(model=Path("/nonexistent"), out=Path("o")))


def test_option_errors_name_api_fields_and_the_cli_shows_flags():
    err = OptionError("{int8_io} must be one of int8, uint8; see {variants}")
    assert err.message == "int8_io must be one of int8, uint8; see variants"
    assert err.options == ("int8_io", "variants")
    shown = err.renamed({"int8_io": "--int8-io"})
    assert shown.message == "--int8-io must be one of int8, uint8; see variants"
    assert isinstance(shown, UsageError) and shown.exit_code == 2 and str(shown) == shown.message
    assert err.message.startswith("int8_io")   # the original is left as it was


def test_the_convert_command_maps_the_api_fields_to_its_flags():
    from lambdalite.conversion.cli import convert

    assert isinstance(convert, ApiCommand)
    flags = convert.flags()
    assert (flags["int8_io"], flags["variants"], flags["labels"], flags["model"]) == (
        "--int8-io", "--variants", "--labels", "MODEL")


def test_bench_options_errors_are_option_errors(tmp_path: Path):
    with pytest.raises(OptionError, match="^cold_starts must be at least 1"):
        lambdalite.bench(lambdalite.BenchOptions(cold_starts=0, out=tmp_path))
    with pytest.raises(OptionError, match="^model 'nowhere' is neither mnist, stegastamp, large nor"):
        lambdalite.bench(lambdalite.BenchOptions(model="nowhere", out=tmp_path))
    assert not any(tmp_path.iterdir())


def test_evaluate_options_write_unless_limited(tmp_path: Path):
    opts = lambdalite.EvaluateOptions(model_dir=tmp_path, data=tmp_path / "d.npz")
    assert opts.writes and not dataclasses.replace(opts, limit=5).writes
    assert dataclasses.replace(opts, limit=5, write=True).writes
    with pytest.raises(OptionError, match="^threads must be at least 1"):
        lambdalite.evaluate(dataclasses.replace(opts, threads=0))


def test_the_bundled_mnist_example_is_package_data():
    from lambdalite.benchmark.models import resolve_model
    from lambdalite.examples import mnist_example

    folder = mnist_example()
    assert folder.parent == Path(lambdalite.__file__).parent / "examples"
    assert resolve_model("mnist") == folder / "model"
    assert json.loads((folder / "events" / "event.json").read_text())["isBase64Encoded"]


def test_lambdalite_init_imports_only_the_standard_library_at_run_time():
    """The Lambda package ships lambdalite/__init__.py: outside ``if TYPE_CHECKING:`` (what
    type checkers read) it imports the standard library alone."""
    import ast

    tree = ast.parse(Path(lambdalite.__file__).read_text())
    body = [n for n in tree.body
            if not (isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")]
    names = {a.name for n in body for sub in ast.walk(n) if isinstance(sub, ast.Import)
             for a in sub.names}
    names |= {sub.module or "" for n in body for sub in ast.walk(n)
              if isinstance(sub, ast.ImportFrom)}
    assert names and all(n.split(".")[0] in (*sys.stdlib_module_names, "__future__")
                         for n in names), names
