"""arm64 functions on this x86_64 machine: an arm64 Debian userland run under qemu-user.

    userland = find_userland() or set_up_userland()     # ~10 s once, cached (userland.py)
    argv = userland.emulator(find_qemu()).command(userland.python, ["-c", "..."])   # qemu.py

``userland`` assembles Debian's arm64 ``python3.13`` and the libraries it and the function's
wheels load (``apt-get download`` through a private apt tree, ``dpkg-deb -x``) into a cache
folder, with the real awslambdaric aarch64 wheel beside it and, for compiling, the target
Python's headers. ``qemu`` runs a program of that userland with ``qemu-aarch64-static -cpu
neoverse-n1 -L ROOT``: explicit emulation, no binfmt_misc registration, no root-only state.
Both ``local`` (emulated execution environments) and ``bundle`` (headers for compiling an
sdist for arm64) use it; it imports only the shared modules.
"""

from lambdalite.emulation.qemu import (
    CPU,
    EMULATED_NOTICE,
    INIT_SCALE,
    QEMU,
    QEMU_OVERHEAD_MB,
    TIMEOUT_SCALE,
    Emulator,
    find_qemu,
    qemu_install_hint,
)
from lambdalite.emulation.userland import (
    EMULATED_PYTHON,
    Userland,
    find_userland,
    set_up_userland,
    target_headers,
    userland_dir,
    why_not_ready,
)

__all__ = [
    "CPU",
    "EMULATED_NOTICE",
    "EMULATED_PYTHON",
    "INIT_SCALE",
    "QEMU",
    "QEMU_OVERHEAD_MB",
    "TIMEOUT_SCALE",
    "Emulator",
    "Userland",
    "find_qemu",
    "find_userland",
    "qemu_install_hint",
    "set_up_userland",
    "target_headers",
    "userland_dir",
    "why_not_ready",
]
