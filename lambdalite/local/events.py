"""The events API Gateway and EventBridge send to a function, built from a local request.

Pure functions (no I/O): ``rest_event`` is the REST API proxy event (payload 1.0, SAM's ``Api``
event, also HTTP API with PayloadFormatVersion 1.0), ``http_api_event`` the HTTP API payload
2.0 (SAM's ``HttpApi``), ``function_url_event`` what a Function URL sends (payload 2.0 with the
``<url-id>.lambda-url.<region>.on.aws`` domain), ``schedule_event`` a scheduled EventBridge
event. Field by field as the API Gateway developer guide documents them ("Lambda proxy
integration input format", "HTTP API payload format version 2.0") and the Lambda developer
guide ("Invoking Lambda function URLs": request payload format).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

ACCOUNT_ID = "123456789012"
API_ID = "1234567890"
DOMAIN = f"{API_ID}.execute-api.us-east-1.amazonaws.com"
# HTTP API (payload 2.0) passes these content types as text, every other body base64-encoded.
TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml",
              "application/x-www-form-urlencoded", "application/graphql")
TEXT_SUFFIXES = ("+json", "+xml")


@dataclass(frozen=True)
class Request:
    """One HTTP request as it reached the local API."""

    method: str
    path: str                                  # percent-decoded, without the query string
    query: str = ""                            # raw query string
    headers: tuple[tuple[str, str], ...] = ()  # in arrival order, names as sent
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=lambda: datetime.now(UTC))

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in reversed(self.headers) if k.lower() == name), None)


@dataclass(frozen=True)
class Route:
    """What a request matched: the route's template and the function's event settings."""

    path: str                                  # "/items/{id}" or "$default"
    method: str                                # "GET" / "ANY"
    stage: str
    path_parameters: dict[str, str] = field(default_factory=dict)
    binary_media_types: tuple[str, ...] = ()
    http_api: bool = False                     # HTTP API (payload 1.0 too): binary by type


def rest_event(request: Request, route: Route) -> dict[str, Any]:
    """REST API proxy event (payload format 1.0)."""
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    query = parse_qsl(request.query, keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for key, value in query:
        multi_query.setdefault(key, []).append(value)
    content_type = request.header("content-type")
    binary = (not is_text(content_type) if route.http_api
              else is_binary_rest(content_type, route.binary_media_types))
    resource = "/" if route.path == "$default" else route.path
    user_agent = request.header("user-agent")
    return {
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": dict(query) or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": route.path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": request.header("host") or DOMAIN,
            "domainPrefix": API_ID,
            "extendedRequestId": request.request_id,
            "httpMethod": request.method,
            "identity": {
                "accessKey": None, "accountId": None, "caller": None, "cognitoIdentityId": None,
                "sourceIp": request.source_ip, "user": None, "userAgent": user_agent,
                "userArn": None,
            },
            "path": f"/{route.stage}{request.path}",
            "protocol": request.protocol,
            "requestId": request.request_id,
            "requestTime": request.time.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(request.time.timestamp() * 1000),
            "resourceId": "123456",
            "resourcePath": resource,
            "stage": route.stage,
        },
        **_body(request.body, binary),
    }


def http_api_event(request: Request, route: Route) -> dict[str, Any]:
    """HTTP API event (payload format 2.0): lower-case headers, repeated values joined by
    commas, cookies apart, absent keys instead of nulls."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    query: dict[str, str] = {}
    for key, value in parse_qsl(request.query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    route_key = "$default" if route.path == "$default" else f"{route.method} {route.path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": headers.get("host", DOMAIN),
            "domainPrefix": API_ID,
            "http": {
                "method": request.method, "path": request.path, "protocol": request.protocol,
                "sourceIp": request.source_ip, "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request.request_id,
            "routeKey": route_key,
            "stage": route.stage,
            "time": request.time.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(request.time.timestamp() * 1000),
        },
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if route.path_parameters:
        event["pathParameters"] = route.path_parameters
    if request.body:
        event.update(_body(request.body, not is_text(headers.get("content-type"))))
    else:
        event["isBase64Encoded"] = False
    return event


def function_url_id(function: str) -> str:
    """A Function URL's id (32 lower-case characters), stable for a function name."""
    return hashlib.sha256(function.encode()).hexdigest()[:32]


def function_url_domain(url_id: str, region: str = "us-east-1") -> str:
    return f"{url_id}.lambda-url.{region}.on.aws"


def function_url_event(request: Request, *, url_id: str, region: str = "us-east-1",
                       auth_type: str = "NONE") -> dict[str, Any]:
    """A Function URL's event: the HTTP API 2.0 shape on the ``$default`` route, with the
    Function URL's domain, ``accountId`` "anonymous" for AuthType NONE and an ``iam``
    authorizer for AWS_IAM (a local stand-in caller: signatures are not checked locally)."""
    event = http_api_event(request, Route("$default", "ANY", "$default"))
    domain = function_url_domain(url_id, region)
    context = event["requestContext"]
    context.update(apiId=url_id, domainName=domain, domainPrefix=url_id,
                   accountId="anonymous" if auth_type == "NONE" else ACCOUNT_ID)
    if auth_type == "AWS_IAM":
        context["authorizer"] = {"iam": {
            "accessKey": "AKIAIOSFODNN7EXAMPLE", "accountId": ACCOUNT_ID,
            "callerId": "AIDACKCEVSQ6C2EXAMPLE", "cognitoIdentity": None,
            "principalOrgId": None, "userArn": f"arn:aws:iam::{ACCOUNT_ID}:user/local",
            "userId": "AIDACKCEVSQ6C2EXAMPLE"}}
    return event


def schedule_event(rule: str, *, region: str = "us-east-1",
                   now: datetime | None = None) -> dict[str, Any]:
    """What EventBridge sends for a Schedule event (without an Input override)."""
    now = now or datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{rule}"],
        "detail": {},
    }


def is_text(content_type: str | None) -> bool:
    if not content_type:
        return True   # no type: API Gateway passes the body as it came
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith(TEXT_TYPES) or media.endswith(TEXT_SUFFIXES)


def is_binary_rest(content_type: str | None, binary_media_types: tuple[str, ...]) -> bool:
    """REST APIs base64-encode a body whose Content-Type matches a BinaryMediaType
    (``image/png``, ``image/*``, ``*/*``)."""
    if not content_type or not binary_media_types:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    kind, _, sub = media.partition("/")
    for pattern in binary_media_types:
        p_kind, _, p_sub = pattern.lower().partition("/")
        if p_kind in ("*", kind) and p_sub in ("*", sub):
            return True
    return False


def _body(body: bytes, binary: bool) -> dict[str, Any]:
    if not body:
        return {"body": None, "isBase64Encoded": False}
    if binary:
        return {"body": base64.b64encode(body).decode(), "isBase64Encoded": True}
    try:
        return {"body": body.decode("utf-8"), "isBase64Encoded": False}
    except UnicodeDecodeError:  # not text whatever its type says: keep it intact
        return {"body": base64.b64encode(body).decode(), "isBase64Encoded": True}
