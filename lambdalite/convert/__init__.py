"""TF/Keras model -> TFLite variants and a manifest (``pipeline.py``). Calling the package,
``lambdalite.convert(options, progress=None)``, runs ``pipeline.convert``."""

from lambdalite._facade import make_callable

make_callable(__name__, "lambdalite.convert.pipeline:convert")
