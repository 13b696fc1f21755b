from __future__ import annotations

import pytest

from lambdalite.bundle.targets import Target
from lambdalite.errors import UsageError


def test_python311_allows_up_to_glibc_2_26_and_manylinux2014():
    tags = Target.of("python3.11", "x86_64").platform_tags
    assert tags[0] == "manylinux_2_26_x86_64"
    assert "manylinux_2_17_x86_64" in tags and "manylinux2014_x86_64" in tags
    assert "manylinux1_x86_64" in tags
    assert not any(t.startswith(("manylinux_2_27", "manylinux_2_28")) for t in tags)


def test_python312_allows_up_to_glibc_2_34():
    tags = Target.of("python3.12", "arm64").platform_tags
    assert tags[0] == "manylinux_2_34_aarch64"
    assert "manylinux_2_35_aarch64" not in tags
    assert all(t.endswith("_aarch64") for t in tags)
    # aarch64 wheels start at manylinux2014: no 2010/1 aliases
    assert not any("manylinux1" in t or "manylinux2010" in t for t in tags)


@pytest.mark.parametrize("runtime,arch", [("python3.11", "x86_64"), ("python3.13", "arm64")])
def test_pip_args_resolve_for_the_target(runtime, arch):
    target = Target.of(runtime, arch)
    args = target.pip_args()
    assert args[args.index("--python-version") + 1] == target.python_version
    assert "--only-binary=:all:" in args
    assert args.count("--platform") == len(target.platform_tags)
    assert args[args.index("--abi") + 1] == target.abi == "cp" + target.python_version.replace(".", "")


@pytest.mark.parametrize(
    "tag,ok",
    [
        ("cp311-cp311-manylinux_2_17_x86_64", True),
        ("cp311-cp311-manylinux2014_x86_64", True),
        ("cp311-cp311-manylinux_2_27_x86_64", False),   # glibc too new for AL2
        ("cp312-cp312-manylinux_2_17_x86_64", False),   # another Python
        ("cp311-cp311-manylinux_2_17_aarch64", False),  # another machine
        ("py3-none-any", True),
        ("cp38-abi3-manylinux_2_17_x86_64", True),      # stable ABI from an older Python
        ("cp312-abi3-manylinux_2_17_x86_64", False),    # stable ABI needs a newer Python
    ],
)
def test_accepts_wheel_tag(tag, ok):
    assert Target.of("python3.11", "x86_64").accepts_wheel_tag(tag) is ok


@pytest.mark.parametrize("runtime,arch", [("python3.8", "x86_64"), ("python3.12", "ppc64le")])
def test_unknown_targets_are_usage_errors(runtime, arch):
    with pytest.raises(UsageError, match="use one of"):
        Target.of(runtime, arch)
