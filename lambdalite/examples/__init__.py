"""The bundled examples: MNIST (and the code that made it, ``lambdalite train``) and the
write-up's StegaStamp decoder (``stegastamp/``: its encoder and generator, docs in its package).

``mnist/`` holds model/ (manifest, four .tflite variants, the SavedModel and .keras original),
events/event.json, eval.npz and digits/. It is package data: a wheel installs it, so
``lambdalite bench --model mnist`` runs from an installed lambdalite as from a checkout.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def mnist_example() -> Path:
    """The example's folder; a real folder in every file-system install (wheel or editable)."""
    return Path(str(files(__name__) / "mnist"))


def stegastamp_example() -> Path:
    """The StegaStamp example's folder (``model/``, ``events/``), package data like MNIST's."""
    return Path(str(files(__name__) / "stegastamp"))
