from __future__ import annotations

import pytest

from lambdalite import lambda_facts


@pytest.mark.parametrize(
    ("runtime", "glibc", "os_name"),
    [
        ("python3.11", (2, 26), "Amazon Linux 2"),
        ("python3.12", (2, 34), "Amazon Linux 2023"),
        ("python3.13", (2, 34), "Amazon Linux 2023"),
        ("python3.14", (2, 34), "Amazon Linux 2023"),
    ],
)
def test_runtime_table(runtime: str, glibc: tuple[int, int], os_name: str) -> None:
    rt = lambda_facts.RUNTIMES[runtime]
    assert rt.glibc == glibc
    assert rt.os == os_name


def test_manylinux_tags_never_exceed_the_runtime_glibc() -> None:
    tags = lambda_facts.RUNTIMES["python3.11"].manylinux_tags(lambda_facts.ARCHS["arm64"])
    assert tags[0] == "manylinux_2_26_aarch64"
    assert "manylinux_2_27_aarch64" not in tags
    assert "manylinux2014_aarch64" in tags
    assert all(t.endswith("_aarch64") for t in tags)


@pytest.mark.parametrize(
    ("memory", "vcpus"), [(1769, 1.0), (3538, 2.0), (128, 128 / 1769), (10240, 10240 / 1769)]
)
def test_cpu_share_follows_memory(memory: int, vcpus: float) -> None:
    assert lambda_facts.vcpus_for_memory(memory) == pytest.approx(vcpus)


@pytest.mark.parametrize(
    ("memory", "count"),
    [(128, 2), (1024, 2), (1769, 2), (3008, 2), (3009, 3), (5307, 3), (5308, 4), (7076, 4),
     (7077, 5), (8845, 5), (8846, 6), (10240, 6)],
)
def test_the_vcpus_an_environment_sees_step_at_the_measured_sizes(memory: int, count: int) -> None:
    assert lambda_facts.visible_vcpus(memory) == count


def test_base_image_tags() -> None:
    assert lambda_facts.base_image("python3.12", "arm64") == "public.ecr.aws/lambda/python:3.12-arm64"
    pinned = lambda_facts.base_image("python3.11", "x86_64", digest="sha256:abc")
    assert pinned == "public.ecr.aws/lambda/python:3.11-x86_64@sha256:abc"
