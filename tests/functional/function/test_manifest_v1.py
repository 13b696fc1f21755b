"""A model folder with a version 1 manifest (every package built before manifest v2) is served
as before: its one image input and one classes output come from the upgrade in memory."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from lambdalite.function.app import create_app
from lambdalite.function.config import FunctionConfig

from .conftest import MNIST_MODEL

V1 = Path(__file__).resolve().parents[2] / "fixtures" / "manifests" / "mnist_v1.json"


def test_a_version_1_folder_serves_images_and_tensors(tmp_path: Path, served) -> None:
    for variant in ("float32", "int8"):
        shutil.copyfile(MNIST_MODEL / f"{variant}.tflite", tmp_path / f"{variant}.tflite")
    shutil.copyfile(V1, tmp_path / "manifest.json")
    sample = next(s for s in served.samples if s.label == 7)
    for variant in ("float32", "int8"):
        app = create_app(FunctionConfig(model_dir=tmp_path, variant=variant),
                         stream=io.StringIO())
        assert app({"image": sample.b64}) == {"predicted_label": 7}
        assert app({"images": [sample.b64], "top_k": 1})["predictions"][0]["top_k"][0]["index"] == 7
        assert app({"inputs": {"image": [[[[0.0]] * 28] * 28]}})["predictions"][0].keys() == {
            "predicted_label"}
