"""Handlers the soak runs: ``echo`` (the healthy neighbour) and one failure mode each. Every
one must end as Lambda reports it, never take the server or another function down."""

import os
import sys
import time

MB = 1024 * 1024
_kept: list[bytes] = []


def echo(event, context):
    return {"event": event, "pid": os.getpid()}


def raises(event, context):
    raise RuntimeError("the soak's handler raised on purpose")


def crash(event, context):
    os._exit(3)             # as a segfaulting native library would


def hog(event, context):
    _kept.append(b"x" * (int(event.get("mb", 512)) * MB))   # touched: really resident
    return {"allocated": True}


def sleep(event, context):
    time.sleep(float(event.get("seconds", 30)))
    return {"slept": True}


def huge(event, context):
    return "x" * (7 * MB)   # over the 6 MB synchronous response limit


def loud(event, context):
    line = "y" * 1023 + "\n"
    for _ in range(int(event.get("mb", 8)) * 1024):
        sys.stdout.write(line)
    sys.stdout.flush()
    return {"printed_mb": int(event.get("mb", 8))}


def headers(event, context):
    """A proxy response whose header breaks HTTP (CR/LF) or leaves Latin-1."""
    mode = (event.get("pathParameters") or {}).get("mode", "crlf")
    value = "a\r\nX-Injected: yes" if mode == "crlf" else "caf\u00e9 \u4e2d"
    return {"statusCode": 200, "headers": {"X-Probe": value}, "body": "probe"}
