"""A function's Function URL (``FunctionUrlConfig``), served by ``start-api`` on a port of its own.

Every method and path reach the function (a Function URL has no routes), as payload 2.0 with
the Function URL's domain (``events.function_url_event``); the answer is read as payload 2.0 is
read (a response without statusCode is 200 JSON, ``http_api.proxy_response``). Lambda's own
answers (Lambda developer guide, "Invoking Lambda function URLs"):

    function error, malformed response, response over 6 MB   502 Internal Server Error
    throttled (every allowed environment busy)               429 {"Message": "Rate Exceeded."}
    request over 6 MB (Lambda's synchronous payload limit)   413 {"Message": "Request must be smaller ..."}

There is no integration timeout: the function's own Timeout is the limit, as on AWS. AuthType
AWS_IAM is not checked locally (every request is let through): ``start-api`` says so.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from lambdalite.lambda_facts import SYNC_PAYLOAD_LIMIT
from lambdalite.local import events
from lambdalite.local.engine_types import InvokeResult, LambdaEngine
from lambdalite.local.errors import InvokeAPIError, TooManyRequests
from lambdalite.local.http_api import _ApiHandler
from lambdalite.local.server import Answer, LocalServer
from lambdalite.local.triggers import FunctionUrlTrigger, url_error

log = logging.getLogger(__name__)
ResultCallback = Callable[[InvokeResult], None]


class FunctionUrlServer(LocalServer):
    """One function's Function URL on (host, port); port 0 picks a free one."""

    rest_only = False   # the shared handler answers a body over its limit in HTTP API's words

    def __init__(self, engine: LambdaEngine, function: str, host: str = "127.0.0.1",
                 port: int = 0, *, region: str = "us-east-1",
                 on_result: ResultCallback | None = None) -> None:
        self.engine = engine
        self.function = function
        self.trigger = FunctionUrlTrigger(
            function, engine.functions[function].function_url_auth or "NONE", region)
        self.on_result = on_result
        super().__init__(_ApiHandler, host, port)

    @property
    def auth_type(self) -> str:
        return self.trigger.auth_type

    def answer(self, request: events.Request) -> Answer:
        if len(request.body) > SYNC_PAYLOAD_LIMIT:
            return url_error(413, f"Request must be smaller than {SYNC_PAYLOAD_LIMIT} bytes "
                                  "for the InvokeFunction operation")
        payload = json.dumps(self.trigger.request_event(request)).encode()
        try:
            result = self.engine.invoke(self.function, payload)
        except TooManyRequests:
            return url_error(429, "Rate Exceeded.")
        except InvokeAPIError as exc:
            log.warning("invoking %s failed: %s", self.function, exc.message)
            return url_error(502, "Internal Server Error")
        except Exception:   # the server answers, whatever broke underneath
            log.exception("invoking %s failed", self.function)
            return url_error(502, "Internal Server Error")
        if self.on_result is not None:
            self.on_result(result)
        if result.function_error:
            log.warning("%s %s: function %s failed (%s)", request.method, request.path,
                        self.function, result.error_type)
        reply = self.trigger.reply(result)
        assert reply.status is not None   # an HTTP trigger's reply has one
        return Answer(reply.status, (*reply.headers, ("x-amzn-RequestId", result.request_id)),
                      reply.body)
