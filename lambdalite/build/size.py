"""Size checks against Lambda's quotas (lambdalite.platform)."""

from __future__ import annotations

from dataclasses import dataclass

from lambdalite.build.errors import PackageTooLarge
from lambdalite.platform import IMAGE_SIZE_LIMIT, MB, ZIP_DIRECT_UPLOAD_LIMIT, ZIP_UNZIPPED_LIMIT

IMAGE_FIX = "use --package image (10 GB limit)"


def mb(n: int) -> str:
    return f"{n / MB:.1f} MB"


@dataclass(frozen=True)
class SizeVerdict:
    warnings: tuple[str, ...]
    notes: tuple[str, ...]


def check(package_type: str, unzipped: int, zipped: int | None) -> SizeVerdict:
    """Raise PackageTooLarge past a hard quota; return warnings and notes otherwise."""
    if package_type == "zip":
        if unzipped > ZIP_UNZIPPED_LIMIT:
            raise PackageTooLarge(
                f"unzipped package is {mb(unzipped)}, over Lambda's {mb(ZIP_UNZIPPED_LIMIT)} "
                "limit for zip functions; use --package image (10 GB limit) or the litert backend",
                reason=f"makes the package {mb(unzipped)} unzipped, over the "
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
