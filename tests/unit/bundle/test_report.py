from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from lambdalite.bundle.api import BuildResult, PackageOptions
from lambdalite.bundle.report import print_results
from lambdalite.lambda_facts import MB


def test_summary_shows_sizes_packages_glibc_and_warnings():
    result = BuildResult(
        options=PackageOptions(model_dir=Path("m"), out_dir=Path("o"), runtime="python3.11"),
        task_root=Path("o/x86_64/task"), zip_path=Path("o/x86_64/function.zip"),
        context_dir=None, unzipped_bytes=103 * MB, zipped_bytes=60 * MB, files=801,
        glibc_needed="2.17", glibc_available="2.26",
        warnings=("function.zip is 60.0 MB, over the 50.0 MB direct upload limit",),
        glibc_needed_by="ai_edge_litert/lib.so", installed=("numpy==2.2.6",),
        packages=(("numpy", 52 * MB), ("pillow", 22 * MB)), slimmed=(("tests", 21, 6 * MB),),
    )
    buf = io.StringIO()
    print_results([result], Console(file=buf, width=200))
    text = buf.getvalue()
    for expected in ("801", "103.0 MB", "60.0 MB", "numpy 52.0 MB, pillow 22.0 MB",
                     "needs 2.17 (ai_edge_litert/lib.so); python3.11 has 2.26",
                     "tests 6.0 MB", "direct upload limit", "numpy==2.2.6"):
        assert expected in text
