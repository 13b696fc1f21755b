"""A model with hooks: ``build`` ships the hooks module with the model and installs its
requirements for the target, through the same checks, never slimmed away."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from lambdalite.bundle.api import PackageOptions, build_package
from lambdalite.manifest import Hooks, Manifest

from .conftest import MODEL_DIR

# typing_extensions is what a slim rule drops from every LiteRT package (ai-edge-litert pulls
# it in, the Interpreter never imports it): a hook that needs it must still get it.
HOOKS = '''
import typing_extensions


def postprocess(outputs, request):
    return {"digit": int(outputs["output_0"].argmax()), "from": typing_extensions.__name__}
'''


@pytest.fixture(scope="module")
def hooked_build(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("hooked") / "model"
    folder.mkdir()
    manifest = Manifest.load(MODEL_DIR)
    variant = manifest.variant("float32")
    shutil.copyfile(MODEL_DIR / variant.file, folder / variant.file)
    (folder / "hooks.py").write_text(HOOKS)
    (folder / "eval.npz").write_bytes(b"not needed in the package")
    manifest._replace(variants={"float32": variant}, evaluation_set="eval.npz",
            hooks=Hooks("hooks.py", ("typing_extensions>=4",)),
            model=manifest.model._replace(tf_model=None)).save(folder)
    out = tmp_path_factory.mktemp("hooked-build")
    return build_package(PackageOptions(model_dir=folder, out_dir=out, runtime="python3.11",
                                        arch="x86_64"))


def test_hooks_and_their_requirements_ship(hooked_build, run_isolated, mnist_event) -> None:
    root: Path = hooked_build.task_root
    # (__pycache__: the hooks module compiled for the target, like the function's code)
    assert sorted(p.name for p in (root / "model").iterdir()) == [
        "__pycache__", "float32.tflite", "hooks.py", "manifest.json"]
    shipped = Manifest.load(root / "model")
    assert shipped.hooks == Hooks("hooks.py", ("typing_extensions>=4",))
    assert shipped.evaluation_set is None  # bench's data stays behind
    assert (root / "typing_extensions.py").is_file()
    assert any(pin.startswith("typing_extensions==") for pin in hooked_build.installed)
    assert "typing_extensions>=4" in hooked_build.options.extra_requirements
    assert any("kept for" in note and "typing_extensions" in note for note in hooked_build.notes)
    event, label = mnist_event
    out = run_isolated(sys.executable, root)  # this venv's Python is 3.11: the build's target
    assert out["response"]["statusCode"] == 200
    assert json.loads(out["response"]["body"]) == {"digit": label, "from": "typing_extensions"}
