"""``lambdalite.build``'s pure parts: one function -> a package per arch, the digests, the
fallback decisions, the partial-failure error and the template of what built."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from lambdalite.bundle.api import PackageOptions, _fallback, _newer_runtime
from lambdalite.bundle.builds import BuildOutcome, PackageOutcome, build
from lambdalite.bundle.errors import GlibcTooNew, InstallFailed, PackageTooLarge
from lambdalite.bundle.jobs import jobs_for
from lambdalite.bundle.options import BuildOptions
from lambdalite.errors import ModelError, OptionError
from lambdalite.examples import stegastamp_example
from lambdalite.examples.stegastamp import API_PATH
from lambdalite.manifest import Manifest

X86, ARM = "sha256:" + "a" * 64, "sha256:" + "b" * 64


@pytest.fixture
def options(mnist_model_dir: Path, tmp_path: Path) -> BuildOptions:
    return BuildOptions(model_dir=mnist_model_dir, out_dir=tmp_path, runtime="python3.11",
                        archs=("x86_64", "arm64"))


def packages(options: BuildOptions) -> tuple[PackageOptions, ...]:
    return tuple(job.options for job in jobs_for(options))


def test_one_package_per_arch_with_the_functions_settings(options: BuildOptions):
    x86, arm = packages(options)
    assert (x86.arch, arm.arch) == ("x86_64", "arm64")
    assert replace(arm, arch="x86_64") == x86
    assert x86.runtime == "python3.11" and not x86.image_fallback and not x86.runtime_fallback


@pytest.mark.parametrize("archs", [(), ("x86_64", "x86_64"), ("all",), ("ppc64le",)])
def test_bad_archs_name_the_field(options: BuildOptions, archs: tuple[str, ...]):
    with pytest.raises(OptionError, match="^archs"):
        build(replace(options, archs=archs))


def test_dry_run_plans_each_arch_and_writes_nothing(options: BuildOptions, tmp_path: Path):
    outcome = build(replace(options, package_type="image", dry_run=True,
                            base_image_digests={"x86_64": X86, "arm64": ARM}))
    assert [p.options.base_image_digest for p in outcome.plans] == [X86, ARM]
    assert outcome.packages == () and outcome.template is None and outcome.failure() is None
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("change, message", [
    ({"package_type": "image", "base_image_digest": X86},
     "one base_image_digest for arm64 and x86_64: the base image's digest differs per "
     "architecture; pass base_image_digests arm64=sha256:... base_image_digests x86_64="),
    ({"base_image_digests": {"x86_64": X86}}, "InferenceFunction (x86_64) builds a zip: pass "
                                              "package_type image"),
    ({"archs": ("x86_64",), "package_type": "image", "base_image_digests": {"arm64": ARM}},
     "base_image_digests arm64=...: nothing is built for arm64"),
    ({"archs": ("x86_64",), "package_type": "image", "base_image_digest": "latest"},
     "base_image_digest 'latest' must look like sha256:<64 hex digits>"),
])
def test_digest_mistakes_are_option_errors(options: BuildOptions, change: dict, message: str):
    with pytest.raises(OptionError) as err:
        build(replace(options, dry_run=True, **change))
    assert message in err.value.message


def test_the_api_path_is_the_flags_else_the_manifests_else_lambdalites(
        options: BuildOptions, tmp_path: Path):
    def path(o: BuildOptions) -> str | None:
        return jobs_for(replace(o, archs=("x86_64",)))[0].function.events[0].path

    assert path(options) == "/classify_digit"            # the MNIST manifest names none
    decoder = tmp_path / "decoder"
    shutil.copytree(options.model_dir, decoder)          # type: ignore[arg-type]
    manifest = Manifest.load(decoder)
    manifest._replace(api_path="/decode").save(decoder)
    assert path(replace(options, model_dir=decoder)) == "/decode"
    assert path(replace(options, model_dir=decoder, api_path="/v2/decode")) == "/v2/decode"
    assert path(replace(options, model_dir=stegastamp_example() / "model")) == API_PATH
    manifest._replace(api_path="decode").save(decoder)   # a hand edit the schema would refuse
    with pytest.raises(ModelError, match="api_path 'decode' is not an API path"):
        path(replace(options, model_dir=decoder))
    assert path(replace(options, model_dir=decoder, api_path="/given")) == "/given"


def test_the_template_names_the_second_arch_and_shows_what_was_built(options: BuildOptions):
    x86, arm = jobs_for(options)
    fallback = replace(arm.options, package_type="image", runtime="python3.12")
    first, second = x86.as_built(x86.options), arm.as_built(fallback)
    assert (first.logical_id, first.events[0].path) == ("InferenceFunction", "/classify_digit")
    assert (second.logical_id, second.events[0].path) == ("InferenceFunctionArm64",
                                                          "/classify_digit-arm64")
    assert (second.package_type, second.runtime, second.docker_context) == (
        "Image", "python3.12", "./image-arm64")
    assert second.code_uri is None and second.model_dir == first.model_dir is not None


def test_a_partial_failure_names_what_built_and_why_the_other_failed(options: BuildOptions):
    x86, arm = packages(options)
    err = GlibcTooNew("no ai-edge-litert release fits python3.11 arm64")
    outcome = BuildOutcome((), (PackageOutcome(x86, result=None, error=None),
                                PackageOutcome(arm, error=err)), Path("build/template.yaml"))
    failure = outcome.failure()
    assert failure is not None and failure.exit_code == 5
    assert failure.message == (
        "built InferenceFunction python3.11 x86_64 (template.yaml has only that); "
        "InferenceFunction python3.11 arm64 failed: no ai-edge-litert release fits python3.11 "
        "arm64")
    with pytest.raises(GlibcTooNew):
        outcome.result("arm64")
    alone = BuildOutcome((), (PackageOutcome(arm, error=err),))
    assert alone.failure() is err                   # one package: its own error, as is


def test_fallbacks_only_where_allowed_and_only_for_their_error(tmp_path: Path):
    zip_ = PackageOptions(model_dir=tmp_path, out_dir=tmp_path, runtime="python3.11",
                          arch="arm64")
    too_large = PackageTooLarge("too large", reason="makes the package 300.0 MB unzipped")
    glibc = GlibcTooNew("too new", reason="needs GLIBC_2.29, python3.11 arm64 has 2.26")
    assert _fallback(zip_, too_large) is None       # not allowed: an explicit choice
    assert _fallback(zip_, glibc) is None
    allowed = replace(zip_, image_fallback=True, runtime_fallback=True)
    image, why = _fallback(allowed, too_large) or (None, "")
    assert image is not None and image.package_type == "image" and "300.0 MB" in why
    newer, why = _fallback(allowed, glibc) or (None, "")
    assert newer is not None and newer.runtime == "python3.12" and "2.26" in why
    assert _fallback(allowed, InstallFailed("pip failed")) is None
    assert _fallback(replace(allowed, package_type="image"), too_large) is None
    assert _fallback(replace(allowed, runtime="python3.12"), glibc) is None   # newest glibc
    assert (_newer_runtime("python3.11"), _newer_runtime("python3.13")) == ("python3.12", None)


def test_a_template_and_the_same_options_plan_the_same_packages(options: BuildOptions,
                                                                 tmp_path: Path):
    """The flags path and the --template path reach the one ``build``: a template written for
    options builds as those options do; an option set wins over the template."""
    from lambdalite.bundle.jobs import template_functions
    from lambdalite.sam.write import write

    path = tmp_path / "t.yaml"
    write(path, template_functions(replace(options, archs=("arm64",), memory_mb=2048), tmp_path))
    flags = build(replace(options, archs=("arm64",), memory_mb=2048, dry_run=True))
    from_template = build(BuildOptions(template=path, out_dir=options.out_dir, dry_run=True))
    assert [p.describe() for p in from_template.plans] == [p.describe() for p in flags.plans]
    assert [p.options.memory_mb for p in from_template.plans] == [2048]
    over = build(BuildOptions(template=path, out_dir=tmp_path, memory_mb=3008, dry_run=True))
    assert [p.options.memory_mb for p in over.plans] == [3008]


@pytest.mark.parametrize("change, message", [
    ({"model_dir": None}, "give model_dir (made by `lambdalite convert`) or template"),
    ({"function": "Fn"}, "function selects a function of template: give template too"),
    ({"template": Path("t.yaml"), "archs": ("x86_64", "arm64")},
     "archs x86_64, arm64 with template: set Architectures per function"),
])
def test_what_to_build_mistakes_name_the_fields(options: BuildOptions, change: dict,
                                                message: str, tmp_path: Path):
    if "template" in change:
        change["template"] = tmp_path / "t.yaml"
        change["template"].write_text("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                                      "    Properties: {Runtime: python3.12}\n")
    with pytest.raises(OptionError) as err:
        build(replace(options, dry_run=True, **change))
    assert message in err.value.message
