"""Errors of the local Lambda environment, with the names Lambda's Invoke API uses."""

from __future__ import annotations

from lambdalite.errors import LambdaliteError, LocalRuntimeError


class InvokeAPIError(LocalRuntimeError):
    """An error the Invoke API answers with an HTTP status and an ``x-amzn-ErrorType``."""

    status = 500
    aws_type = "ServiceException"

    @property
    def error_type(self) -> str:
        return self.aws_type


class ResourceNotFound(InvokeAPIError):
    status = 404
    aws_type = "ResourceNotFoundException"


class TooManyRequests(InvokeAPIError):
    """A concurrency limit is reached: Lambda throttles a synchronous invoke. ``reason`` is the
    Invoke API's ``Reason`` (Lambda API reference, TooManyRequestsException): the function's
    reserved concurrency, or the local cap standing in for the account's concurrency."""

    status = 429
    aws_type = "TooManyRequestsException"

    def __init__(self, message: str,
                 reason: str = "ReservedFunctionConcurrentInvocationLimitExceeded") -> None:
        super().__init__(message)
        self.reason = reason


class RequestTooLarge(InvokeAPIError):
    status = 413
    aws_type = "RequestTooLargeException"


class RequestTimeout(InvokeAPIError):
    """The request did not arrive whole within the server's read timeout."""

    status = 408
    aws_type = "RequestTimeoutException"


class InvalidRequestContent(InvokeAPIError):
    status = 400
    aws_type = "InvalidRequestContentException"


class InvalidParameterValue(InvokeAPIError):
    status = 400
    aws_type = "InvalidParameterValueException"


class PreconditionFailed(InvokeAPIError):
    """UpdateFunctionConfiguration with a RevisionId that is not the function's latest."""

    status = 412
    aws_type = "PreconditionFailedException"


class UnknownOperation(InvokeAPIError):
    """A path or method the Invoke API does not serve."""

    status = 404
    aws_type = "UnknownOperationException"


class FunctionFailed(LambdaliteError):
    """`local invoke`: the function ran and failed (its error JSON is on stdout); exit 1."""

    exit_code = 1


class SoakFailed(LambdaliteError):
    """`local soak`: a check failed (the table says which); exit 1."""

    exit_code = 1
