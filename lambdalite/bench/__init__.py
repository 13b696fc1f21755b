"""Measure packages in the local Lambda environment (``runner.py``). Calling the package,
``lambdalite.bench(options, progress=None)``, runs ``runner.bench``."""

from lambdalite._facade import make_callable

make_callable(__name__, "lambdalite.bench.runner:bench")
