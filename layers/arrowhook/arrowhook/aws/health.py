"""Health and build information for `GET /health` and `GET /version` (public, called by monitors)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from arrowhook.aws.dynamodb import error_code
from arrowhook.core.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: One quick attempt: a monitor needs a fast answer more than a patient one.
_PROBE_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=1, read_timeout=1)
_PROBE_KEY = {"pk": {"S": "HEALTH#probe"}}


@cache
def _probe_client() -> DynamoDBClient:
    """Built on the first health check, not at init, so the webhook's cold start does not pay for it."""
    return boto3.client("dynamodb", config=_PROBE_CONFIG)


def store_reachable(table_name: str) -> bool:
    """One eventually consistent GetItem of a key that never exists: half a read unit, no data."""
    try:
        _probe_client().get_item(TableName=table_name, Key=_PROBE_KEY, ProjectionExpression="pk")
    except (ClientError, BotoCoreError) as error:
        logger.error("health check: store unreachable", extra={"reason": error_code(error)})
        return False
    return True


@cache
def build_info() -> dict[str, str]:
    """What `sam build` stamped into the layer (see layers/arrowhook/Makefile); `local` when run from source."""
    try:
        stamped = json.loads(resources.files("arrowhook").joinpath("build_info.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {"commit": "local", "built_at": "unknown"}
    return {"commit": str(stamped.get("commit", "unknown")), "built_at": str(stamped.get("built_at", "unknown"))}
