"""Errors of ``lambdalite convert`` and ``lambdalite evaluate``.

LambdaliteError
├── UsageError
│   ├── UnknownModelFormat      the path is not a SavedModel, .keras or .h5
│   └── CalibrationRequired     int8 asked for without calibration data
├── ConversionError
│   └── VariantFailed           one variant could not be made (others go on)
└── ModelError
    └── BadDataset              calibration/evaluation data unreadable or mismatched
"""

from __future__ import annotations

from lambdalite.errors import ConversionError, ModelError, UsageError


class UnknownModelFormat(UsageError):
    pass


class CalibrationRequired(UsageError):
    pass


class VariantFailed(ConversionError):
    pass


class BadDataset(ModelError):
    pass


__all__ = [
    "BadDataset",
    "CalibrationRequired",
    "ConversionError",
    "ModelError",
    "UnknownModelFormat",
    "UsageError",
    "VariantFailed",
]
