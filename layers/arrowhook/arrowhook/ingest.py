"""The webhook use case: authenticate, parse, dedupe and store one TradingView alert."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.parameters.base import BaseProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from arrowhook.credentials import hash_secret
from arrowhook.errors import (
    BodyTooLargeError,
    EmptyBodyError,
    SourceNotAllowedError,
    StoreUnavailableError,
    UnauthorizedError,
)
from arrowhook.models import KeyAuth, StoredAlert, new_id
from arrowhook.observability import MetricUnit, logger, metrics
from arrowhook.scrub import Scrubber
from arrowhook.settings import Settings
from arrowhook.store import AlertStore, dynamodb_client
from arrowhook.tradingview import (
    AlertFields,
    ParseIssue,
    decode_body,
    find_secret,
    parse_fields,
    secret_candidates,
)

#: One message for every authentication failure, so a caller learns nothing about which keys exist.
UNAUTHORIZED_MESSAGE = "missing or invalid key"
_MAX_SECRET_CHARS = 512


@dataclass(frozen=True)
class IncomingAlert:
    """What the webhook received, already lifted out of the API Gateway event."""

    body: bytes
    received_at: datetime
    path_token: str | None = None
    source_ip: str | None = None
    request_id: str | None = None
    user_agent: str | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class IngestResult:
    alert_id: str
    duplicate: bool
    parse_issues: int


class SecretRecords(BaseProvider):
    """Powertools Parameters (its cache and max_age) over the webhook's one low-level DynamoDB client.

    Powertools' own DynamoDBProvider builds a boto3 resource, which means a second client and the
    resource model at every cold start (about 5 % of the webhook's import, measured with
    tests/bench/cold_start_lambda.py); the webhook already has the client it needs.
    """

    def __init__(self, table_name: str, client: Any) -> None:
        super().__init__(client=client)  # type: ignore[no-untyped-call]
        self._table_name = table_name
        self._client = client

    def _get(self, name: str, **sdk_options: Any) -> str:
        response = self._client.get_item(
            TableName=self._table_name,
            Key={"pk": {"S": name}},
            ProjectionExpression="#auth",  # AUTH is a DynamoDB reserved word
            ExpressionAttributeNames={"#auth": "auth"},
            **sdk_options,
        )
        return str(response["Item"]["auth"]["S"])  # KeyError when there is no such secret

    def _get_multiple(self, path: str, **sdk_options: Any) -> dict[str, str]:
        raise NotImplementedError("secrets are looked up one by one")


class KeyResolver:
    """secret -> KeyAuth: one strongly consistent GetItem, cached in the warm function for a short TTL.

    The cache is Powertools Parameters' (SecretRecords): a disabled, deleted or rotated key therefore
    keeps authenticating in an already-warm function for at most `ttl_seconds`. Unknown secrets are
    remembered for as long (a bounded negative cache), so a flood of guessed keys costs one read per
    distinct guess per TTL, not one per request. That is safe: a secret is generated when its key is
    created or rotated, so no one can have sent it, and been refused, before it existed.
    """

    #: Distinct unknown secrets remembered at once (about 100 bytes each).
    MAX_REMEMBERED_MISSES = 10_000

    def __init__(
        self,
        table_name: str,
        ttl_seconds: int,
        read_timeout: float = 0.8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._provider = SecretRecords(table_name, dynamodb_client(bounded_read_timeout=read_timeout))
        self._clock = clock
        self._misses: OrderedDict[str, float] = OrderedDict()

    def resolve(self, secret: str) -> KeyAuth | None:
        secret_hash = hash_secret(secret)
        if self._remembered_miss(secret_hash):
            return None
        try:
            raw = self._provider.get(f"SECRET#{secret_hash}", max_age=self.ttl_seconds, ConsistentRead=True)
        except GetParameterError as error:
            if isinstance(error.__context__, KeyError):  # no such item (Powertools chains implicitly)
                self._remember_miss(secret_hash)
                return None
            raise StoreUnavailableError("key lookup failed") from None
        return KeyAuth.model_validate_json(str(raw))

    def _remembered_miss(self, secret_hash: str) -> bool:
        expires = self._misses.get(secret_hash)
        if expires is None:
            return False
        if self._clock() < expires:
            return True
        del self._misses[secret_hash]
        return False

    def _remember_miss(self, secret_hash: str) -> None:
        if self.ttl_seconds <= 0:
            return
        self._misses[secret_hash] = self._clock() + self.ttl_seconds
        self._misses.move_to_end(secret_hash)
        while len(self._misses) > self.MAX_REMEMBERED_MISSES:
            self._misses.popitem(last=False)


def ingest_alert(incoming: IncomingAlert, settings: Settings, keys: KeyResolver, alerts: AlertStore) -> IngestResult:
    if incoming.source_ip is not None and not settings.source_ip_allowed(incoming.source_ip):
        raise SourceNotAllowedError("source address not allowed", reason=f"source ip {incoming.source_ip}")
    if len(incoming.body) > settings.max_body_bytes:
        raise BodyTooLargeError(f"body larger than {settings.max_body_bytes} bytes")
    if not incoming.body.strip():
        raise EmptyBodyError("empty body: TradingView sends the alert message as the body")

    body = decode_body(incoming.body)
    body_secret = find_secret(body)
    secret = incoming.path_token or body_secret
    auth = _authenticate(secret, keys)

    parsed = parse_fields(body)
    scrubber = Scrubber(secret_candidates(body) | ({incoming.path_token} if incoming.path_token else set()))
    alert = StoredAlert(
        alert_id=new_id(int(incoming.received_at.timestamp() * 1000)),
        key_id=auth.key_id,
        strategy=auth.name,
        received_at=incoming.received_at,
        body_format="json" if body.document is not None else "text",
        fields=AlertFields.model_construct(**scrubber.value(parsed.fields.model_dump())),
        extra=scrubber.value(parsed.extra),
        payload=scrubber.text(body.text),
        parse_issues=[ParseIssue.model_validate(scrubber.value(issue.model_dump())) for issue in parsed.issues],
        source_ip=incoming.source_ip,
        request_id=incoming.request_id,
        # Headers are the sender's too: a secret put there is scrubbed like one in the body.
        user_agent=scrubber.text(incoming.user_agent) if incoming.user_agent is not None else None,
        content_type=scrubber.text(incoming.content_type) if incoming.content_type is not None else None,
    )
    dedupe_hash = hashlib.sha256(auth.key_id.encode() + b"\n" + incoming.body).hexdigest()
    alert_id, duplicate = alerts.put(alert, dedupe_hash, settings.dedupe_window_seconds)

    if duplicate:
        metrics.add_metric(name="AlertsDuplicate", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="AlertsStored", unit=MetricUnit.Count, value=1)
        if alert.parse_issues:
            metrics.add_metric(name="ParseIssues", unit=MetricUnit.Count, value=len(alert.parse_issues))
    logger.info(
        "alert duplicate" if duplicate else "alert stored",
        extra={
            "alert_id": alert_id,
            "key_id": auth.key_id,
            "strategy": auth.name,
            "duplicate": duplicate,
            "body_format": alert.body_format,
            "parse_issues": len(alert.parse_issues),
        },
    )
    return IngestResult(alert_id=alert_id, duplicate=duplicate, parse_issues=len(alert.parse_issues))


def _authenticate(secret: str | None, keys: KeyResolver) -> KeyAuth:
    if not secret:
        raise UnauthorizedError(UNAUTHORIZED_MESSAGE, reason="no key in path or body")
    if len(secret) > _MAX_SECRET_CHARS:
        raise UnauthorizedError(UNAUTHORIZED_MESSAGE, reason="key too long")
    auth = keys.resolve(secret)
    if auth is None:
        raise UnauthorizedError(UNAUTHORIZED_MESSAGE, reason="unknown key")
    if not auth.accepts(time.time()):
        raise UnauthorizedError(UNAUTHORIZED_MESSAGE, reason=f"key {auth.key_id} is {auth.status.value} or expired")
    return auth
