"""Errors the inference function raises on purpose.

Every client class derives from ``lambdalite.errors.ClientError`` (the caller sent something
wrong) and carries the HTTP status an HTTP event gets back. The class name is the
stable ``type`` in ``{"error": {"type": ..., "message": ...}}`` and the ``errorType``
Lambda reports for a direct invocation, so never rename one.

    ClientError (lambdalite.errors)
    ├── BadRequest               400
    │   ├── InvalidJSON          body is not JSON
    │   ├── InvalidRequest       JSON of the wrong shape, bad top_k, unknown event
    │   ├── InvalidInput         a tensor that does not fit the model's input (name, shape,
    │   │                        dtype, rank, values): names the input, what it takes and got
    │   ├── InvalidBase64        image (or .npy) text is not base64
    │   ├── EmptyImage           zero bytes
    │   └── CorruptImage         an image Pillow recognises but cannot decode (truncated ...)
    ├── PayloadTooLarge          413  request over Lambda's 6 MB synchronous payload limit
    │   ├── ImageTooLarge        413  more decoded pixels than LAMBDALITE_MAX_PIXELS (image bomb)
    │   ├── TooManyImages        413  more images than LAMBDALITE_MAX_IMAGES
    │   └── BatchTooLarge        413  more rows than LAMBDALITE_MAX_BATCH in a tensor
    └── UnsupportedMediaType     415
        └── NotAnImage           bytes Pillow does not recognise as any image format

    LambdaliteError (lambdalite.errors)
    └── HookError                500  a hook broke its contract (returned inputs that do not
                                      fit the model, or an answer JSON cannot hold)

An exception a hook raises itself keeps its own class (its name is the ``errorType``).
"""

from __future__ import annotations

from lambdalite.errors import ClientError, LambdaliteError


class BadRequest(ClientError):
    status = 400


class InvalidJSON(BadRequest):
    pass


class InvalidRequest(BadRequest):
    pass


class InvalidInput(BadRequest):
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


class BatchTooLarge(PayloadTooLarge):
    pass


class UnsupportedMediaType(ClientError):
    status = 415


class NotAnImage(UnsupportedMediaType):
    pass


class HookError(LambdaliteError):
    status = 500
