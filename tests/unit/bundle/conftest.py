"""Unit tests never touch the user's dependency cache."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_deps_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LAMBDALITE_DEPS_CACHE", str(tmp_path / "deps-cache"))
