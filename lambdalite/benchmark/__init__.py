"""Measure packages in the local Lambda environment: ``runner.bench`` (``lambdalite.bench``),
the ``lambdalite bench`` command (``cli.py``)."""
