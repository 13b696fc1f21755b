"""The StegaStamp example's hooks: what StegaStamp's ``decode_image.py`` does around its model.

preprocess: each image ``ImageOps.fit`` to 400x400 RGB (centre crop to the square, then
resize), divided by 255. postprocess: bits 0..95 of ``decoded`` -> 12 bytes, MSB first ->
BCH (t=5, primitive polynomial 137: StegaStamp's ``BCH_BITS``/``BCH_POLYNOMIAL``) corrects the
7 data bytes with the 5 ECC bytes -> ``{"secret": "<utf-8>", "bitflips": n}``, or
``{"secret": null, "error": ...}`` when the code cannot be corrected: the image simply holds
no secret, which is an answer, not an error status.

This file is also the encoder's source of the code (``packet_bits``, ``code_pixels``), so the
bits an image is written with and the bits the function reads are defined once; the
``lambdalite.examples.stegastamp`` package loads it by path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import bchlib
import numpy as np
from PIL import Image, ImageOps

from lambdalite.errors import ClientError

SIZE = 400                  # StegaStamp's input: 400x400 RGB
GRID = 10                   # the stand-in's code: 10x10 cells of 40x40 pixels, row-major
CELL = SIZE // GRID
BITS = GRID * GRID          # the model's output: 100 bits
SECRET_BYTES = 7            # StegaStamp: 56 data bits ...
BCH_BITS, BCH_POLYNOMIAL = 5, 137   # ... + 40 ECC bits (5 bytes); bits 96..99 are padding
PADDING = b" "              # StegaStamp's encode_image.py pads a short secret with spaces
INPUT, OUTPUT = "image", "decoded"

BCH = bchlib.BCH(BCH_BITS, prim_poly=BCH_POLYNOMIAL)
PACKET_BITS = (SECRET_BYTES + BCH.ecc_bytes) * 8     # 96
# The bits BCH reads: 56 data + 35 ECC bits; the last 5 bits of the 5 ECC bytes are unused,
# so cells 91..95 (like the padding cells 96..99) may be anything.
CODE_BITS = SECRET_BYTES * 8 + BCH.ecc_bits          # 91


class NoImage(ClientError):
    """A request without a picture (or an ``image`` tensor)."""

    status = 400


def preprocess(request: Any) -> Mapping[str, np.ndarray]:
    if INPUT in request.tensors:            # already 0..1, as the model takes it
        return {INPUT: request.tensors[INPUT]}
    if not request.images:
        raise NoImage("send a picture: {\"image\": \"<base64 PNG or JPEG>\"} (or \"images\": "
                      "[...], or the raw image as an HTTP body)")
    return {INPUT: np.stack([fitted(image) for image in request.images])}


def fitted(image: Image.Image) -> np.ndarray:
    """decode_image.py's input: ImageOps.fit to 400x400 RGB, float32 0..1."""
    square = ImageOps.fit(image.convert("RGB"), (SIZE, SIZE))
    return np.asarray(square, dtype=np.float32) / 255.0


def postprocess(outputs: Mapping[str, np.ndarray], request: Any) -> object:
    answers = [decode_bits(row > 0.5) for row in np.asarray(outputs[OUTPUT])]
    return {"predictions": answers} if request.batch else answers[0]


def decode_bits(bits: np.ndarray) -> dict[str, object]:
    """One row of ``decoded`` (100 bools) -> the secret it holds, or why it holds none."""
    packet = np.packbits(np.asarray(bits[:PACKET_BITS], dtype=np.uint8)).tobytes()
    data = bytearray(packet[:SECRET_BYTES])
    ecc = bytearray(packet[SECRET_BYTES:])
    bitflips = BCH.decode(data, ecc)
    if bitflips < 0:
        return {"secret": None, "error": f"the code has more bit errors than BCH corrects "
                                         f"({BCH_BITS}): no secret in this image"}
    BCH.correct(data, ecc)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return {"secret": None, "error": "the corrected code is not UTF-8 text: no secret in "
                                         "this image"}
    return {"secret": text.rstrip(PADDING.decode()), "bitflips": bitflips}


def packet_bits(secret: str) -> np.ndarray:
    """The 100 bits an image carries for ``secret`` (encode_image.py's packet): 7 data bytes
    (padded with spaces), 5 ECC bytes, MSB first, then 4 zero bits."""
    data = secret.encode("utf-8")
    if len(data) > SECRET_BYTES:
        raise ValueError(f"the secret {secret!r} is {len(data)} bytes in UTF-8; StegaStamp's "
                         f"code holds at most {SECRET_BYTES} (56 data bits + 40 ECC bits)")
    padded = bytearray(data + PADDING * (SECRET_BYTES - len(data)))
    packet = bytes(padded) + bytes(BCH.encode(padded))
    bits = np.unpackbits(np.frombuffer(packet, dtype=np.uint8))
    return np.concatenate([bits, np.zeros(BITS - PACKET_BITS, dtype=np.uint8)])


def code_pixels(bits: np.ndarray) -> np.ndarray:
    """The visible code for 100 bits: a 400x400 RGB uint8 picture, cell i white when bit i
    is 1 (row-major)."""
    grid = np.asarray(bits, dtype=np.uint8).reshape(GRID, GRID) * 255
    cells = np.kron(grid, np.ones((CELL, CELL), dtype=np.uint8))
    return np.repeat(cells[..., None], 3, axis=2)
