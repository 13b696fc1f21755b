"""The arm64 userland for the emulated tests: set up once (cached across sessions in the
userland folder), or every test here skips with the reason (no qemu-user, no Debian packages)."""

from __future__ import annotations

import pytest

from lambdalite import emulation
from lambdalite.emulation import Emulator, Userland
from lambdalite.errors import DependencyError


@pytest.fixture(scope="session")
def userland() -> Userland:
    if emulation.find_qemu() is None:
        pytest.skip(f"qemu-user is not installed: {emulation.qemu_install_hint()}")
    try:
        return emulation.find_userland() or emulation.set_up_userland()
    except DependencyError as exc:
        pytest.skip(f"the arm64 userland cannot be set up here: {exc.message}")


@pytest.fixture(scope="session")
def emulator(userland: Userland) -> Emulator:
    qemu = emulation.find_qemu()
    assert qemu is not None
    return userland.emulator(qemu)
