"""Errors the inference function raises on purpose.

Every class derives from ``lambdalite.errors.ClientError`` (the caller sent something
wrong) and carries the HTTP status an HTTP event gets back. The class name is the
stable ``type`` in ``{"error": {"type": ..., "message": ...}}`` and the ``errorType``
Lambda reports for a direct invocation, so never rename one.

    ClientError (lambdalite.errors)
    ├── BadRequest               400
    │   ├── InvalidJSON          body is not JSON
    │   ├── InvalidRequest       JSON of the wrong shape, bad top_k, unknown event
    │   ├── InvalidBase64        image text is not base64
    │   ├── EmptyImage           zero bytes
    │   └── CorruptImage         an image Pillow recognises but cannot decode (truncated ...)
    ├── PayloadTooLarge          413  request over Lambda's 6 MB synchronous payload limit
    │   ├── ImageTooLarge        413  more decoded pixels than LAMBDALITE_MAX_PIXELS (image bomb)
    │   └── TooManyImages        413  more images than LAMBDALITE_MAX_IMAGES
    └── UnsupportedMediaType     415
        └── NotAnImage           bytes Pillow does not recognise as any image format
"""

from __future__ import annotations

from lambdalite.errors import ClientError


class BadRequest(ClientError):
    status = 400


class InvalidJSON(BadRequest):
    pass


class InvalidRequest(BadRequest):
    pass


class InvalidBase64(BadRequest):
    pass


class EmptyImage(BadRequest):
    pass


class CorruptImage(BadRequest):
    pass


class PayloadTooLarge(ClientError):
    status = 413


class ImageTooLarge(PayloadTooLarge):
    pass


class TooManyImages(PayloadTooLarge):
    pass


class UnsupportedMediaType(ClientError):
    status = 415


class NotAnImage(UnsupportedMediaType):
    pass
