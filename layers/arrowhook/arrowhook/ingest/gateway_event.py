"""The shape of an API Gateway HTTP API (payload 2.0) event that the webhook relies on.

API Gateway always sends this shape; anything else (a console test event, a misrouted invocation,
a fuzzer) gets a 400 instead of an exception deep inside the resolver. Not Powertools'
APIGatewayProxyEventV2Model: importing it imports every event model Powertools ships (~230 ms, more
than the webhook's whole cold start); these five fields are what the webhook relies on.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError


class _Http(BaseModel):
    model_config = ConfigDict(extra="ignore")

    method: str
    path: str
    sourceIp: str  # noqa: N815 - API Gateway's field name


class _RequestContext(BaseModel):
    model_config = ConfigDict(extra="ignore")

    requestId: str  # noqa: N815
    stage: str  # the resolver strips it from the path
    http: _Http


class HttpApiEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    rawPath: str  # noqa: N815
    requestContext: _RequestContext  # noqa: N815
    headers: dict[str, str] = {}
    body: str | None = None
    isBase64Encoded: bool = False  # noqa: N815
    rawQueryString: str = ""  # noqa: N815
    pathParameters: dict[str, str] | None = None  # noqa: N815


def is_http_api_event(event: object) -> bool:
    try:
        HttpApiEvent.model_validate(event, strict=True)
    except ValidationError:
        return False
    return True
