"""Inference backends behind one protocol. Each backend imports its runtime lazily."""

from lambdalite.function.backends.base import Backend, load_backend

__all__ = ["Backend", "load_backend"]
