"""Admin authorizer: an API Gateway HTTP API Lambda authorizer with simple responses.

API Gateway answers 401 itself when the Authorization header is missing; this function returns
`isAuthorized: false` (API Gateway's 403) for any other header that is not the admin token, and
fails closed when the token cannot be read.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from arrowhook.admin.auth import bearer_token, token_matches
from arrowhook.aws.secure_parameters import secure_value
from arrowhook.core.observability import Metric, MetricUnit, logger, metrics, traced
from arrowhook.core.settings import AuthorizerSettings

settings = AuthorizerSettings.from_environment()
#: A token that does not match the cached one may be a new one: read the parameter again, but at most this
#: often per warm function, so a flood of wrong tokens cannot hammer SSM (its limit is 40 reads a second).
FRESH_READ_EVERY_SECONDS = 5.0
_last_fresh_read = [-FRESH_READ_EVERY_SECONDS]


def _matches_current(presented: str | None) -> bool:
    """Against the cached admin token, and on a miss against a fresh read of it: a rotated token works at
    once here (API Gateway then caches the answer for AuthorizerCacheSeconds)."""
    if token_matches(presented, secure_value(settings.admin_token_parameter, settings.admin_token_cache_seconds)):
        return True
    now = time.monotonic()
    if presented is None or now - _last_fresh_read[0] < FRESH_READ_EVERY_SECONDS:
        return False
    _last_fresh_read[0] = now
    fresh = secure_value(settings.admin_token_parameter, settings.admin_token_cache_seconds, fresh=True)
    return token_matches(presented, fresh)


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
        authorized = _matches_current(presented)
    except Exception:  # fail closed: an unreadable token never lets anyone in
        logger.exception("admin token unavailable")
        metrics.add_metric(name=Metric.AUTHORIZER_ERRORS, unit=MetricUnit.Count, value=1)
        return {"isAuthorized": False}
    if not authorized:
        metrics.add_metric(name=Metric.ADMIN_AUTH_FAILURES, unit=MetricUnit.Count, value=1)
        logger.warning(
            "admin request denied", extra={"reason": "malformed header" if presented is None else "wrong token"}
        )
    return {"isAuthorized": authorized}
