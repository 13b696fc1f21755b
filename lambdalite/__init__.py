"""lambdalite: TensorFlow model -> small, fast AWS Lambda inference function.

This module stays import-light on purpose: the Lambda function package ships
``lambdalite/__init__.py`` and must not pull in the CLI's dependencies.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
