"""The arm64 userland: Debian's arm64 python3.13 runs under qemu-user, sees only the userland,
and setting it up changed nothing of the system's apt state."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from lambdalite.emulation import Emulator, Userland
from lambdalite.emulation.userland import MANIFEST, PACKAGES

PROBE = ("import json, platform, ssl, sys, sqlite3, lzma, awslambdaric, runtime_client; "
         "print(json.dumps({'machine': platform.machine(), 'version': sys.version_info[:2], "
         "'prefix': sys.prefix, 'path': sys.path, 'ssl': ssl.OPENSSL_VERSION}))")


def test_the_emulated_python_is_aarch64_313_inside_the_userland(
        userland: Userland, emulator: Emulator):
    done = subprocess.run(emulator.command(userland.python, ["-c", PROBE]), capture_output=True,
                          text=True, timeout=120, check=False,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(userland.ric_dir)})
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout)
    assert seen["machine"] == "aarch64" and seen["version"] == [3, 13]
    assert seen["ssl"].startswith("OpenSSL 3")
    # qemu's -L maps /usr into the userland: none of the host's site-packages leak in.
    assert seen["prefix"] == "/usr" or seen["prefix"].startswith(str(userland.root))
    assert not any("site-packages" in p or ".venv" in p for p in seen["path"])


def test_the_manifest_records_every_package_with_its_checksum(userland: Userland):
    data = json.loads((userland.folder / MANIFEST).read_text())
    assert sorted(data["packages"]) == sorted(PACKAGES)
    assert all(len(p["sha256"]) == 64 and p["version"] for p in data["packages"].values())
    assert data["awslambdaric"] == userland.awslambdaric and userland.awslambdaric
    # What is not needed again is gone: the .deb files and apt's ~180 MB of lists.
    assert not (userland.folder / "debs").exists() and not (userland.folder / "apt").exists()


def test_no_system_state_is_left_behind(userland: Userland):
    foreign = subprocess.run(["dpkg", "--print-foreign-architectures"], capture_output=True,
                             text=True, check=False).stdout.split()
    assert "arm64" not in foreign
    assert not list(Path("/var/lib/apt/lists").glob("*trixie*"))
