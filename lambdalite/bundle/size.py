"""Size checks against Lambda's quotas (lambdalite.lambda_facts)."""

from __future__ import annotations

from dataclasses import dataclass

from lambdalite.bundle.errors import PackageTooLarge
from lambdalite.lambda_facts import (
    IMAGE_SIZE_LIMIT,
    MB,
    ZIP_DIRECT_UPLOAD_LIMIT,
    ZIP_UNZIPPED_LIMIT,
)

IMAGE_FIX = "use --package image (10 GB limit)"


def mb(n: int) -> str:
    return f"{n / MB:.1f} MB"


@dataclass(frozen=True)
class SizeVerdict:
    warnings: tuple[str, ...]
    notes: tuple[str, ...]


def check(package_type: str, unzipped: int, zipped: int | None, *,
          model_bytes: int | None = None, backend: str = "litert") -> SizeVerdict:
    """Raise PackageTooLarge past a hard quota; return warnings and notes otherwise.

    ``model_bytes``: the model's share of ``unzipped``, named in the error so that a big
    model is not blamed on the dependencies (and no release is stepped down for it).
    """
    if package_type == "zip":
        if unzipped > ZIP_UNZIPPED_LIMIT:
            parts = (f" (model {mb(model_bytes)}, dependencies and function code "
                     f"{mb(unzipped - model_bytes)})" if model_bytes is not None else "")
            smaller = {"tf": "the litert backend",
                       "onnxruntime": "the litert backend (ai-edge-litert is ~10x smaller) or "
                                      "--variant dynamic"}.get(
                backend, "a smaller variant (--variant int8 or float16 from `lambdalite convert`)")
            raise PackageTooLarge(
                f"unzipped package is {mb(unzipped)}{parts}, over Lambda's "
                f"{mb(ZIP_UNZIPPED_LIMIT)} limit for zip functions; use --package image "
                f"(10 GB limit) or {smaller}",
                reason=f"makes the package {mb(unzipped)} unzipped{parts}, over the "
                       f"{mb(ZIP_UNZIPPED_LIMIT)} zip limit",
                fix=IMAGE_FIX,
            )
        warnings: tuple[str, ...] = ()
        if zipped is not None and zipped > ZIP_DIRECT_UPLOAD_LIMIT:
            warnings = (
                f"function.zip is {mb(zipped)}, over the {mb(ZIP_DIRECT_UPLOAD_LIMIT)} direct "
                "upload limit: deploy it through an S3 bucket (`sam deploy` does this)",
            )
        return SizeVerdict(warnings, (f"unzipped {mb(unzipped)} of {mb(ZIP_UNZIPPED_LIMIT)}",))
    if unzipped > IMAGE_SIZE_LIMIT:
        raise PackageTooLarge(
            f"the image layer adds {mb(unzipped)}, over Lambda's 10 GB image limit; "
            "use a smaller variant or the litert backend"
        )
    return SizeVerdict((), (f"image layer adds {mb(unzipped)} to the base image "
                            f"(limit {mb(IMAGE_SIZE_LIMIT)} for the whole image)",))
