"""The StegaStamp example: the committed model folder, its encoder and its hooks, served by the
real function (LiteRT, every variant) in this process.

Through a built package and the real awslambdaric: ``test_stegastamp_package.py``; on arm64,
emulated: tests/functional/emulation/test_arm64_packages.py."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lambdalite.conversion.data import check_evaluation_set
from lambdalite.conversion.schema import schema_errors
from lambdalite.errors import UsageError
from lambdalite.examples import stegastamp_example
from lambdalite.examples.stegastamp import (
    API_PATH,
    EVENT,
    EVENT_SECRET,
    encode_image,
    hooks,
    write_code,
)
from lambdalite.examples.stegastamp.cli import run
from lambdalite.function.app import App, create_app
from lambdalite.function.config import FunctionConfig
from lambdalite.manifest import VARIANTS, Manifest

pytest.importorskip("bchlib")

MODEL = stegastamp_example() / "model"
SECRETS = ("Stega!!", "", "héllo", "€uro", "7 bytes", "a", "日本")   # up to 7 bytes of UTF-8


@pytest.fixture(scope="module")
def apps() -> dict[str, App]:
    return {v: create_app(FunctionConfig(model_dir=MODEL, variant=v), stream=io.StringIO())
            for v in VARIANTS}


def png_b64(image: Image.Image, fmt: str = "PNG", **options: object) -> str:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return base64.b64encode(buf.getvalue()).decode()


def flipped(secret: str, cells: list[int]) -> Image.Image:
    pixels = np.array(encode_image(secret))
    cell = hooks().CELL
    for i in cells:
        r, c = divmod(i, hooks().GRID)
        pixels[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] ^= 255
    return Image.fromarray(pixels)


def test_the_model_folder_is_small_valid_and_declares_bits_and_hooks() -> None:
    manifest = Manifest.load(MODEL)
    assert schema_errors(json.loads((MODEL / "manifest.json").read_text())) == []
    assert tuple(manifest.variants) == VARIANTS
    for v in manifest.variants.values():
        blob = (MODEL / v.file).read_bytes()
        assert (len(blob), hashlib.sha256(blob).hexdigest()) == (v.size_bytes, v.sha256)
        assert v.size_bytes < 10_000
    (image,) = manifest.inputs
    assert (image.name, image.dtype, image.shape) == ("image", "float32", [-1, 400, 400, 3])
    (decoded,) = manifest.outputs
    assert (decoded.name, decoded.kind, decoded.shape) == ("decoded", "bits", [-1, 100])
    assert manifest.hooks is not None and manifest.hooks.module == "hooks.py"
    assert manifest.hooks.requirements == ("bchlib>=2.1,<3",)
    assert manifest.evaluation_set == "eval.npz"
    assert check_evaluation_set(MODEL / "eval.npz", manifest.inputs, manifest.outputs) == 8


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_decodes_every_secret(apps: dict[str, App], variant: str) -> None:
    app = apps[variant]
    for secret in SECRETS:
        assert app({"image": png_b64(encode_image(secret))}) == {"secret": secret,
                                                                 "bitflips": 0}, secret
    answer = app({"images": [png_b64(encode_image(s)) for s in SECRETS[:3]]})
    assert [a["secret"] for a in answer["predictions"]] == list(SECRETS[:3])


def test_the_code_is_stegastamps_packet() -> None:
    code = hooks()
    bits = code.packet_bits("Stega!!")
    assert bits.shape == (100,) and not bits[96:].any()     # 4 padding cells, black
    assert hooks().CODE_BITS == 91                          # 56 data + 35 ECC bits
    data = np.packbits(bits[:96]).tobytes()
    assert data[:7] == b"Stega!!"
    assert data[7:] == bytes.fromhex("88a9fb4e40")           # bchlib.BCH(5, prim_poly=137)
    assert np.packbits(code.packet_bits("ab")[:56]).tobytes() == b"ab     "   # space-padded
    pixels = code.code_pixels(bits)
    assert pixels.shape == (400, 400, 3) and pixels.dtype == np.uint8
    assert (pixels[::40, ::40, 0].reshape(-1) > 127).tolist() == bits.astype(bool).tolist()


def test_up_to_five_flipped_cells_are_corrected(apps: dict[str, App]) -> None:
    rng = random.Random(5)
    for n in range(6):
        cells = rng.sample(range(hooks().CODE_BITS), n)
        answer = apps["float32"]({"image": png_b64(flipped("Stega!!", cells))})
        assert answer == {"secret": "Stega!!", "bitflips": n}, cells


# Beyond t=5 BCH usually detects the damage and sometimes miscorrects (a property of the code,
# about 1 pattern in 100 for this shortened code): these patterns are detected.
@pytest.mark.parametrize("cells", [[0, 9, 18, 27, 36, 45], [2, 3, 4, 50, 51, 52, 90, 91],
                                   list(range(0, 96, 8))])
def test_more_flipped_cells_are_no_secret_with_status_200(apps: dict[str, App],
                                                          cells: list[int]) -> None:
    answer = apps["int8"]({"image": png_b64(flipped("Stega!!", cells))})
    assert answer["secret"] is None and "more bit errors than BCH corrects (5)" in answer["error"]
    http = apps["float32"]({"httpMethod": "POST", "isBase64Encoded": True, "headers": {},
                            "body": png_b64(flipped("Stega!!", cells))})
    assert http["statusCode"] == 200 and json.loads(http["body"])["secret"] is None


def test_a_photo_of_the_code_still_decodes(apps: dict[str, App]) -> None:
    """ImageOps.fit: a bigger, non-square JPEG with noise, the code in its centre square."""
    rng = np.random.default_rng(3)
    code = np.array(encode_image("héllo").resize((900, 900), Image.Resampling.BICUBIC))
    canvas = rng.integers(0, 256, size=(900, 1300, 3), dtype=np.uint8)
    canvas[:, 200:1100] = code
    noisy = np.clip(canvas.astype(np.int16) + rng.integers(-40, 41, canvas.shape), 0, 255)
    photo = Image.fromarray(noisy.astype(np.uint8))
    for variant in VARIANTS:
        answer = apps[variant]({"image": png_b64(photo, "JPEG", quality=60)})
        assert answer == {"secret": "héllo", "bitflips": 0}, variant


def test_the_event_and_a_request_without_an_image(apps: dict[str, App]) -> None:
    event = json.loads((stegastamp_example() / EVENT).read_text())
    answer = apps["dynamic"](event)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"secret": EVENT_SECRET, "bitflips": 0}
    refused = apps["float32"]({"httpMethod": "POST", "headers": {"Content-Type":
                                                                 "application/json"},
                               "body": json.dumps({"text": "hi"})})
    assert refused["statusCode"] == 400
    assert json.loads(refused["body"])["error"]["type"] == "NoImage"
    tensor = np.asarray(encode_image("tensor"), np.float32)[None] / 255
    # A tensor carries its batch dimension: a list of answers, as the built-in answer does.
    assert apps["float16"]({"inputs": tensor.tolist()}) == {
        "predictions": [{"secret": "tensor", "bitflips": 0}]}


def test_the_encoder_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "code.png"
    assert run(["encode", "€uro", str(out)]) == 0
    with Image.open(out) as img:
        assert img.size == (400, 400) and img.mode == "RGB"
        assert np.array_equal(np.array(img), np.array(encode_image("€uro")))
    assert run(["encode", "eight b!", str(tmp_path / "long.png")]) == 2
    err = capsys.readouterr().err
    assert "'eight b!' is 8 bytes in UTF-8" in err and "at most 7" in err
    assert not (tmp_path / "long.png").exists()
    with pytest.raises(UsageError, match="'€€€' is 9 bytes"):
        write_code("€€€", tmp_path / "x.png")


@pytest.mark.tf
def test_the_generator_reproduces_the_committed_folder(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    from lambdalite.examples.stegastamp.generate import generate

    result = generate(tmp_path)
    assert all(o.ok for o in result.outcomes)
    made, committed = Manifest.load(tmp_path / "model"), Manifest.load(MODEL)
    assert (made.inputs, made.outputs, made.hooks) == (committed.inputs, committed.outputs,
                                                      committed.hooks)
    assert made.api_path == committed.api_path == API_PATH == "/decode"   # its event's path
    for name in ("hooks.py", "eval.npz"):
        assert (tmp_path / "model" / name).read_bytes() == (MODEL / name).read_bytes(), name
    assert (tmp_path / EVENT).read_text() == (stegastamp_example() / EVENT).read_text()
    with np.load(MODEL / "eval.npz") as data:
        x = data["inputs/image"].astype(np.float32) / 255
    for v in VARIANTS:
        ours, theirs = (create_app(FunctionConfig(model_dir=d, variant=v), stream=io.StringIO())
                        .backend.predict({"image": x})["decoded"] for d in (tmp_path / "model",
                                                                            MODEL))
        np.testing.assert_array_equal(ours, theirs, err_msg=v)
