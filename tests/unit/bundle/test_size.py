from __future__ import annotations

import pytest

from lambdalite.bundle.errors import PackageTooLarge
from lambdalite.bundle.size import check
from lambdalite.lambda_facts import (
    IMAGE_SIZE_LIMIT,
    MB,
    ZIP_DIRECT_UPLOAD_LIMIT,
    ZIP_UNZIPPED_LIMIT,
)


def test_small_zip_passes_without_warnings():
    verdict = check("zip", 90 * MB, 30 * MB)
    assert verdict.warnings == () and "90.0 MB of 250.0 MB" in verdict.notes[0]


def test_zip_over_direct_upload_limit_warns_about_s3():
    verdict = check("zip", 200 * MB, ZIP_DIRECT_UPLOAD_LIMIT + 1)
    assert len(verdict.warnings) == 1 and "S3" in verdict.warnings[0]


def test_zip_at_the_limits_is_still_fine():
    assert check("zip", ZIP_UNZIPPED_LIMIT, ZIP_DIRECT_UPLOAD_LIMIT).warnings == ()


def test_unzipped_over_250_mb_fails_and_says_use_image():
    with pytest.raises(PackageTooLarge, match="--package image") as err:
        check("zip", ZIP_UNZIPPED_LIMIT + 1, 100 * MB)
    assert err.value.exit_code == 5


def test_a_too_large_zip_names_the_model_and_suggests_image_or_a_smaller_variant():
    with pytest.raises(PackageTooLarge) as err:
        check("zip", 300 * MB, None, model_bytes=210 * MB)
    msg = err.value.message
    assert msg.startswith("unzipped package is 300.0 MB (model 210.0 MB, dependencies and "
                          "function code 90.0 MB), over Lambda's 250.0 MB limit")
    assert "use --package image (10 GB limit) or a smaller variant (--variant int8" in msg
    assert "model 210.0 MB" in err.value.reason and err.value.package is None
    with pytest.raises(PackageTooLarge, match="or the litert backend$"):
        check("zip", 300 * MB, None, model_bytes=MB, backend="tf")


def test_image_reports_layer_against_10_gb():
    verdict = check("image", ZIP_UNZIPPED_LIMIT * 4, None)
    assert verdict.warnings == () and "10240.0 MB" in verdict.notes[0]
    with pytest.raises(PackageTooLarge, match="10 GB"):
        check("image", IMAGE_SIZE_LIMIT + 1, None)
