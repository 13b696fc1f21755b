"""Write a deterministic zip with its entries deflated on every core.

``zipfile`` deflates one entry at a time on one core: for a 90 MB task root that is ~5 s of a
build at level 6 (the level the package-size figures and goals are measured at; level 4 would
take half the time for a 3.6 % bigger zip). No well-kept library writes a zip from entries
deflated in parallel, and ``zipfile`` cannot take data it did not deflate itself, so this module
deflates each file in a thread pool (zlib releases the GIL while it works) and writes the three
fixed records of the format itself (PKWARE's APPNOTE 4.3.7, 4.3.12, 4.3.16: local header,
central directory, end record). It writes the bytes ``zipfile`` writes for the same entries
(the unit test compares them). A tree that would need ZIP64 (2 GiB, 65535 entries) or is over
``MAX_BYTES`` is left to ``zipfile``: the caller checks ``fits`` first.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

LEVEL = 6
ZIP64_LIMIT = (1 << 31) - 1          # zipfile's own threshold for ZIP64 records
MAX_ENTRIES = 0xFFFF - 1
MAX_BYTES = 512 * 1024 * 1024         # deflated bytes may wait in memory: at most this much
_CHUNK = 1 << 20
_VERSION = 20                         # "made by" / "needed": 2.0, deflate
_UNIX = 3                             # create_system: Lambda honours the mode bits
_DEFLATED = 8
_UTF8 = 0x800                         # general purpose flag 11: the name is UTF-8


@dataclass(frozen=True)
class Entry:
    """One file of the zip: where it comes from, its name in the zip, its mode bits and its
    size (from the caller's one ``stat``: ``fits`` and the pool's order read it)."""

    source: Path
    name: str
    mode: int            # st_mode, e.g. stat.S_IFREG | 0o644
    size: int


@dataclass(frozen=True)
class _Deflated:
    crc: int
    size: int
    data: bytes


def fits(entries: Sequence[Entry]) -> bool:
    """Whether ``write`` takes these: no ZIP64 record needed, and at most ``MAX_BYTES`` (twice
    Lambda's 250 MB unzipped limit: a bigger tree is refused as a zip anyway)."""
    total = sum(entry.size for entry in entries)
    return len(entries) <= MAX_ENTRIES and total <= min(MAX_BYTES, ZIP64_LIMIT / 1.05)


def write(entries: Sequence[Entry], zip_path: Path, date_time: tuple[int, ...],
          workers: int | None = None) -> int:
    """Write ``entries`` in their order to ``zip_path``; returns its size in bytes."""
    dostime, dosdate = _dos(date_time)
    central: list[bytes] = []
    with zip_path.open("wb") as out:
        for entry, done in zip(entries, _deflate_all(entries, workers), strict=True):
            offset = out.tell()
            name, flags = _encoded(entry.name)
            fixed = (_DEFLATED, dostime, dosdate, done.crc, len(done.data), done.size,
                     len(name))
            out.write(struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", _VERSION, 0, flags, *fixed, 0))
            out.write(name)
            out.write(done.data)
            central.append(struct.pack(
                "<4s4B4HL2L5H2L", b"PK\x01\x02", _VERSION, _UNIX, _VERSION, 0, flags, *fixed,
                0, 0, 0, 0, entry.mode << 16, offset) + name)
        start = out.tell()
        for record in central:
            out.write(record)
        size = out.tell() - start
        out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central),
                              size, start, 0))
        return out.tell()


def _deflate_all(entries: Sequence[Entry], workers: int | None) -> Iterator[_Deflated]:
    """Each entry deflated, in order. The pool takes the biggest files first (a 24 MB OpenBLAS
    is a quarter of a python3.12 package: started last, it would leave the other threads idle
    at the end); the deflated bytes wait in memory until their turn (``fits`` bounds them)."""
    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zip") as pool:
        futures = {i: pool.submit(_deflate, entries[i].source)
                   for i in sorted(range(len(entries)), key=lambda i: -entries[i].size)}
        try:
            for i in range(len(entries)):
                yield futures.pop(i).result()
        finally:
            for future in futures.values():   # the write failed: deflate nothing more
                future.cancel()


def _deflate(path: Path) -> _Deflated:
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)   # raw deflate, as zipfile
    parts, crc, size = [], 0, 0
    with path.open("rb") as src:
        while chunk := src.read(_CHUNK):
            crc, size = zlib.crc32(chunk, crc), size + len(chunk)
            parts.append(compressor.compress(chunk))
    parts.append(compressor.flush())
    return _Deflated(crc, size, b"".join(parts))


def _dos(date_time: tuple[int, ...]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time
    return hour << 11 | minute << 5 | second // 2, (year - 1980) << 9 | month << 5 | day


def _encoded(name: str) -> tuple[bytes, int]:
    try:
        return name.encode("ascii"), 0
    except UnicodeEncodeError:
        return name.encode("utf-8"), _UTF8
