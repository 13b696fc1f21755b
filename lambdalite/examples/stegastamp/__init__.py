"""The write-up's application: a StegaStamp decoder behind a Lambda function, with BCH.

StegaStamp's trained weights cannot be fetched here, so ``generate.py`` builds a stand-in
decoder deterministically in code: a SavedModel with StegaStamp's serving signature (input
``image`` float32 [N,400,400,3] in 0..1, output ``decoded`` [N,100] of 0/1) whose fixed weights
read a visible code: a 10x10 grid of 40x40-pixel cells, row-major, bit i = 1 when cell i's mean
brightness is above 0.5. The model folder (package data, ``stegastamp_example()``) holds the
four variants, ``hooks.py`` (decode_image.py's pre- and post-processing: ImageOps.fit, BCH) and
``eval.npz``; ``events/event.json`` is an API Gateway event carrying the code of ``Stega!!``.

    python -m lambdalite.examples.stegastamp encode 'Stega!!' code.png
    python -m lambdalite.examples.stegastamp generate        # the model folder again (TF)

``encode_image`` and ``write_code`` are the encoder as functions. The bits come from the
model folder's ``hooks.py`` (loaded by path, as the function loads it): the code an image is
written with and the code the function reads are defined once.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

from PIL import Image

from lambdalite.errors import DependencyError, UsageError
from lambdalite.examples import stegastamp_example

HOOKS_MODULE = "lambdalite_stegastamp_hooks"   # not the function's name: both may be loaded
EVENT = "events/event.json"
API_PATH = "/decode"   # its API event's path, in the manifest (`build` writes it)
EVENT_SECRET = "Stega!!"


def model_dir() -> Path:
    return stegastamp_example() / "model"


@cache
def hooks() -> ModuleType:
    """The model folder's hooks module (needs bchlib: ``pip install 'lambdalite[stegastamp]'``)."""
    if importlib.util.find_spec("bchlib") is None:
        raise DependencyError("the StegaStamp example's code needs bchlib: pip install "
                              "'lambdalite[stegastamp]' (or 'bchlib>=2.1,<3')")
    path = model_dir() / "hooks.py"
    spec = importlib.util.spec_from_file_location(HOOKS_MODULE, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[HOOKS_MODULE] = module
    spec.loader.exec_module(module)
    return module


def encode_image(secret: str) -> Image.Image:
    """The 400x400 RGB picture of ``secret``'s code (up to 7 bytes of UTF-8)."""
    code = hooks()
    try:
        bits = code.packet_bits(secret)
    except ValueError as exc:
        raise UsageError(f"{exc}: shorten it") from None
    return Image.fromarray(code.code_pixels(bits), "RGB")


def write_code(secret: str, out: Path) -> Path:
    """``encode_image(secret)`` saved to ``out`` (format from the suffix: .png keeps it exact)."""
    image = encode_image(secret)
    try:
        image.save(out)
    except (ValueError, OSError) as exc:
        raise UsageError(f"cannot write {out}: {exc} (give a .png or .jpg path)") from None
    return out


__all__ = ["EVENT", "EVENT_SECRET", "encode_image", "hooks", "model_dir", "stegastamp_example",
           "write_code"]
