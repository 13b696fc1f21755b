"""Platform facts about AWS Lambda, as data tables (not if-chains).

Sources (AWS Lambda developer guide): "Lambda runtimes" (runtime -> OS),
"Lambda quotas" (sizes, payloads, timeouts),
"AL2023 core toolchain packages" (glibc 2.34, gcc 11.2; AL2 ships gcc/libstdc++ 7.3.1),
libstdc++'s "ABI Policy and Guidelines" (GCC 7.2+: GLIBCXX_3.4.24, CXXABI_1.3.11;
GCC 11.1+: GLIBCXX_3.4.29, CXXABI_1.3.13), "Configure Lambda function memory"
(1,769 MB = one vCPU), "AWS Lambda pricing" (us-east-1, checked 2026-11).
Stdlib only. The function package ships only its quotas (``lambda_quotas``).
"""

from __future__ import annotations

import platform

# Quotas: kept in lambda_quotas, which the function ships without the tables below (importing
# them cost its INIT 3.2 M instructions, callgrind), and read here too, so that every fact about
# Lambda has this one address.
from lambdalite.lambda_quotas import (  # noqa: F401
    ASYNC_PAYLOAD_LIMIT,
    ENVIRONMENT_LIMIT_BYTES,
    EPHEMERAL_MAX_MB,
    EPHEMERAL_MIN_MB,
    EPHEMERAL_STORAGE_DEFAULT_MB,
    IMAGE_SIZE_LIMIT,
    INIT_TIMEOUT_S,
    MAX_VCPUS,
    MB,
    MB_PER_VCPU,
    MEMORY_MAX_MB,
    MEMORY_MIN_MB,
    SYNC_PAYLOAD_LIMIT,
    TIMEOUT_MAX_S,
    ZIP_DIRECT_UPLOAD_LIMIT,
    ZIP_UNZIPPED_LIMIT,
)
from lambdalite.records import Record


class Runtime(Record):
    name: str            # Lambda's identifier, e.g. "python3.12"
    python: str          # "3.12"
    os: str              # base OS of the managed runtime
    glibc: tuple[int, int]
    # The system libstdc++.so.6: the GCC it comes from and the newest symbol versions it has.
    libstdcxx_gcc: str
    glibcxx: tuple[int, ...]
    cxxabi: tuple[int, ...]
    # When AWS deprecated the runtime ("Lambda runtimes": no more security patches; creating
    # and then updating functions on it is blocked some months later). None: supported.
    deprecated: str | None = None

    @property
    def glibc_str(self) -> str:
        return f"{self.glibc[0]}.{self.glibc[1]}"

    def manylinux_tags(self, arch: Arch) -> list[str]:
        """Every manylinux platform tag a wheel may carry to load on this runtime, newest first."""
        major, minor = self.glibc
        tags = [f"manylinux_{major}_{m}_{arch.wheel_machine}" for m in range(minor, 16, -1)]
        # Legacy aliases pip still matches on: manylinux2014 == 2_17.
        tags.append(f"manylinux2014_{arch.wheel_machine}")
        return tags


class Arch(Record):
    name: str             # Lambda's Architectures value: "x86_64" | "arm64"
    wheel_machine: str    # platform tag suffix in wheel names
    elf_machine: str      # e_machine as pyelftools reports it
    elf_label: str        # how readelf/humans call it
    image_tag_suffix: str  # public.ecr.aws/lambda/python:<version><suffix>
    price_per_gb_second: float  # USD, on-demand, first pricing tier


_AL2 = ("Amazon Linux 2", (2, 26), "7.3", (3, 4, 24), (1, 3, 11))
_AL2023 = ("Amazon Linux 2023", (2, 34), "11.2", (3, 4, 29), (1, 3, 13))
RUNTIMES: dict[str, Runtime] = {
    "python3.9": Runtime("python3.9", "3.9", *_AL2, deprecated="2025-12-15"),
    "python3.10": Runtime("python3.10", "3.10", *_AL2),
    "python3.11": Runtime("python3.11", "3.11", *_AL2),
    "python3.12": Runtime("python3.12", "3.12", *_AL2023),
    "python3.13": Runtime("python3.13", "3.13", *_AL2023),
    "python3.14": Runtime("python3.14", "3.14", *_AL2023),   # GA on Lambda 2025-11
}
DEFAULT_RUNTIME = "python3.12"
# python3.9: the newest Python tflite-runtime 2.7.0 (the write-up's runtime) has wheels for;
# deprecated, built with a warning that says so.
BUILDABLE_RUNTIMES = ("python3.9", "python3.11", "python3.12", "python3.13", "python3.14")


def deprecation_warning(runtime: str) -> str | None:
    """What a build for a deprecated runtime tells the user, None for a supported one."""
    since = RUNTIMES[runtime].deprecated
    if since is None:
        return None
    return (f"{runtime} is deprecated on AWS Lambda (since {since}): it gets no security "
            "patches, and AWS blocks creating and then updating functions on it; build for "
            f"{DEFAULT_RUNTIME} unless you need {runtime} (e.g. tflite-runtime <= 2.7)")

ARCHS: dict[str, Arch] = {
    "x86_64": Arch("x86_64", "x86_64", "EM_X86_64", "x86-64", "-x86_64", 0.0000166667),
    "arm64": Arch("arm64", "aarch64", "EM_AARCH64", "AArch64", "-arm64", 0.0000133334),
}

# What platform.machine() says -> Lambda's Architectures value.
MACHINE_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


def host_arch(machine: str | None = None) -> str | None:
    """This machine's Lambda architecture, None when Lambda has no such CPU."""
    return MACHINE_ARCH.get((machine or platform.machine()).lower())


BASE_IMAGE_REPO = "public.ecr.aws/lambda/python"

# Pricing (USD, us-east-1). Requests are billed per call; duration per GB-second
# in 1 ms steps. Since 2025-08-01 the INIT phase is billed like invoke duration.
PRICE_PER_MILLION_REQUESTS = 0.20
BILLING_GRANULARITY_MS = 1

# Set by Lambda itself: UpdateFunctionConfiguration refuses them in Environment ("Defined
# runtime environment variables", Lambda Developer Guide).
RESERVED_ENVIRONMENT_KEYS = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})


def vcpus_for_memory(memory_mb: int) -> float:
    """CPU share Lambda gives a function of this memory size (proportional, capped)."""
    return max(0.0, min(MAX_VCPUS, memory_mb / MB_PER_VCPU))


# The vCPUs an environment sees (nproc) up to each MemorySize, as a third party measured them on
# Lambda (rwnx/lambda-cpuinfo; AWS documents the share, not the count): 2 from 128 MB, then one
# more past 3008 MB and past each multiple of 1769 MB. The share is still memory/1769 of one.
VISIBLE_VCPUS = ((3008, 2), (5307, 3), (7076, 4), (8845, 5))


def visible_vcpus(memory_mb: int) -> int:
    """How many vCPUs an environment of this memory size sees (its threads can run on)."""
    return next((count for upto, count in VISIBLE_VCPUS if memory_mb <= upto), int(MAX_VCPUS))


def base_image(runtime: str, arch: str, digest: str | None = None) -> str:
    rt = RUNTIMES[runtime]
    ref = f"{BASE_IMAGE_REPO}:{rt.python}{ARCHS[arch].image_tag_suffix}"
    return f"{ref}@{digest}" if digest else ref
