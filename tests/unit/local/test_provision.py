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


def test_a_runtime_without_its_python_runs_on_the_host_and_says_how_to_get_it(tmp_path):
    from lambdalite.local.interpreters import choose_interpreter

    chosen = choose_interpreter("python3.14", environ={"PYENV_ROOT": str(tmp_path),
                                                       "PATH": str(tmp_path)})
    if HOST_VERSION == "3.14":
        assert chosen.is_host and chosen.warning is None
        return
    assert chosen.is_host and chosen.warning is not None
    assert "python3.14: no Python 3.14 found" in chosen.warning
    assert "does not import" in chosen.warning and "`pyenv install 3.14`" in chosen.warning
