"""What AWS refuses for a SnapStart function, as rules over the SAM model.

    refusals(fn)          # [] when AWS takes SnapStart on fn, else one line per rule broken
    check(fn)             # the same, as a TemplateError at the function's SnapStart line

The rules are AWS's "Improving startup performance with Lambda SnapStart", Supported features
and limitations (https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html): SnapStart runs
on the managed Python runtimes from python3.12 on, never on container images, and not with
provisioned concurrency, Amazon EFS or ephemeral storage over 512 MB. SnapStart applies to
published versions only (``ApplyOn: PublishedVersions``), so a function that uses it is
invoked through a version or an alias: lambdalite writes ``AutoPublishAlias``.
"""

from __future__ import annotations

from lambdalite.sam.model import SamFunction

APPLY_ON = "PublishedVersions"       # SnapStart.ApplyOn when on ("None": off)
DOC = "https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html"
MIN_PYTHON = (3, 12)
MAX_EPHEMERAL_STORAGE_MB = 512


def enabled(fn: SamFunction) -> bool:
    return fn.snap_start == APPLY_ON


def refusals(fn: SamFunction) -> list[str]:
    """The rules ``fn`` breaks for SnapStart, each naming the rule and what to change."""
    found = []
    if fn.package_type == "Image":
        found.append("SnapStart does not support container images: build a zip "
                     "(--package zip)")
    python = _python(fn.runtime)
    if fn.package_type == "Zip" and (python is None or python < MIN_PYTHON):
        found.append(f"SnapStart needs python{MIN_PYTHON[0]}.{MIN_PYTHON[1]} or later, not "
                     f"{fn.runtime or 'no Runtime'}")
    if fn.provisioned_concurrency is not None:
        found.append("SnapStart cannot be combined with provisioned concurrency: drop "
                     "ProvisionedConcurrencyConfig (--provisioned-concurrency)")
    if "FileSystemConfigs" in fn.notes:
        found.append("SnapStart cannot be combined with Amazon EFS: drop FileSystemConfigs")
    if fn.ephemeral_storage_mb is not None and fn.ephemeral_storage_mb > MAX_EPHEMERAL_STORAGE_MB:
        found.append(f"SnapStart allows ephemeral storage up to {MAX_EPHEMERAL_STORAGE_MB} MB, "
                     f"not {fn.ephemeral_storage_mb} MB: lower EphemeralStorage.Size")
    return found


def check(fn: SamFunction) -> None:
    """Raise the refusals of ``fn`` (with SnapStart on) as one TemplateError, citing AWS."""
    found = refusals(fn)
    if found:
        raise fn.error("SnapStart", "; ".join(found) + f" (AWS refuses it: {DOC})")


def _python(runtime: str | None) -> tuple[int, int] | None:
    if not runtime or not runtime.startswith("python3."):
        return None
    minor = runtime.removeprefix("python3.")
    return (3, int(minor)) if minor.isdigit() else None


__all__ = ["APPLY_ON", "DOC", "MAX_EPHEMERAL_STORAGE_MB", "MIN_PYTHON", "check", "enabled",
           "refusals"]
