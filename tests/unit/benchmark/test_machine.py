from __future__ import annotations

from lambdalite.benchmark.machine import Machine, cpu_model, package_version


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
