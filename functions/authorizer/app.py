"""Admin authorizer: an API Gateway HTTP API Lambda authorizer with simple responses.

API Gateway answers 401 itself when the Authorization header is missing; this function returns
`isAuthorized: false` (API Gateway's 403) for any other header that is not the admin token, and
fails closed when the token cannot be read.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from arrowhook.admin_auth import bearer_token, token_matches
from arrowhook.observability import Metric, MetricUnit, logger, metrics, traced
from arrowhook.secure_parameters import secure_value
from arrowhook.settings import AuthorizerSettings

settings = AuthorizerSettings.from_environment()


def _header(event: dict[str, Any]) -> str | None:
    headers = event.get("headers") or {}
    value = headers.get("authorization") if isinstance(headers, dict) else None
    if value is None:
        identity = event.get("identitySource") or []
        value = identity[0] if isinstance(identity, list) and identity else None
    return value if isinstance(value, str) else None


@traced
@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, bool]:
    presented = bearer_token(_header(event))
    try:
        expected = secure_value(settings.admin_token_parameter, settings.admin_token_cache_seconds)
    except Exception:  # fail closed: an unreadable token never lets anyone in
        logger.exception("admin token unavailable")
        metrics.add_metric(name=Metric.AUTHORIZER_ERRORS, unit=MetricUnit.Count, value=1)
        return {"isAuthorized": False}
    authorized = token_matches(presented, expected)
    if not authorized:
        metrics.add_metric(name=Metric.ADMIN_AUTH_FAILURES, unit=MetricUnit.Count, value=1)
        logger.warning(
            "admin request denied", extra={"reason": "malformed header" if presented is None else "wrong token"}
        )
    return {"isAuthorized": authorized}
