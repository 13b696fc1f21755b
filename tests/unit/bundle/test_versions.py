"""Version stepping (versions.fit) with a fake installer/checker and screen: no network."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from lambdalite.bundle import versions
from lambdalite.bundle.errors import CheckFailed, GlibcTooNew, LibstdcxxTooNew, PackageTooLarge
from lambdalite.bundle.targets import Target

LITERT = ["2.3.0", "2.2.0", "2.1.6", "2.1.0", "2.0.3", "1.4.0"]
CXX = "needs GLIBCXX_3.4.30, python3.12 arm64 (Amazon Linux 2023) has GLIBCXX_3.4.29"
RUNTIME_FIX = "use --runtime python3.12 (Amazon Linux 2023, glibc 2.34)"


def _cxx_error(version: str) -> LibstdcxxTooNew:
    err = LibstdcxxTooNew("long message", package="ai_edge_litert", reason=CXX)
    err.version = version
    return err


class FakeBuild:
    """Installs the requirements "for the target"; fails the checks per a table of versions."""

    def __init__(self, fails: dict[str, CheckFailed], newest: str = "2.3.0") -> None:
        self.fails, self.newest, self.calls = fails, newest, []

    def __call__(self, reqs: tuple[str, ...]) -> str:
        self.calls.append(reqs)
        pins = [r.split("==")[1] for r in reqs if r.startswith("ai-edge-litert==")]
        version = pins[-1] if pins else self.newest
        if version in self.fails:
            raise self.fails[version]
        return version


def _fit(build, *, screen=lambda n, v: None, pinned=frozenset(), listed=LITERT, cap=10):
    listed_calls: list[str] = []

    def lister(name):
        listed_calls.append(name)
        return listed

    result = versions.fit(("numpy", "pillow", "ai-edge-litert"), build, pinned=pinned,
                          versions=lister, screen=screen, target_label="python3.12 arm64",
                          max_candidates=cap)
    return (*result, listed_calls)


def test_newest_that_passes_needs_no_stepping():
    build = FakeBuild({})
    result, picks, listed = _fit(build)
    assert result == "2.3.0" and picks == () and listed == []
    assert build.calls == [("numpy", "pillow", "ai-edge-litert")]


def test_steps_down_past_screen_rejections_and_says_why():
    def screen(name, version):
        assert name == "ai-edge-litert"
        return LibstdcxxTooNew("x", reason=CXX) if version.startswith(("2.2", "2.1.6")) else None

    build = FakeBuild({"2.3.0": _cxx_error("2.3.0")})
    result, (pick,), listed = _fit(build, screen=screen)
    assert result == "2.1.0" and listed == ["ai-edge-litert"]
    assert build.calls[-1][-1] == "ai-edge-litert==2.1.0" and len(build.calls) == 2
    assert [r.version for r in pick.rejected] == ["2.3.0", "2.2.0", "2.1.6"]
    assert pick.note() == f"ai-edge-litert 2.3.0, 2.2.0, 2.1.6 {CXX} -> picked 2.1.0"


def test_a_candidate_that_fails_the_full_build_is_rejected_too():
    glibc = GlibcTooNew("g", package="ai-edge-litert", reason="needs GLIBC_2.35")
    build = FakeBuild({"2.3.0": _cxx_error("2.3.0"), "2.2.0": glibc})
    result, (pick,), _ = _fit(build)
    assert result == "2.1.6"
    assert [(r.version, r.reason) for r in pick.rejected] == [("2.3.0", CXX),
                                                             ("2.2.0", "needs GLIBC_2.35")]


def test_a_too_large_model_after_a_pick_is_not_blamed_on_the_package():
    """2.1.0 fits the runtime, but model + dependencies are over 250 MB: the size error is
    raised as is (it names the model), no older release is screened or built."""
    too_big = PackageTooLarge("unzipped package is 300.0 MB (model 210.0 MB, ...)",
                              reason="makes the package 300.0 MB unzipped", fix="image")
    screened: list[str] = []

    def screen(name, version):
        screened.append(version)
        return None if version == "2.1.0" else LibstdcxxTooNew("x", reason=CXX)

    build = FakeBuild({"2.3.0": _cxx_error("2.3.0"), "2.1.0": too_big})
    with pytest.raises(PackageTooLarge) as got:
        _fit(build, screen=screen)
    assert got.value is too_big
    assert screened == ["2.2.0", "2.1.6", "2.1.0"]       # 2.0.3 and 1.4.0 never tried
    assert [r[-1] for r in build.calls] == ["ai-edge-litert", "ai-edge-litert==2.1.0"]


def test_user_pinned_package_is_never_stepped():
    err = _cxx_error("2.3.0")
    with pytest.raises(LibstdcxxTooNew) as got:
        _fit(FakeBuild({"2.3.0": err}), pinned=frozenset({"ai-edge-litert"}))
    assert got.value is err


def test_failure_without_a_culprit_is_raised_unchanged():
    """The TF-as-zip case: too large, no package being stepped -> the plain size error."""
    err = PackageTooLarge("unzipped package is 1.2 GB ...")
    with pytest.raises(PackageTooLarge) as got:
        _fit(FakeBuild({"2.3.0": err}))
    assert got.value is err


def test_none_fits_lists_every_candidate_and_the_runtime_fix():
    def screen(name, version):
        return GlibcTooNew("x", reason=f"needs GLIBC_2.{30 - len(version)}", fix=RUNTIME_FIX)

    first = GlibcTooNew("long", package="ai-edge-litert", reason="needs GLIBC_2.30",
                        fix=RUNTIME_FIX)
    first.version = "1.4.0"
    with pytest.raises(GlibcTooNew) as got:
        _fit(FakeBuild({"1.4.0": first}, newest="1.4.0"), screen=screen,
             listed=["1.4.0", "1.3.0", "1.2.0", "1.1.2", "1.1.1"], cap=3)
    msg = got.value.message
    assert msg.startswith("no ai-edge-litert release fits python3.12 arm64: 1.4.0 needs GLIBC_2.30;")
    assert "; 1.3.0, 1.2.0, 1.1.2 needs GLIBC_2.25 (1 older" in msg and "1.1.1" not in msg
    assert "(1 older release(s) not tried)" in msg
    assert f"Fix: {RUNTIME_FIX}, or pin a release with --extra-requirement " \
           "'ai-edge-litert==<version>'" in msg
    assert got.value.exit_code == 5


def test_none_fits_because_of_size_is_a_size_error_that_says_use_image():
    def screen(name, version):
        if version == "2.0.3":
            return PackageTooLarge("x", reason="is 288.0 MB unzipped by itself",
                                   fix=versions.IMAGE_FIX)
        return LibstdcxxTooNew("x", reason=CXX)

    with pytest.raises(PackageTooLarge) as got:
        _fit(FakeBuild({"2.3.0": _cxx_error("2.3.0")}), screen=screen,
             listed=["2.3.0", "2.2.0", "2.0.3"])
    msg = got.value.message
    assert "2.2.0 needs GLIBCXX_3.4.30" in msg and "2.0.3 is 288.0 MB unzipped by itself" in msg
    assert "Fix: use --package image (10 GB limit), or pin a release" in msg


def test_two_packages_step_independently():
    """Generic: numpy stepped for glibc, then LiteRT for libstdc++."""
    numpy = GlibcTooNew("n", package="numpy", reason="needs GLIBC_2.28")
    numpy.version = "2.4.0"

    def build(reqs):
        if "numpy==2.3.0" not in reqs:
            raise numpy
        if "ai-edge-litert==2.2.0" not in reqs:
            raise _cxx_error("2.3.0")
        return reqs

    lists = {"numpy": ["2.4.0", "2.3.0"], "ai-edge-litert": LITERT}
    result, picks = versions.fit(("numpy", "ai-edge-litert"), build, pinned=frozenset(),
                                 versions=lambda n: lists[n], screen=lambda n, v: None,
                                 target_label="t")
    assert result[-2:] == ("numpy==2.3.0", "ai-edge-litert==2.2.0")
    assert [(p.name, p.version) for p in picks] == [("numpy", "2.3.0"), ("ai-edge-litert", "2.2.0")]


def test_pinned_names_are_the_double_equals_extras():
    assert versions.pinned(("ai_edge_litert==2.0.3", "Numpy[x] == 1.26", "pillow>=10",
                            "tflite-runtime===2.14.0")) == {"ai-edge-litert", "numpy",
                                                            "tflite-runtime"}


def test_constraints_are_the_users_other_requirements_on_that_name():
    extras = ("ai_edge_litert>=2,!=2.1.0", "numpy<3", "ai-edge-litert-nightly")
    assert versions.constraints_for("ai-edge-litert", extras) == ("ai_edge_litert>=2,!=2.1.0",)
    assert versions.pinned(extras) == frozenset()


def test_list_versions_asks_pip_for_the_target_and_survives_failure():
    target = Target.of("python3.12", "arm64")
    seen = []

    def runner(cmd):
        seen.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, json.dumps({"versions": ["2.1.0", "1.4.0"]}), "")

    assert versions.list_versions("ai-edge-litert", target, runner=runner) == ["2.1.0", "1.4.0"]
    assert seen[0][3:6] == ["index", "versions", "ai-edge-litert"]
    assert "manylinux_2_34_aarch64" in seen[0] and "--only-binary=:all:" in seen[0]
    fail = subprocess.CompletedProcess([], 1, "", "ERROR: no")
    assert versions.list_versions("x", target, runner=lambda cmd: fail) == []


def test_screen_wheel_rejects_a_missing_wheel_and_an_oversized_one(tmp_path, monkeypatch):
    target = Target.of("python3.12", "arm64")
    fail = subprocess.CompletedProcess([], 1, "", "ERROR: No matching distribution")
    missing = versions.screen_wheel("x", "1.0", target, "zip", runner=lambda cmd: fail)
    assert missing is not None and missing.reason.startswith("has no wheel for python3.12 arm64")

    def runner(cmd):  # a wheel with one (sparse-ish) data file of 2 KB
        dl = Path(cmd[cmd.index("-d") + 1])
        dl.mkdir(parents=True)
        with zipfile.ZipFile(dl / "x-1.0-py3-none-any.whl", "w") as zf:
            zf.writestr("x/data.bin", b"\0" * 2048)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(versions, "ZIP_UNZIPPED_LIMIT", 1024)
    big = versions.screen_wheel("x", "1.0", target, "zip", runner=runner)
    assert isinstance(big, PackageTooLarge) and "over the 0.0 MB zip limit" in big.reason
    assert versions.screen_wheel("x", "1.0", target, "image", runner=runner) is None


def _wheel_runner(calls: list[list[str]]):
    """pip download of a wheel with one data file (the checks are set per test)."""
    def runner(cmd):
        calls.append(cmd)
        dl = Path(cmd[cmd.index("-d") + 1])
        dl.mkdir(parents=True)
        with zipfile.ZipFile(dl / "x-1.0-py3-none-any.whl", "w") as zf:
            zf.writestr("x/data.bin", b"\0" * 16)
        return subprocess.CompletedProcess(cmd, 0, "", "")
    return runner


def test_a_screens_verdict_is_kept_for_a_day_per_release_and_target(tmp_path, monkeypatch):
    calls: list[list[str]] = []
    runner = _wheel_runner(calls)
    arm, x86 = Target.of("python3.12", "arm64"), Target.of("python3.12", "x86_64")
    err = GlibcTooNew("x 1.0 needs GLIBC_2.99", package="x", reason="needs GLIBC_2.99",
                      fix="use an image")

    def check(infos, target, owners):
        if target is arm:
            raise err
    monkeypatch.setattr(versions.elfcheck, "check_glibc", check)
    first = versions.screen_wheel("x", "1.0", arm, "zip", runner=runner, cache=tmp_path)
    again = versions.screen_wheel("x", "1.0", arm, "zip", runner=runner, cache=tmp_path)
    assert len(calls) == 1                      # the second answer came from the cache
    assert isinstance(again, GlibcTooNew) and again is not first
    assert (str(again), again.package, again.reason, again.fix) == (
        str(err), "x", "needs GLIBC_2.99", "use an image")
    # another target, release, package type or constraint asks pip again
    assert versions.screen_wheel("x", "1.0", x86, "zip", runner=runner, cache=tmp_path) is None
    assert versions.screen_wheel("x", "1.1", arm, "zip", runner=runner, cache=tmp_path)
    assert versions.screen_wheel("x", "1.0", arm, "image", runner=runner, cache=tmp_path)
    versions.screen_wheel("x", "1.0", arm, "zip", constraints=("x<2",), runner=runner,
                          cache=tmp_path)
    assert len(calls) == 5
    assert versions.screen_wheel("x", "1.0", x86, "zip", runner=runner, cache=tmp_path) is None
    assert len(calls) == 5                      # a fitting verdict is kept too
    # a day later, or with other checks' code, pip is asked again
    monkeypatch.setattr(versions, "CACHE_MAX_AGE_S", 0)
    versions.screen_wheel("x", "1.0", x86, "zip", runner=runner, cache=tmp_path)
    assert len(calls) == 6
    monkeypatch.setattr(versions, "CACHE_MAX_AGE_S", 3600)
    monkeypatch.setattr(versions, "_checks_fingerprint", lambda: "other checks")
    versions.screen_wheel("x", "1.0", x86, "zip", runner=runner, cache=tmp_path)
    assert len(calls) == 7


def test_pip_failures_are_never_kept_and_a_broken_entry_is_ignored(tmp_path):
    target = Target.of("python3.12", "arm64")
    calls: list[list[str]] = []

    def fail(cmd):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: network is unreachable")
    for _ in range(2):
        missing = versions.screen_wheel("x", "1.0", target, "zip", runner=fail, cache=tmp_path)
        assert missing is not None and missing.reason.startswith("has no wheel")
        assert versions.list_versions("x", target, runner=fail, cache=tmp_path) == []
    assert len(calls) == 4 and list(tmp_path.iterdir()) == []

    listing = json.dumps({"versions": ["2.1.0", "1.4.0"]})

    def index(cmd):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, listing, "")
    assert versions.list_versions("x", target, runner=index, cache=tmp_path) == ["2.1.0", "1.4.0"]
    assert versions.list_versions("x", target, runner=index, cache=tmp_path) == ["2.1.0", "1.4.0"]
    assert len(calls) == 5
    (entry,) = tmp_path.iterdir()
    entry.write_text('{"key": ')               # half-written (a crash): pip is asked again
    assert versions.list_versions("x", target, runner=index, cache=tmp_path) == ["2.1.0", "1.4.0"]
    assert len(calls) == 6 and json.loads(entry.read_text())["value"] == ["2.1.0", "1.4.0"]


def test_a_kept_verdict_of_another_shape_is_screened_again(tmp_path):
    target = Target.of("python3.12", "x86_64")
    calls: list[list[str]] = []
    runner = _wheel_runner(calls)
    assert versions.screen_wheel("x", "1.0", target, "zip", runner=runner, cache=tmp_path) is None
    (entry,) = tmp_path.iterdir()
    data = json.loads(entry.read_text())
    data["value"] = {"verdict": {"class": "GlibcTooNew"}}     # no message, reason or fix
    entry.write_text(json.dumps(data))
    assert versions.screen_wheel("x", "1.0", target, "zip", runner=runner, cache=tmp_path) is None
    assert len(calls) == 2
