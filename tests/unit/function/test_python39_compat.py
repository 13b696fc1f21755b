"""The function package stays Python 3.9 code (the write-up's tflite-runtime 2.7.0 has cp39
wheels only): its grammar, checked here for every module, and ``compat.py`` run under a real
3.9 where pyenv has one (the functional tests serve the whole function there)."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

import lambdalite
from lambdalite.function import SHARED_MODULES
from lambdalite.local.interpreters import find_python

ROOT = Path(lambdalite.__file__).parent
FILES = sorted((ROOT / "function").rglob("*.py")) + [
    ROOT / (m.removeprefix("lambdalite.").replace(".", "/") + ".py") if m != "lambdalite"
    else ROOT / "__init__.py" for m in SHARED_MODULES]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_module_is_python39_grammar(path: Path):
    ast.parse(path.read_text(), filename=str(path), feature_version=(3, 9))


def test_the_shim_behaves_as_311s_under_python39():
    python = find_python("3.9")
    if python is None:
        pytest.skip("no Python 3.9 here (pyenv install 3.9)")
    code = (
        "import binascii, json\n"
        "from lambdalite.function.compat import StrEnum, a2b_base64_strict\n"
        "class K(StrEnum):\n    A = 'apigateway-rest'\n"
        "assert str(K.A) == f'{K.A}' == 'apigateway-rest' == K.A and K('apigateway-rest') is K.A\n"
        "assert json.dumps({'k': K.A}) == '{\"k\": \"apigateway-rest\"}'\n"
        "assert a2b_base64_strict(b'aGk=') == b'hi'\n"
        "assert a2b_base64_strict(b'') == b''\n"
        "for bad in (b'aG=k', b'a\\nGk=', b'aGk==', b'aGk', b'=aGk'):\n"
        "    try:\n        a2b_base64_strict(bad)\n    except binascii.Error:\n        pass\n"
        "    else:\n        raise SystemExit(f'accepted {bad!r}')\n")
    done = subprocess.run([python, "-c", code], cwd=ROOT.parent, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
