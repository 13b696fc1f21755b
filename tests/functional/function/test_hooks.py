"""Hooks: a Python file in the model folder, imported once at INIT, around the model.

The MNIST example's float32 variant with a hooks module written by each test; the whole
contract (docs/FUNCTION.md) through the app, and once through the real awslambdaric."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lambdalite.function.app import create_app
from lambdalite.function.config import FunctionConfig
from lambdalite.function.errors import HookError
from lambdalite.function.hooks import MODULE_NAME
from lambdalite.manifest import Hooks, Manifest

from .conftest import MNIST_DIGITS, MNIST_MODEL

SEVEN = base64.b64encode((MNIST_DIGITS / "7_0.png").read_bytes()).decode()

RECORDING = '''
from pathlib import Path

import numpy as np
from PIL import ImageOps

from lambdalite.errors import ClientError

calls = []


class Unreadable(ClientError):
    status = 422


def setup(model_dir: Path) -> None:
    calls.append(("setup", (model_dir / "manifest.json").is_file()))


def preprocess(request):
    calls.append(("preprocess", len(request.images), sorted(request.tensors),
                  request.body is not None, request.top_k, request.batch, request.event))
    if request.body and request.body.get("refuse"):
        raise Unreadable("this image holds no digit; send another")
    if request.body and "text" in request.body:
        value = float(len(request.body["text"])) / 100.0
        return {"image": np.full((1, 28, 28, 1), value, np.float32)}
    pixels = [np.asarray(ImageOps.grayscale(img).resize((28, 28)), np.float32) / 255.0
              for img in request.images]
    return {"image": np.stack(pixels)[..., None]}


def postprocess(outputs, request):
    calls.append(("postprocess", sorted(outputs)))
    if request.body and request.body.get("explode"):
        raise ValueError("the postprocess hook cannot read this")
    probs = outputs["output_0"]
    return {"digits": probs.argmax(axis=1), "calls": len(calls)}
'''


def hooked_model(tmp_path: Path, source: str, module: str = "hooks.py") -> Path:
    """The MNIST float32 variant and a hooks module, in a folder of their own."""
    folder = tmp_path / "model"
    folder.mkdir()
    manifest = Manifest.load(MNIST_MODEL)
    variant = manifest.variant("float32")
    shutil.copyfile(MNIST_MODEL / variant.file, folder / variant.file)
    (folder / module).write_text(textwrap.dedent(source))
    manifest._replace(variants={"float32": variant}, hooks=Hooks(module, ()),
            model=manifest.model._replace(tf_model=None)).save(folder)
    return folder


def http(body: dict) -> dict:
    return {"httpMethod": "POST", "body": json.dumps(body), "isBase64Encoded": False,
            "headers": {"Content-Type": "application/json"}}


def test_setup_once_then_preprocess_and_postprocess_per_request(tmp_path: Path) -> None:
    log = io.StringIO()
    app = create_app(FunctionConfig(model_dir=hooked_model(tmp_path, RECORDING)), stream=log)
    hooks = sys.modules[MODULE_NAME]
    assert hooks.calls == [("setup", True)]
    assert app({"image": SEVEN}) == {"digits": [7], "calls": 3}
    out = app(http({"images": [SEVEN, SEVEN], "top_k": 2}))
    assert out["statusCode"] == 200 and json.loads(out["body"]) == {"digits": [7, 7], "calls": 5}
    assert hooks.calls[1:] == [
        ("preprocess", 1, [], True, None, False, "direct"),
        ("postprocess", ["output_0"]),
        ("preprocess", 2, [], True, 2, True, "apigateway-rest"),
        ("postprocess", ["output_0"]),
    ]
    # A JSON body of the hook's own shape: no image, no inputs.
    assert app({"text": "x" * 30})["digits"] == app({"text": "x" * 30})["digits"]
    init = json.loads(log.getvalue().splitlines()[0])
    assert init["message"] == "init" and init["hooks"] == ["setup", "preprocess", "postprocess"]
    # The INIT warm-up ran the model alone: no preprocess/postprocess call before the requests'.
    assert init["warmup"] == "on (auto)" and isinstance(init["warmup_ms"], float)


def test_a_model_with_hooks_has_every_accepted_pillow_plugin_before_its_setup(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The function registers PNG's plugin at INIT and the others at their first image; hook
    # code that opens images itself (explicit formats included) finds all five registered.
    from lambdalite.function import decode

    monkeypatch.setattr(decode, "_loaded", {"PNG"})    # as a fresh INIT leaves it
    source = "from lambdalite.function import decode\n\n" \
             "def setup(model_dir):\n    assert decode._loaded == set(decode.FORMATS)\n"
    create_app(FunctionConfig(model_dir=hooked_model(tmp_path, source)), stream=io.StringIO())


def test_a_client_error_from_a_hook_is_its_own_4xx(tmp_path: Path) -> None:
    app = create_app(FunctionConfig(model_dir=hooked_model(tmp_path, RECORDING)),
                     stream=io.StringIO())
    with pytest.raises(Exception, match="holds no digit") as info:
        app({"image": SEVEN, "refuse": True})
    assert type(info.value).__name__ == "Unreadable" and info.value.status == 422
    out = app(http({"image": SEVEN, "refuse": True}))
    assert out["statusCode"] == 422
    assert json.loads(out["body"])["error"] == {
        "type": "Unreadable", "message": "this image holds no digit; send another"}


def test_a_hook_exception_is_a_function_error_of_its_type_with_the_traceback_logged(
    tmp_path: Path,
) -> None:
    log = io.StringIO()
    app = create_app(FunctionConfig(model_dir=hooked_model(tmp_path, RECORDING)), stream=log)
    with pytest.raises(ValueError, match="cannot read this"):
        app({"image": SEVEN, "explode": True})
    failed = [json.loads(line) for line in log.getvalue().splitlines()
              if '"hook failed"' in line]
    assert len(failed) == 1
    entry = failed[0]
    assert (entry["level"], entry["hook"], entry["error_type"], entry["status"]) == (
        "ERROR", "postprocess", "ValueError", 500)
    assert "hooks.py" in entry["traceback"] and "in postprocess" in entry["traceback"]
    out = app(http({"image": SEVEN, "explode": True}))
    assert out["statusCode"] == 500
    assert json.loads(out["body"])["error"] == {
        "type": "ValueError", "message": "the postprocess hook cannot read this"}
    assert app({"image": SEVEN})["digits"] == [7]  # and it keeps serving


BROKEN_CONTRACT = '''
import numpy as np

def preprocess(request):
    shape = (1, 28, 28) if request.body.get("rank3") else (1, 28, 28, 1)
    name = "pixels" if request.body.get("rename") else "image"
    return {name: np.zeros(shape, np.float32)}

def postprocess(outputs, request):
    return object() if request.body.get("opaque") else float("nan")
'''


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"rename": True}, r"returned inputs \['pixels'\]; the model takes image"),
        ({"rank3": True}, "the preprocess hook's image has rank 3"),
        ({"opaque": True}, "returned what JSON cannot hold .*object is not JSON serializable"),
        ({}, "returned what JSON cannot hold .*Out of range float values"),
    ],
)
def test_a_hook_breaking_the_contract_is_a_hook_error(tmp_path: Path, body: dict,
                                                      message: str) -> None:
    app = create_app(FunctionConfig(model_dir=hooked_model(tmp_path, BROKEN_CONTRACT)),
                     stream=io.StringIO())
    with pytest.raises(HookError, match=message) as info:
        app(body)
    assert info.value.status == 500


def test_a_failing_setup_fails_init_with_its_own_exception(tmp_path: Path) -> None:
    source = "def setup(model_dir):\n    raise RuntimeError('weights.bin is missing')\n"
    log = io.StringIO()
    with pytest.raises(RuntimeError, match="weights.bin is missing"):
        create_app(FunctionConfig(model_dir=hooked_model(tmp_path, source)), stream=log)
    entry = json.loads(log.getvalue().splitlines()[-1])
    assert entry["message"] == "hook setup failed" and "in setup" in entry["traceback"]


def test_a_missing_or_misplaced_hooks_file_is_a_model_error(tmp_path: Path) -> None:
    from lambdalite.errors import ModelError

    folder = hooked_model(tmp_path, "")
    (folder / "hooks.py").unlink()
    with pytest.raises(ModelError, match="hooks module 'hooks.py' but .* is missing"):
        create_app(FunctionConfig(model_dir=folder), stream=io.StringIO())
    manifest = Manifest.load(folder)
    manifest._replace(hooks=Hooks("../hooks.py", ())).save(folder)
    with pytest.raises(ModelError, match="must be a .py file name in the model folder"):
        create_app(FunctionConfig(model_dir=folder), stream=io.StringIO())


NO_HOOK = """
import io, sys
from pathlib import Path
from lambdalite.function.app import create_app
from lambdalite.function.config import FunctionConfig
app = create_app(FunctionConfig(model_dir=Path(sys.argv[1])), stream=io.StringIO())
app({"image": sys.argv[2]})
print(sys.argv[3] in sys.modules)
"""


@pytest.mark.parametrize("with_hooks", [False, True])
def test_no_hook_no_import(tmp_path: Path, with_hooks: bool) -> None:
    folder = hooked_model(tmp_path, RECORDING) if with_hooks else MNIST_MODEL
    proc = subprocess.run([sys.executable, "-c", NO_HOOK, str(folder), SEVEN, MODULE_NAME],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == str(with_hooks)


def test_hooks_under_the_real_runtime_client(tmp_path: Path, repo_root: Path) -> None:
    engine_mod = pytest.importorskip("lambdalite.local.engine")
    from lambdalite.local.engine_types import FunctionSpec

    spec = FunctionSpec(
        name="Fn", handler="lambdalite.function.handler.lambda_handler", code_dir=repo_root,
        runtime="python3.11", memory_mb=1024, timeout_s=60,
        environment={"LAMBDALITE_MODEL_DIR": str(hooked_model(tmp_path, RECORDING))},
    )
    engine = engine_mod.LocalLambda({"Fn": spec})
    try:
        ok = engine.invoke("Fn", json.dumps({"image": SEVEN}).encode())
        assert json.loads(ok.payload) == {"digits": [7], "calls": 3}
        bad = engine.invoke("Fn", json.dumps({"image": SEVEN, "explode": True}).encode())
        error = json.loads(bad.payload)
        assert bad.function_error == "Unhandled"
        assert (error["errorType"], error["errorMessage"]) == (
            "ValueError", "the postprocess hook cannot read this")
        assert "hook failed" in bad.logs and "in postprocess" in bad.logs
        refused = json.loads(engine.invoke("Fn", json.dumps({"image": SEVEN, "refuse": True})
                                           .encode()).payload)
        assert refused["errorType"] == "Unreadable"
    finally:
        engine.close()
