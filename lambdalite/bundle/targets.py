"""Build targets: (Lambda runtime, architecture) -> what pip may install for it.

A wheel loads on Lambda when its platform tag promises no newer glibc than the runtime's
Amazon Linux has. The glibc per runtime lives in ``lambdalite.lambda_facts.RUNTIMES``; here we
turn it into the ``--platform`` list pip matches wheels against.
"""

from __future__ import annotations

from dataclasses import dataclass

from lambdalite.errors import UsageError
from lambdalite.lambda_facts import ARCHS, BUILDABLE_RUNTIMES, RUNTIMES, Arch, Runtime

# PEP 600 legacy aliases older than manylinux2014 (glibc 2.12 / 2.5); x86_64 only,
# aarch64 wheels start at manylinux2014.
_LEGACY_TAGS: dict[str, tuple[str, ...]] = {
    "x86_64": ("manylinux_2_12_x86_64", "manylinux2010_x86_64",
               "manylinux_2_5_x86_64", "manylinux1_x86_64"),
    "aarch64": (),
}


@dataclass(frozen=True)
class Target:
    runtime: Runtime
    arch: Arch

    @classmethod
    def of(cls, runtime: str, arch: str) -> Target:
        if runtime not in BUILDABLE_RUNTIMES:
            raise UsageError(
                f"runtime {runtime!r} is not buildable; use one of {', '.join(BUILDABLE_RUNTIMES)}"
            )
        if arch not in ARCHS:
            raise UsageError(f"architecture {arch!r} is unknown; use one of {', '.join(ARCHS)}")
        return cls(RUNTIMES[runtime], ARCHS[arch])

    @property
    def python_version(self) -> str:
        return self.runtime.python

    @property
    def abi(self) -> str:
        """CPython ABI tag, e.g. ``cp312``."""
        return "cp" + self.runtime.python.replace(".", "")

    @property
    def platform_tags(self) -> tuple[str, ...]:
        """Every platform tag a wheel may carry to load on this target, newest glibc first."""
        tags = self.runtime.manylinux_tags(self.arch)
        return (*tags, *_LEGACY_TAGS[self.arch.wheel_machine])

    def pip_args(self) -> list[str]:
        """The pip flags that make it resolve for this target instead of this machine."""
        args: list[str] = []
        for tag in self.platform_tags:
            args += ["--platform", tag]
        args += [
            "--python-version", self.python_version,
            "--implementation", "cp",
            "--abi", self.abi,
            "--abi", "abi3",
            "--abi", "none",
            "--only-binary=:all:",
        ]
        return args

    @property
    def plain_linux_tag(self) -> str:
        """``linux_aarch64``: the tag of a wheel compiled here for this target (not audited as
        manylinux; the ELF checks are what vouch for it)."""
        return f"linux_{self.arch.wheel_machine}"

    @property
    def zig_target(self) -> str:
        """The cross compiler's target: this machine and the runtime's glibc,
        e.g. ``aarch64-linux-gnu.2.34``."""
        return f"{self.arch.wheel_machine}-linux-gnu.{self.runtime.glibc_str}"

    def accepts_wheel_tag(self, tag: str, *, compiled: bool = False) -> bool:
        """Whether a wheel tag like ``cp311-cp311-manylinux_2_17_x86_64`` loads on this target
        (``compiled``: a wheel compiled for it here, whose ``linux_<machine>`` tag counts)."""
        python, abi, plat = tag.split("-")
        py_ok = python in {self.abi, "py3", "py2.py3"} or (
            python.startswith("cp3") and abi == "abi3"
            and int(python[3:]) <= int(self.abi[3:])
        )
        abi_ok = abi in {self.abi, "abi3", "none"}
        plat_ok = plat == "any" or plat in self.platform_tags or (
            compiled and plat == self.plain_linux_tag)
        return py_ok and abi_ok and plat_ok

    def __str__(self) -> str:
        return f"{self.runtime.name} {self.arch.name} (glibc {self.runtime.glibc_str})"
