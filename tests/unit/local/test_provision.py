"""Install-time provisioning of awslambdaric for other Lambda Pythons."""

from __future__ import annotations

from lambdalite.local import provision
from lambdalite.local.interpreters import HOST_VERSION


def test_host_version_needs_nothing():
    (outcome,) = provision.provision([HOST_VERSION])
    assert outcome.status == "host"


def test_missing_interpreter_is_skipped_not_fatal(monkeypatch, tmp_path):
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    (outcome,) = provision.provision(["3.99"])
    assert outcome == provision.Outcome("3.99", None, "no interpreter")
    assert provision.main() == 0
