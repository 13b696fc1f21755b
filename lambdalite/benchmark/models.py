"""The models ``lambdalite bench`` knows by name, and the event each is invoked with.

``mnist`` and ``stegastamp``: the bundled examples (package data, ``lambdalite.examples``),
each sent its API Gateway event. ``large``: the ~52M-parameter model ``large_model.py``
generates and caches. Anything else is a folder made by ``lambdalite convert``, sent a direct
invoke with one seeded-noise PNG of its input size (an image classifier) or seeded tensors of
its inputs' shapes (any other model); ``--event FILE`` replaces it.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lambdalite import progress as progress_
from lambdalite.errors import ModelError, OptionError
from lambdalite.examples import mnist_example, stegastamp_example
from lambdalite.manifest import MANIFEST_NAME, InputSpec, Manifest, Preprocessing

MNIST, STEGASTAMP, LARGE = "mnist", "stegastamp", "large"
NAMES = (MNIST, STEGASTAMP, LARGE)
EXAMPLE_EVENT = "events/event.json"


@dataclass(frozen=True)
class Example:
    folder: Callable[[], Path]      # lambdalite.examples: the example's package data
    event: str                      # what its events/event.json carries
    remake: str                     # how its model folder is made again


EXAMPLES = {
    MNIST: Example(mnist_example, "API Gateway, one digit", "lambdalite train"),
    STEGASTAMP: Example(stegastamp_example, "API Gateway, the code of 'Stega!!'",
                        "python -m lambdalite.examples.stegastamp generate"),
}
SEED = 0
FREE_DIM = 16       # a generated tensor's size along each free dimension but the batch


def resolve_model(model: str | Path, progress: progress_.Progress | None = None) -> Path:
    """The model folder ``model`` names (``large``: generated on first use, which can take
    minutes; ``progress`` shows it)."""
    example = EXAMPLES.get(str(model))
    if example is not None:
        folder = example.folder() / "model"
        if not (folder / MANIFEST_NAME).exists():
            raise ModelError(f"the {model} example is not at {folder}: run `{example.remake}` "
                             "(or give a converted model folder)")
        return folder
    if model == LARGE:
        from lambdalite.benchmark.large_model import ensure_large_model  # deferred: needs TF

        return ensure_large_model(progress=progress)
    folder = Path(model)
    if not folder.is_dir():
        raise OptionError(f"{{model}} {str(model)!r} is neither {', '.join(NAMES)} nor a "
                          "model folder made by `lambdalite convert`")
    return folder


@dataclass(frozen=True)
class Event:
    payload: bytes
    label: str


def make_event(model_dir: Path, manifest: Manifest, event_file: Path | None = None) -> Event:
    """``event_file`` when given (any Lambda event, JSON). The bundled examples: their
    API Gateway events. A model with one image input and nothing else: a direct invoke with
    one seeded-noise PNG of its input size. Any other model: a direct invoke with every input
    as a seeded tensor (``tensor_event``). The same bytes on every run."""
    if event_file is not None:
        return file_event(event_file)
    for name, example in EXAMPLES.items():
        folder = example.folder()
        sample = folder / EXAMPLE_EVENT
        if model_dir.resolve() == (folder / "model").resolve() and sample.exists():
            return Event(sample.read_bytes(), f"the {name} example's {EXAMPLE_EVENT} "
                                              f"({example.event})")
    image = manifest.image_input
    if image is not None and image.preprocessing is not None and len(manifest.inputs) == 1:
        return noise_image_event(image.preprocessing)
    return tensor_event(manifest.inputs)


def file_event(path: Path) -> Event:
    try:
        payload = path.read_bytes()
        json.loads(payload)
    except OSError as exc:
        raise OptionError(f"{{event}} {path}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise OptionError(f"{{event}} {path} is not JSON ({exc}): give a Lambda event as "
                          "JSON (a direct invoke such as {\"inputs\": [[...]]}, or an API "
                          "Gateway event)") from None
    return Event(payload, f"{path} ({len(payload)} bytes)")


def noise_image_event(pre: Preprocessing) -> Event:
    from PIL import Image

    channels = 1 if pre.color_mode == "L" else 3
    rng = np.random.default_rng(SEED)
    pixels = rng.integers(0, 256, size=(pre.height, pre.width, channels), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels[..., 0] if channels == 1 else pixels, pre.color_mode).save(buf, "PNG")
    payload = json.dumps({"image": base64.b64encode(buf.getvalue()).decode()}).encode()
    return Event(payload, f"direct invoke, one {pre.width}x{pre.height} {pre.color_mode} PNG "
                          f"of seeded noise ({len(payload)} bytes)")


def tensor_event(inputs: Sequence[InputSpec]) -> Event:
    """``{"inputs": {name: {"npy": ...}}}``: one row (the batch dimension 1), every other free
    dimension ``FREE_DIM``; floats uniform in 0..1 (an image input: pixels of seeded noise,
    preprocessed as its manifest says), integers 0..9, bools either; seed ``SEED``."""
    rng = np.random.default_rng(SEED)
    tensors = {spec.name: seeded_tensor(spec, rng) for spec in inputs}
    payload = json.dumps({"inputs": {name: {"npy": npy_b64(value)}
                                     for name, value in tensors.items()}}).encode()
    shown = ", ".join(f"{n} {v.dtype} {list(v.shape)}" for n, v in tensors.items())
    return Event(payload, f"direct invoke, seeded tensors ({shown}; {len(payload)} bytes)")


def seeded_tensor(spec: InputSpec, rng: np.random.Generator) -> np.ndarray:
    shape = [1] + [FREE_DIM if d < 0 else d for d in spec.shape[1:]]
    dtype = np.dtype(spec.dtype)
    if spec.preprocessing is not None:
        pre = spec.preprocessing
        pixels = rng.integers(0, 256, size=shape)
        return (pixels * pre.scale + pre.offset).astype(dtype)
    if dtype.kind == "f":
        return rng.random(shape).astype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, size=shape).astype(bool)
    return rng.integers(0, 10, size=shape).astype(dtype)


def npy_b64(value: np.ndarray) -> str:
    buf = io.BytesIO()
    np.save(buf, value, allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode()
