"""Every template we generate passes cfn-lint (one template per option combination)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from lambdalite.bundle.jobs import lambdalite_function
from lambdalite.sam.lint import lint
from lambdalite.sam.write import write

# Both package types x a covering set of (url, warmup, provisioned): every option and every
# pair of options appears at least once, at 8 cfn-lint runs instead of 16.
OPTION_SETS = [(False, None, None), (True, "rate(5 minutes)", None), (True, None, 2),
               (False, "rate(1 hour)", 3)]
COMBOS = [(package, *opts) for package, opts in itertools.product(["zip", "image"], OPTION_SETS)]


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple, Path]:
    out = tmp_path_factory.mktemp("templates")
    written = {}
    for i, (package, url, warmup, provisioned) in enumerate(COMBOS):
        functions = [
            lambdalite_function(f"Fn{arch.replace('_', '')}", arch=arch, package_type=package,
                                runtime="python3.11" if i % 2 else "python3.12",
                                api_path=f"/classify_digit-{arch}",
                                function_url_auth="AWS_IAM" if url else None,
                                warmup_schedule=warmup, provisioned_concurrency=provisioned)
            for arch in (("x86_64", "arm64") if i % 3 == 0 else ("arm64",))
        ]
        written[(package, url, warmup, provisioned)] = write(out / f"t{i}.yaml", functions)
    return written


@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: "-".join(map(str, c)))
def test_template_passes_cfn_lint(templates, combo):
    assert lint(templates[combo]) == []


def test_cfn_lint_does_catch_errors(tmp_path: Path):
    path = write(tmp_path / "bad.yaml", [lambdalite_function("Fn", memory_mb=64,
                                                             runtime="python2.7")])
    assert lint(path), "cfn-lint accepted MemorySize 64 and runtime python2.7"


def test_a_template_written_through_the_cli_passes_cfn_lint(tmp_path: Path, mnist_model_dir):
    """The CLI path (flags -> template_functions -> write), with every option at once."""
    from click.testing import CliRunner

    from lambdalite.bundle.cli import template

    out = tmp_path / "deploy" / "template.yaml"
    result = CliRunner().invoke(template, [
        "-o", str(out), "--model-dir", str(mnist_model_dir), "--arch", "all", "--package",
        "image", "--name", "Digits", "--api-path", "/predict", "--function-url",
        "--warmup", "cron(0/5 * * * ? *)", "--provisioned-concurrency", "2"])
    assert result.exit_code == 0, result.output
    assert {"Digits", "DigitsArm64"} <= set(out.read_text().replace(":", " ").split())
    assert lint(out) == []


def test_a_snapstart_template_passes_cfn_lint(tmp_path: Path):
    path = write(tmp_path / "snap.yaml", [lambdalite_function("Fn", snapstart=True)])
    assert "ApplyOn: PublishedVersions" in path.read_text() and lint(path) == []
