"""The fuzz's inputs: seeded, generated from the example's real digit files. Each is an HTTP
request to the classifier's route and what its answer must be: the right label (a valid digit),
or any answer below 500 (the function must refuse bad input with a 4xx, never fail on it).
When hypothesis is installed (the dev extra), it adds bodies of its own (``hypothesis_bodies``).
"""

from __future__ import annotations

import base64
import functools
import io
import json
import random
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

PNG, JSON, TEXT = "image/png", "application/json", "text/plain"


@dataclass(frozen=True)
class Digit:
    label: int
    data: bytes
    kind: str                        # "png" | "jpeg"


@dataclass(frozen=True)
class FuzzInput:
    kind: str                        # what generated it (the table counts by kind)
    content_type: str
    body: bytes
    label: int | None = None         # a valid digit: the answer must be this label


def digits(folder: Path) -> list[Digit]:
    """The example's digit files: ``<label>_<n>.png|jpg``."""
    out = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in (".png", ".jpg", ".jpeg") and path.name[0].isdigit():
            out.append(Digit(int(path.name.split("_")[0]), path.read_bytes(),
                             "png" if path.suffix.lower() == ".png" else "jpeg"))
    return out


def generate(samples: list[Digit], count: int, seed: int) -> Iterator[FuzzInput]:
    """``count`` inputs, the same ones for the same seed."""
    rng = random.Random(seed)
    makers = (_valid_binary, _valid_json, _bit_flips, _truncated, _spliced, _random_bytes,
              _json_shapes, _base64_garbage, _declared_huge, _bomb_batch, _text_bomb, _top_k)
    for i in range(count):
        yield makers[i % len(makers)](rng, samples)


def hypothesis_bodies(count: int, seed: int) -> list[FuzzInput] | None:
    """``count`` bodies drawn by hypothesis (binary, and JSON values of any shape), or None
    when hypothesis is not installed."""
    try:
        from hypothesis import HealthCheck, given, settings
        from hypothesis import strategies as st
    except ImportError:
        return None
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner,
                                                                     max_size=5),
        max_leaves=20)
    bodies = st.one_of(
        st.binary(max_size=4096).map(lambda b: FuzzInput("hypothesis-binary", PNG, b)),
        json_values.map(lambda v: FuzzInput("hypothesis-json", JSON, json.dumps(v).encode())),
        st.fixed_dictionaries({"image": st.text(max_size=200)}).map(
            lambda v: FuzzInput("hypothesis-json", JSON, json.dumps(v).encode())))
    found: list[FuzzInput] = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(bodies)
    def draw(item: FuzzInput) -> None:
        found.append(item)

    draw()
    random.Random(seed).shuffle(found)
    return found[:count]


# -- the makers ----------------------------------------------------------------------------------

def _pick(rng: random.Random, samples: list[Digit]) -> Digit:
    return samples[rng.randrange(len(samples))]


def _valid_binary(rng: random.Random, samples: list[Digit]) -> FuzzInput:
    digit = _pick(rng, [s for s in samples if s.kind == "png"] or samples)
    return FuzzInput("valid-binary", PNG, digit.data, digit.label)


def _valid_json(rng: random.Random, samples: list[Digit]) -> FuzzInput:
    digit = _pick(rng, samples)
    body = json.dumps({"image": base64.b64encode(digit.data).decode()}).encode()
    return FuzzInput("valid-json", JSON, body, digit.label)


def _bit_flips(rng: random.Random, samples: list[Digit]) -> FuzzInput:
    data = bytearray(_pick(rng, samples).data)
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return FuzzInput("bit-flips", PNG, bytes(data))


def _truncated(rng: random.Random, samples: list[Digit]) -> FuzzInput:
    data = _pick(rng, samples).data
    return FuzzInput("truncated", PNG, data[:rng.randrange(1, len(data))])


def _spliced(rng: random.Random, samples: list[Digit]) -> FuzzInput:
    a, b = _pick(rng, samples).data, _pick(rng, samples).data
    cut = rng.randrange(8, min(len(a), len(b)))
    return FuzzInput("spliced", PNG, a[:cut] + b[cut:] + rng.randbytes(rng.randrange(64)))


def _random_bytes(rng: random.Random, samples: list[Digit]) -> FuzzInput:
    prefix = rng.choice([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"RIFF", b"BM"])
    return FuzzInput("random-bytes", PNG, prefix + rng.randbytes(rng.randrange(1, 3000)))


def _json_shapes(rng: random.Random, samples: list[Digit]) -> FuzzInput:
    shapes: list[object] = [
        {}, [], None, 1, "x", {"image": None}, {"image": 5}, {"images": []},
        {"images": "notalist"}, {"images": [1, 2]}, {"image": "", "images": [""]},
        {"image": "a", "body": "b"}, {"warmup": "yes"}, {"top_k": -1, "image": "AAAA"},
        {"images": ["AAAA"] * rng.randint(17, 40)}, {"image": {"nested": [1, {"x": []}]}},
    ]
    body = json.dumps(rng.choice(shapes)).encode()
    if rng.random() < 0.3:
        body = body[:rng.randrange(len(body) + 1)] + b"{[,:"[rng.randrange(4):][:1]
    if rng.random() < 0.1:
        depth = rng.randint(100, 5000)
        body = b"[" * depth + b"]" * depth
    return FuzzInput("json-shapes", JSON, body)


def _base64_garbage(rng: random.Random, samples: list[Digit]) -> FuzzInput:
    text = base64.b64encode(_pick(rng, samples).data).decode()
    choice = rng.randrange(4)
    if choice == 0:
        text = text.replace("A", "!", rng.randint(1, 5))
    elif choice == 1:
        text = "data:image/png;base64," + text[:rng.randrange(len(text))]
    elif choice == 2:
        text = text + "=" * rng.randint(1, 9) + "\u00e9\u4e2d"
    else:
        text = base64.urlsafe_b64encode(rng.randbytes(rng.randrange(1, 500))).decode()
    return FuzzInput("base64-garbage", JSON, json.dumps({"image": text}).encode())


def _declared_huge(rng: random.Random, samples: list[Digit]) -> FuzzInput:
    """A real PNG whose IHDR claims an enormous canvas (CRC fixed, so the header parses)."""
    png = bytearray(next(s.data for s in samples if s.kind == "png"))
    width, height = rng.choice([(50_000, 50_000), (4096, 4097), (1, 10**9), (65535, 65535)])
    png[16:24] = struct.pack(">II", width, height)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])) & 0xFFFFFFFF)
    return FuzzInput("declared-huge", PNG, bytes(png))


def _bomb_batch(rng: random.Random, samples: list[Digit]) -> FuzzInput:
    bomb = _webp_bomb(rng.choice([2048, 3000, 4095]))
    return FuzzInput("bomb-batch", JSON, json.dumps({"images": [bomb] * rng.randint(1, 16)})
                     .encode())


@functools.cache
def _webp_bomb(side: int) -> str:
    """A few hundred bytes of lossless WebP declaring a side x side canvas."""
    buf = io.BytesIO()
    Image.new("RGB", (side, side), (200, 10, 10)).save(buf, "WEBP", lossless=True)
    return base64.b64encode(buf.getvalue()).decode()


def _text_bomb(rng: random.Random, samples: list[Digit]) -> FuzzInput:
    """PNG zTXt chunks that inflate to megabytes while the header is read."""
    png = next(s.data for s in samples if s.kind == "png")
    text = zlib.compress(b"a" * (900 * 1024), 9)
    chunks = b"".join(_png_chunk(b"zTXt", b"k%d\0\0" % i + text)
                      for i in range(rng.randint(3, 70)))
    return FuzzInput("text-bomb", PNG, png[:33] + chunks + png[33:])


def _top_k(rng: random.Random, samples: list[Digit]) -> FuzzInput:
    digit = _pick(rng, samples)
    value = rng.choice([0, 1, 3, 10, 1001, "5", "x", True, None, 2.5, [1]])
    body = json.dumps({"image": base64.b64encode(digit.data).decode(), "top_k": value}).encode()
    return FuzzInput("top-k", JSON, body)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
