"""Errors of ``lambdalite convert`` and ``lambdalite evaluate``.

LambdaliteError
├── UsageError
│   ├── OptionError             a bad ConvertOptions/EvaluateOptions field (the CLI: its flag)
│   │   └── CalibrationRequired int8 asked for without calibration data
│   ├── UnknownModelFormat      the path is not a SavedModel, .keras or .h5
│   └── UnsupportedData         --data/--calibration is neither an .npz nor a folder of images
├── ConversionError
│   └── AccuracyDropped         a variant lost more accuracy than allowed (--strict, train)
└── ModelError
    └── BadDataset              calibration/evaluation data unreadable or mismatched
"""

from __future__ import annotations

from lambdalite.errors import ConversionError, ModelError, OptionError, UsageError


class UnknownModelFormat(UsageError):
    pass


class CalibrationRequired(OptionError):
    pass


class UnsupportedData(UsageError):
    pass


class AccuracyDropped(ConversionError):
    pass


class BadDataset(ModelError):
    pass


__all__ = [
    "AccuracyDropped",
    "BadDataset",
    "CalibrationRequired",
    "ConversionError",
    "ModelError",
    "OptionError",
    "UnknownModelFormat",
    "UnsupportedData",
    "UsageError",
]
