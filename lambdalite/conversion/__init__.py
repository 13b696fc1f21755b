"""TF/Keras model -> TFLite variants and a manifest: ``pipeline.convert`` / ``evaluate``
(``lambdalite.convert`` / ``lambdalite.evaluate``), the ``lambdalite convert`` command
(``cli.py``)."""
