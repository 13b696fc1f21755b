"""The arm64 userland's pure parts: where it lives, which mirrors apt is pointed at, when a
folder counts as set up, and what is said when emulation is not possible."""

from __future__ import annotations

import json
from pathlib import Path

from lambdalite import emulation
from lambdalite.emulation import userland
from lambdalite.emulation.qemu import Emulator


def test_the_folder_follows_the_configuration_order(tmp_path: Path):
    assert userland.userland_dir({userland.DIR_ENV: str(tmp_path), "XDG_CACHE_HOME": "/x"}) == (
        tmp_path / "trixie-v1")
    assert userland.userland_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/lambdalite/arm64/trixie-v1")
    assert userland.userland_dir({}) == Path.home() / ".cache/lambdalite/arm64/trixie-v1"


def test_the_mirrors_are_the_systems_own(tmp_path: Path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\n# a comment\nURIs: http://mirror.example/debian\n"
        "Suites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n"
        "Components: main\n\nTypes: deb-src\nURIs: http://src.example/\nSuites: bookworm\n")
    (tmp_path / "sources.list.d" / "other.list").write_text(
        "deb [arch=amd64] http://other.example/apt stable main\n")
    assert userland.mirrors(tmp_path) == ("http://mirror.example/debian",
                                          "http://mirror.example/debian-security")
    text = userland.sources_list(userland.mirrors(tmp_path))
    assert text.splitlines() == [
        f"deb [arch=arm64 signed-by={userland.KEYRING}] http://mirror.example/debian trixie main",
        f"deb [arch=arm64 signed-by={userland.KEYRING}] http://mirror.example/debian "
        "trixie-updates main",
        f"deb [arch=arm64 signed-by={userland.KEYRING}] http://mirror.example/debian-security "
        "trixie-security main"]


def test_one_line_sources_work_too(tmp_path: Path):
    (tmp_path / "sources.list").write_text(
        "deb http://m.example/debian bookworm main # the archive\n"
        "deb http://m.example/debian-security bookworm-security main\n")
    assert userland.mirrors(tmp_path) == ("http://m.example/debian",
                                          "http://m.example/debian-security")


def fake_userland(folder: Path, manifest: dict | None) -> None:
    python = folder / "root" / "usr" / "bin" / "python3.13"
    python.parent.mkdir(parents=True)
    python.write_text("")
    (folder / "awslambdaric" / "awslambdaric").mkdir(parents=True)
    if manifest is not None:
        (folder / userland.MANIFEST).write_text(json.dumps(manifest))


def manifest(**changes: object) -> dict:
    data = {"layout": userland.LAYOUT_VERSION, "awslambdaric": "4.2.2",
            "packages": {p: {"version": "1"} for p in userland.PACKAGES}}
    return {**data, **changes}


def test_a_folder_without_its_manifest_is_not_a_userland(tmp_path: Path):
    env = {userland.DIR_ENV: str(tmp_path)}
    fake_userland(userland.userland_dir(env), None)   # a set-up interrupted before the end
    assert userland.find_userland(env) is None


def test_an_outdated_manifest_is_set_up_again(tmp_path: Path):
    env = {userland.DIR_ENV: str(tmp_path)}
    fake_userland(userland.userland_dir(env), manifest(packages={"python3.13-minimal": {
        "version": "1"}}))
    assert userland.find_userland(env) is None


def test_a_complete_userland_is_found(tmp_path: Path):
    env = {userland.DIR_ENV: str(tmp_path)}
    folder = userland.userland_dir(env)
    fake_userland(folder, manifest())
    found = userland.find_userland(env)
    assert found is not None and found.awslambdaric == "4.2.2"
    assert found.root == folder / "root" and found.ric_dir == folder / "awslambdaric"
    assert found.emulator("/q").command(found.python, ["-c", "1"]) == [
        "/q", "-cpu", "neoverse-n1", "-L", str(folder / "root"),
        str(folder / "root" / "usr/bin/python3.13"), "-c", "1"]


def test_without_qemu_the_reason_says_what_to_install(tmp_path: Path):
    why = emulation.why_not_ready({"PATH": str(tmp_path), userland.DIR_ENV: str(tmp_path)})
    assert why == ("qemu-user is not installed: install Debian's qemu-user-static (`apt-get "
                   "install qemu-user-static`, as root; it provides qemu-aarch64-static)")


def test_without_the_userland_the_reason_says_how_to_set_it_up(tmp_path: Path):
    (tmp_path / "bin").mkdir()
    qemu = tmp_path / "bin" / "qemu-aarch64-static"
    qemu.write_text("#!/bin/sh\n")
    qemu.chmod(0o755)
    why = emulation.why_not_ready({"PATH": str(tmp_path / "bin"),
                                   userland.DIR_ENV: str(tmp_path)})
    assert why is not None and "run `lambdalite local setup-arm64` once" in why
    assert Emulator(str(qemu), tmp_path).prefix == (str(qemu), "-cpu", "neoverse-n1", "-L",
                                                    str(tmp_path))


def test_an_arm64_python313_function_gets_the_emulated_interpreter(tmp_path: Path):
    from lambdalite.local.interpreters import choose_interpreter

    (tmp_path / "bin").mkdir()
    qemu = tmp_path / "bin" / "qemu-aarch64-static"
    qemu.write_text("#!/bin/sh\n")
    qemu.chmod(0o755)
    env = {"PATH": str(tmp_path / "bin"), userland.DIR_ENV: str(tmp_path)}
    folder = userland.userland_dir(env)
    fake_userland(folder, manifest())
    chosen = choose_interpreter("python3.13", environ=env, architecture="arm64")
    assert chosen.emulated and chosen.version == "3.13" and chosen.warning is None
    assert chosen.command(["-m", "awslambdaric", "h.handler"]) == [
        str(qemu), "-cpu", "neoverse-n1", "-L", str(folder / "root"),
        str(folder / "root/usr/bin/python3.13"), "-m", "awslambdaric", "h.handler"]
    assert chosen.runtime_dir == str(folder / "awslambdaric")
    assert (chosen.init_scale, chosen.timeout_scale) == (emulation.INIT_SCALE,
                                                         emulation.TIMEOUT_SCALE)
    host = choose_interpreter("python3.11", environ=env, architecture="x86_64")
    assert not host.emulated and (host.init_scale, host.timeout_scale) == (1.0, 1.0)
