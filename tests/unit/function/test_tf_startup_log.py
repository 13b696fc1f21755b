"""TensorFlow's import-time chatter is dropped; what is at or above the level set is kept."""

from __future__ import annotations

from lambdalite.function.backends.tf import filter_startup_log

# Recorded from `import tensorflow` (TF 2.21, CPU-only machine), paths shortened.
STARTUP = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1795676398.998362   21354 port.cc:153] oneDNN custom operations are on.
I0000 00:00:1795676398.998681   21354 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
W0000 00:00:1795676398.998700   21354 some_file.cc:12] a warning
E0000 00:00:1795676402.594799   21354 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error
E0000 00:00:1795676402.594800   21354 loader.cc:9] a real error
plain text a library printed
"""


def test_level_2_keeps_errors_and_foreign_lines_only() -> None:
    kept = filter_startup_log(STARTUP, 2).splitlines()
    assert kept == [
        "E0000 00:00:1795676402.594800   21354 loader.cc:9] a real error",
        "plain text a library printed",
    ]


def test_level_0_keeps_info_but_never_the_banner_or_the_gpu_probe() -> None:
    kept = filter_startup_log(STARTUP, 0)
    assert "oneDNN" in kept and "a warning" in kept and "a real error" in kept
    assert "absl::InitializeLog" not in kept
    assert "cuInit" not in kept and "cuda drivers" not in kept
