"""``python -m lambdalite.examples.stegastamp``: the example's command line (``cli.py``)."""

import sys

from lambdalite.examples.stegastamp.cli import run

sys.exit(run())
