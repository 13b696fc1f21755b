from __future__ import annotations

import pytest

from lambdalite.benchmark.machine import (
    CpuTimes,
    Machine,
    cpu_model,
    cpu_times,
    package_version,
    steal_percent,
)


def test_cpu_model_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: X\nmodel name\t: Test CPU @ 3.0GHz\n")
    assert cpu_model(info) == "Test CPU @ 3.0GHz"
    assert cpu_model(tmp_path / "missing")          # falls back to something, never empty


def test_versions_come_from_installed_metadata():
    assert package_version("numpy")
    assert package_version("no-such-package-lambdalite") is None


def test_describe_names_cpu_limits_and_versions():
    m = Machine("Test CPU", 2, 4096, "Linux", "6.1", "3.11.7", "limits: test", "cgroup v1",
                {"numpy": "2.0", "tensorflow": None})
    text = m.describe()
    assert "Test CPU, 2 cores" in text and "limits: test" in text
    assert "numpy 2.0" in text and "tensorflow" not in text


def test_steal_share_between_two_readings(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 50 800 10 0 5 35 0 0\ncpu0 1 2 3\n")
    before = cpu_times(stat)
    assert before == CpuTimes(steal=35, total=1000)
    stat.write_text("cpu  200 0 100 1500 10 0 10 185 0 0\n")
    after = cpu_times(stat)
    assert steal_percent(before, after) == pytest.approx(100 * 150 / 1005)
    assert steal_percent(after, before) is None            # no time passed forward


def test_no_steal_figure_without_proc_stat(tmp_path):
    assert cpu_times(tmp_path / "missing") is None
    (tmp_path / "short").write_text("cpu  1 2 3 4\n")       # a kernel without the steal column
    assert cpu_times(tmp_path / "short") is None
    assert steal_percent(None, CpuTimes(0, 10)) is None
