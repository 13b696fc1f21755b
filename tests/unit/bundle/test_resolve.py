from __future__ import annotations

from pathlib import Path

import pytest

from lambdalite.bundle import resolve
from lambdalite.bundle.errors import InstallFailed
from lambdalite.bundle.targets import Target

T311 = Target.of("python3.11", "x86_64")


def _dist(root: Path, name: str, version: str, tag: str, files: list[str],
          requires: tuple[str, ...] = ()) -> None:
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                   + "".join(f"Requires-Dist: {r}\n" for r in requires))
    (info / "WHEEL").write_text(f"Wheel-Version: 1.0\nTag: {tag}\n")
    record = [f"{f},sha256=x,1" for f in files] + [f"{info.name}/METADATA,,"]
    (info / "RECORD").write_text("\n".join(record) + "\n")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    _dist(tmp_path, "numpy", "2.2.6", "cp311-cp311-manylinux_2_17_x86_64",
          ["numpy/__init__.py", "numpy.libs/libopenblas.so"])
    _dist(tmp_path, "ai-edge-litert", "1.4.0", "cp311-cp311-manylinux_2_17_x86_64",
          ["ai_edge_litert/__init__.py", "../../bin/x"])
    return tmp_path


def test_read_installed_and_lock(site: Path):
    installed = resolve.read_installed(site)
    assert set(installed) == {"numpy", "ai-edge-litert"}
    assert installed["numpy"].top_level == ("numpy", "numpy.libs")
    assert resolve.owner_of(installed)["numpy.libs"] == "numpy"
    lock = resolve.lock_text(installed, T311).splitlines()
    assert lock[0].startswith("#") and lock[1:] == ["ai-edge-litert==1.4.0", "numpy==2.2.6"]


def test_verify_names_a_missing_requirement(site: Path):
    with pytest.raises(InstallFailed, match="pillow is not installed"):
        resolve.verify(resolve.read_installed(site), ("numpy", "Pillow>=10"), T311)


def test_verify_rejects_a_wheel_for_another_target(site: Path):
    installed = resolve.read_installed(site)
    resolve.verify(installed, ("numpy", "ai_edge_litert"), T311)
    with pytest.raises(InstallFailed, match="does not load on python3.12"):
        resolve.verify(installed, ("numpy",), Target.of("python3.12", "x86_64"))


def test_requirements_per_backend():
    assert resolve.requirements_for("litert") == ("numpy", "pillow", "ai-edge-litert")
    assert "tensorflow" in resolve.requirements_for("tf", ("extra==1",))
    assert resolve.requirements_for("tf", ("extra==1",))[-1] == "extra==1"


@pytest.mark.parametrize(("runtime", "arch", "wanted"), [
    # Amazon Linux 2: the last manylinux2014 onnxruntime, and the NumPy 1.x it was built with.
    ("python3.11", "x86_64", ("numpy<2", "pillow", "onnxruntime<1.17")),
    ("python3.11", "arm64", ("numpy<2", "pillow", "onnxruntime<1.17")),
    ("python3.12", "x86_64", ("numpy", "pillow", "onnxruntime<1.33")),
    ("python3.13", "arm64", ("numpy", "pillow", "onnxruntime<1.33")),
])
def test_onnxruntime_is_pinned_for_the_runtimes_os(runtime: str, arch: str,
                                                   wanted: tuple[str, ...]) -> None:
    target = Target.of(runtime, arch)
    assert resolve.requirements_for("onnxruntime", ("x==1",), target) == (*wanted, "x==1")
    # LiteRT on Amazon Linux 2023 adds its CompiledModel's ml-dtypes pin (import cost)
    litert = resolve.REQUIREMENTS["litert"]
    assert resolve.requirements_for("litert", (), target) == (
        litert if target.runtime.os == "Amazon Linux 2" else (*litert, "ml-dtypes<0.7"))


def test_requested_closure_follows_requires_dist_with_markers_on_the_target(site: Path):
    tag = "py3-none-any"
    _dist(site, "tqdm", "4.67.1", tag, ["tqdm/__init__.py"], requires=(
        'colorama; platform_system == "Windows"', 'ipywidgets>=6; extra == "notebook"',
        'typing_extensions>=4; python_version < "3.12"', "numpy", "Flat_Buffers"))
    _dist(site, "colorama", "0.4.6", tag, ["colorama/__init__.py"])
    _dist(site, "ipywidgets", "8.0", tag, ["ipywidgets/__init__.py"])
    _dist(site, "typing-extensions", "4.12.2", tag, ["typing_extensions.py"])
    _dist(site, "flat-buffers", "25.2.10", tag, ["flatbuffers/__init__.py"],
          requires=("tqdm",))  # a cycle ends
    installed = resolve.read_installed(site)
    backend = resolve.REQUIREMENTS["litert"]
    names = resolve.requested_closure(installed, ("tqdm>=4",), T311, stop_at=backend)
    assert names == {"tqdm", "typing-extensions", "flat-buffers"}  # numpy: the backend's
    assert resolve.requested_closure(installed, ("tqdm",), Target.of("python3.12", "arm64"),
                                     stop_at=backend) == {"tqdm", "flat-buffers"}
    assert "ipywidgets" in resolve.requested_closure(installed, ("tqdm[notebook]",), T311)
    assert resolve.requested_closure(installed, ("ai-edge-litert>=1,!=1.3",), T311,
                                     stop_at=backend) == frozenset()
    assert resolve.paths_of(installed, frozenset({"tqdm", "typing-extensions"})) == {
        "tqdm", "tqdm-4.67.1.dist-info", "typing_extensions.py",
        "typing_extensions-4.12.2.dist-info"}
