"""zipwrite: the zip it writes is the one zipfile writes for the same entries, byte for byte,
whatever the number of threads; zipfile reads it back with every CRC right."""

from __future__ import annotations

import random
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambdalite.bundle import package, zipwrite

EPOCH = package.ZIP_EPOCH


def _by_zipfile(entries: list[zipwrite.Entry], path: Path, date_time=EPOCH) -> bytes:
    """What package.write_zip wrote before zipwrite: zipfile, one entry at a time."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for entry in entries:
            info = zipfile.ZipInfo(entry.name, date_time)
            info.external_attr = entry.mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            with entry.source.open("rb") as src, zf.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
    return path.read_bytes()


def _files(root: Path, contents: dict[str, bytes], mode: int = 0o644) -> list[zipwrite.Entry]:
    entries = []
    for name, data in contents.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        entries.append(zipwrite.Entry(path, name, stat.S_IFREG | mode, len(data)))
    return entries


def test_the_bytes_are_zipfiles_for_every_kind_of_file(tmp_path: Path) -> None:
    rng = random.Random(7)
    entries = _files(tmp_path / "t", {
        "empty": b"",
        "model/weights.bin": rng.randbytes(3 * 1024 * 1024 + 17),       # several chunks
        "text.py": b"x = 1\n" * 5000,                                    # compresses well
        "numpy.libs/libopenblas.so": bytes(rng.getrandbits(3) for _ in range(200_000)),
        "caf\u00e9/na\u00efve.txt": b"UTF-8 name",                      # flag 11
    })
    entries.append(zipwrite.Entry(entries[0].source, "bin/tool", stat.S_IFREG | 0o755, 0))
    expected = _by_zipfile(entries, tmp_path / "zipfile.zip")
    for workers in (1, 2, 5):
        size = zipwrite.write(entries, tmp_path / f"{workers}.zip", EPOCH, workers=workers)
        assert (tmp_path / f"{workers}.zip").read_bytes() == expected and size == len(expected)
    with zipfile.ZipFile(tmp_path / "2.zip") as zf:
        assert zf.testzip() is None
        assert zf.read("caf\u00e9/na\u00efve.txt") == b"UTF-8 name"
        assert stat.S_IMODE(zf.getinfo("bin/tool").external_attr >> 16) == 0o755


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.text(st.characters(codec="utf-8", exclude_characters="/\0"),
                                  min_size=1, max_size=12),
                          st.binary(max_size=3000)),
                min_size=0, max_size=6, unique_by=lambda t: t[0]),
       st.tuples(st.integers(1980, 2107), st.integers(1, 12), st.integers(1, 28),
                 st.integers(0, 23), st.integers(0, 59), st.integers(0, 59)))
def test_any_names_contents_and_date_match_zipfile(tmp_path_factory, files, date_time) -> None:
    root = tmp_path_factory.mktemp("z")
    entries = [zipwrite.Entry(root / f"f{i}", name, stat.S_IFREG | 0o644, len(data))
               for i, (name, data) in enumerate(files)]
    for entry, (_, data) in zip(entries, files, strict=True):
        entry.source.write_bytes(data)
    expected = _by_zipfile(entries, root / "a.zip", date_time)
    zipwrite.write(entries, root / "b.zip", date_time, workers=2)
    assert (root / "b.zip").read_bytes() == expected


def test_a_tree_that_needs_zip64_goes_to_zipfile(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "t"
    _files(root, {"a.bin": b"a" * 5000, "b.txt": b"b"})
    assert zipwrite.fits([zipwrite.Entry(root / "a.bin", "a.bin", stat.S_IFREG, 5000)])
    monkeypatch.setattr(zipwrite, "ZIP64_LIMIT", 4000)
    called = []
    monkeypatch.setattr(zipwrite, "write", lambda *a, **k: called.append(a))
    size = package.write_zip(root, tmp_path / "big.zip")
    assert called == [] and size == (tmp_path / "big.zip").stat().st_size
    with zipfile.ZipFile(tmp_path / "big.zip") as zf:
        assert zf.testzip() is None and zf.read("a.bin") == b"a" * 5000
        assert [i.filename for i in zf.infolist()] == ["a.bin", "b.txt"]


def test_a_file_that_cannot_be_read_fails_the_write(tmp_path: Path) -> None:
    entries = _files(tmp_path / "t", {"a": b"1", "b": b"2", "c": b"3"})
    entries[1].source.unlink()
    with pytest.raises(FileNotFoundError):
        zipwrite.write(entries, tmp_path / "x.zip", EPOCH, workers=2)
