"""Build the StegaStamp stand-in decoder in code and convert it: the committed model folder.

The decoder has no trained weights, only fixed ones that read the visible code:

    image [N,400,400,3] --avg pool 40x40, stride 40--> cell means [N,10,10,3]
        --1x1 conv, weights STEEPNESS/3 per channel, bias -STEEPNESS/2--> [N,10,10,1]
        --reshape [N,100], sigmoid--> decoded

so a cell's output is sigmoid(STEEPNESS * (mean brightness - 0.5)): 1 for a white cell, 0 for
a black one, and a steep step in between (0.5 at exactly 0.5). Nothing is random, so a run
gives the same SavedModel and, with the same TensorFlow, the same .tflite files.

``generate(out)`` writes ``out/model`` (saved_model/, float32, dynamic, float16 and int8
.tflite, manifest.json with ``decoded`` as ``bits``, hooks.py and its requirement bchlib,
eval.npz) and ``out/events/event.json``. int8 is calibrated on the codes of CALIBRATION_SECRETS.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lambdalite import progress as progress_
from lambdalite.conversion.execute import ConvertResult
from lambdalite.conversion.pipeline import convert
from lambdalite.conversion.plan import ConvertOptions
from lambdalite.examples import stegastamp_example
from lambdalite.examples.stegastamp import API_PATH, EVENT, EVENT_SECRET, encode_image, hooks
from lambdalite.function.backends.tf import import_tensorflow

STEEPNESS = 64.0          # sigmoid(+-32) is 1.0 / 0.0 in float32 for a clean black/white cell
HOOK_REQUIREMENT = "bchlib>=2.1,<3"
NAME = "stegastamp"
CALIBRATION_SECRETS = ("calib-0", "Lambda", "arm64", "x86_64", "", "0123456", "int8!", "TFLite")


@dataclass(frozen=True)
class EvalCase:
    secret: str
    flipped: tuple[int, ...] = ()   # cells drawn inverted (0..90: the bits BCH reads)

    def answer(self) -> dict[str, object]:
        """What the function must answer: the secret, or none when BCH cannot correct it."""
        if len(self.flipped) > hooks().BCH_BITS:
            return {"secret": None}
        return {"secret": self.secret, "bitflips": len(self.flipped)}


# The evaluation set: clean codes (ASCII, non-ASCII, empty, 7 bytes), codes with up to 5
# cells flipped (corrected), and one with 12 flipped (no secret: BCH reports it, checked).
EVAL_CASES = (
    EvalCase(EVENT_SECRET), EvalCase(""), EvalCase("héllo"), EvalCase("€uro"),
    EvalCase("7 bytes"), EvalCase("Stega!!", (3, 40, 77)),
    EvalCase("lambda", (0, 17, 33, 58, 90)),
    EvalCase("Stega!!", (1, 5, 9, 14, 22, 30, 41, 52, 63, 70, 81, 90)),
)


def code_pixels(case: EvalCase) -> np.ndarray:
    pixels = np.array(encode_image(case.secret))
    code = hooks()
    for cell in case.flipped:
        r, c = divmod(cell, code.GRID)
        block = pixels[r * code.CELL:(r + 1) * code.CELL, c * code.CELL:(c + 1) * code.CELL]
        block[...] = 255 - block
    return pixels


def build_decoder() -> Any:
    """The decoder as a ``tf.Module`` with StegaStamp's serving signature."""
    tf = import_tensorflow()  # deferred: only generating the example needs TensorFlow

    code = hooks()

    class Decoder(tf.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__(name="stegastamp_stand_in")
            self.kernel = tf.constant(np.full((1, 1, 3, 1), STEEPNESS / 3, np.float32))
            self.bias = tf.constant(np.full((1,), -STEEPNESS / 2, np.float32))

        @tf.function(input_signature=[tf.TensorSpec([None, code.SIZE, code.SIZE, 3],
                                                    tf.float32, name="image")])
        def serve(self, image: Any) -> dict[str, Any]:
            means = tf.nn.avg_pool2d(image, code.CELL, code.CELL, "VALID")
            logits = tf.nn.conv2d(means, self.kernel, 1, "VALID") + self.bias
            return {"decoded": tf.sigmoid(tf.reshape(logits, [-1, code.BITS]))}

    return Decoder()


def generate(out: Path | None = None, *, progress: progress_.Progress | None = None
             ) -> ConvertResult:
    """Write the example into ``out`` (default: the package's own folder), model/ replaced
    as a whole once the conversion succeeded."""
    tf = import_tensorflow()  # deferred: only generating the example needs TensorFlow

    out = out or stegastamp_example()
    shown = progress_.resolve(progress)
    shown.total(2)
    code = hooks()
    source_hooks = Path(str(code.__file__))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "model"
        work.mkdir()
        with progress_.step(shown, "building the decoder"):
            decoder = build_decoder()
            tf.saved_model.save(decoder, str(work / "saved_model"),
                                signatures={"serving_default": decoder.serve})
            calibration = Path(tmp) / "calibration.npz"
            np.savez(calibration, x=np.stack([code_pixels(EvalCase(s))
                                              for s in CALIBRATION_SECRETS]))
            hooks_copy = Path(tmp) / source_hooks.name
            shutil.copyfile(source_hooks, hooks_copy)
            evaluation = Path(tmp) / "eval.npz"
            write_evaluation_set(evaluation)
        with progress_.step(shown, "converting"):
            result = convert(ConvertOptions(
                model=work / "saved_model", out=work, calibration=calibration, name=NAME,
                output_kinds={"decoded": "bits"}, hooks=hooks_copy,
                hook_requirements=(HOOK_REQUIREMENT,), evaluation_set=evaluation,
                keep_tf_model=True, api_path=API_PATH,
            ), progress=progress_.nested(shown))
        target = out / "model"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(work, target)
    write_event(out)
    return result


def write_evaluation_set(path: Path) -> None:
    """``inputs/image`` pixels, ``outputs/decoded`` the bits drawn, ``answers`` what the hooks
    must answer (docs/CONVERT.md)."""
    pixels = np.stack([code_pixels(case) for case in EVAL_CASES])
    bits = (pixels[:, ::hooks().CELL, ::hooks().CELL, 0].reshape(len(EVAL_CASES), -1) > 127)
    arrays: dict[str, Any] = {
        "inputs/image": pixels,
        "outputs/decoded": bits.astype(np.float32),
        "answers": np.array([json.dumps(c.answer(), ensure_ascii=False) for c in EVAL_CASES]),
    }
    np.savez_compressed(path, **arrays)


def write_event(out: Path) -> None:
    from lambdalite.examples.train import api_gateway_event

    buf = io.BytesIO()
    encode_image(EVENT_SECRET).save(buf, "PNG")
    event = out / EVENT
    event.parent.mkdir(parents=True, exist_ok=True)
    event.write_text(json.dumps(api_gateway_event(buf.getvalue(), API_PATH), indent=2) + "\n")
