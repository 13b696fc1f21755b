"""`make demo`: the whole path on the bundled MNIST model, no TensorFlow needed.

It runs the same commands a user would type, one after the other, and shows each one first:

1. ``lambdalite build``         the LiteRT function for this machine's Lambda runtime (zip)
2. ``lambdalite local invoke``  one cold invocation with the example's API Gateway event:
                                the response on stdout, START/END/REPORT on stderr
3. ``lambdalite bench --quick`` size, cold start, warm latency, memory and cost per LiteRT variant

Outputs go to ``build/demo/`` (git-ignored).
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from pathlib import Path

from lambdalite.examples import mnist_example
from lambdalite.lambda_facts import RUNTIMES

REPO = Path(__file__).resolve().parents[2]   # `make demo` runs in the checkout
EXAMPLE = mnist_example()
OUT = REPO / "build" / "demo"
LITERT_VARIANTS = "float32,dynamic,float16,int8"


def host_runtime() -> str:
    """The Lambda runtime whose Python runs here, so the built package runs locally as is."""
    name = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if name not in RUNTIMES:
        raise SystemExit(f"demo: Python {name[6:]} is not a Lambda Python runtime "
                         f"({', '.join(RUNTIMES)}); run `make demo PYTHON=python3.12`")
    return name


def steps(runtime: str) -> list[tuple[str, list[str]]]:
    return [
        ("Build the MNIST LiteRT function (zip, x86_64, " + runtime + ")",
         ["build", "--model-dir", str(EXAMPLE / "model"), "--backend", "litert",
          "--runtime", runtime, "--arch", "x86_64", "--package", "zip",
          "--memory", "1024", "--out", str(OUT)]),
        ("Invoke it once in the local Lambda environment (cold start)",
         ["local", "invoke", "-t", str(OUT / "template.yaml"),
          "-e", str(EXAMPLE / "events" / "event.json")]),
        ("Benchmark the LiteRT variants (quick mode; arm64 sizes: `lambdalite bench` without "
         "--no-arm64)",
         ["bench", "--model", str(EXAMPLE / "model"), "--variants", LITERT_VARIANTS,
          "--runtime", runtime, "--quick", "--no-arm64", "--out", str(OUT / "bench")]),
    ]


def run(title: str, args: list[str]) -> None:
    shown = "lambdalite " + " ".join(shlex.quote(_short(a)) for a in args)
    print(f"\n=== {title}\n$ {shown}", flush=True)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lambdalite", *args], cwd=REPO, check=False)
    if done.returncode != 0:
        raise SystemExit(f"demo: `{shown}` failed with exit code {done.returncode}")
    print(f"--- {time.perf_counter() - started:.1f} s", flush=True)


def _short(arg: str) -> str:
    """Paths relative to the repository, as a user in the checkout would type them."""
    try:
        return str(Path(arg).relative_to(REPO))
    except ValueError:
        return arg


def main() -> int:
    started = time.perf_counter()
    for title, args in steps(host_runtime()):
        run(title, args)
    print(f"\nDemo finished in {time.perf_counter() - started:.0f} s; outputs in {_short(str(OUT))}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
