"""The models ``lambdalite bench`` knows by name, and the event each is invoked with.

``mnist``: the bundled example (package data, ``lambdalite.examples.mnist_example()``), sent
its API Gateway event. ``large``: the ~52M-parameter model ``large_model.py`` generates and
caches. Anything else is a folder made by ``lambdalite convert``, sent a direct invoke with one
seeded-noise PNG of its input size.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from pathlib import Path

from lambdalite import progress as progress_
from lambdalite.errors import ModelError, OptionError
from lambdalite.examples import mnist_example
from lambdalite.manifest import MANIFEST_NAME, Manifest

MNIST, LARGE = "mnist", "large"
NAMES = (MNIST, LARGE)
MNIST_EVENT = "events/event.json"


def resolve_model(model: str | Path, progress: progress_.Progress | None = None) -> Path:
    """The model folder ``model`` names (``large``: generated on first use, which can take
    minutes; ``progress`` shows it)."""
    if model == MNIST:
        folder = mnist_example() / "model"
        if not (folder / MANIFEST_NAME).exists():
            raise ModelError(f"the MNIST example is not at {folder}: run `lambdalite train` "
                             "(or give a converted model folder)")
        return folder
    if model == LARGE:
        from lambdalite.benchmark.large_model import ensure_large_model  # deferred: needs TF

        return ensure_large_model(progress=progress)
    folder = Path(model)
    if not folder.is_dir():
        raise OptionError(f"{{model}} {str(model)!r} is neither {MNIST}, {LARGE} nor a model "
                          "folder made by `lambdalite convert`")
    return folder


@dataclass(frozen=True)
class Event:
    payload: bytes
    label: str


def make_event(model_dir: Path, manifest: Manifest) -> Event:
    """The MNIST example: its SAM-style API Gateway event. Others: a direct invoke with one
    seeded-noise PNG of the model's input size (same bytes on every run)."""
    example = mnist_example()
    sample = example / MNIST_EVENT
    if model_dir.resolve() == (example / "model").resolve() and sample.exists():
        return Event(sample.read_bytes(), f"the MNIST example's {MNIST_EVENT} "
                                          "(API Gateway, one digit)")
    import numpy as np
    from PIL import Image

    pre = manifest.preprocessing
    if pre is None:
        raise ModelError(f"{manifest.model.name} takes no image ({', '.join(i.name for i in manifest.inputs)} "
                         "are tensors): bench sends an image event only, for now")
    channels = 1 if pre.color_mode == "L" else 3
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(pre.height, pre.width, channels), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels[..., 0] if channels == 1 else pixels, pre.color_mode).save(buf, "PNG")
    payload = json.dumps({"image": base64.b64encode(buf.getvalue()).decode()}).encode()
    return Event(payload, f"direct invoke, one {pre.width}x{pre.height} {pre.color_mode} PNG "
                          f"of seeded noise ({len(payload)} bytes)")
