"""Configuration: every value comes from an environment variable that template.yaml sets.

Each function has its own model with required fields, so a function missing a variable fails at
init (Lambda's init phase), not mid-request, and the template sets each function only what it reads
(a template test holds the two to each other).
"""

from __future__ import annotations

import ipaddress
import os
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator


class FunctionSettings(BaseModel):
    """What every function shares."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    version: str = Field("dev", alias="ARROWHOOK_VERSION")

    @classmethod
    def from_environment(cls) -> Self:
        """Validated once per cold start (handlers call it at import, in Lambda's init phase)."""
        return cls.model_validate(dict(os.environ))


class WebhookSettings(FunctionSettings):
    keys_table_name: str = Field(alias="KEYS_TABLE_NAME", min_length=3)
    alerts_table_name: str = Field(alias="ALERTS_TABLE_NAME", min_length=3)
    dedupe_window_seconds: int = Field(60, alias="DEDUPE_WINDOW_SECONDS", ge=0, le=86_400)
    max_body_bytes: int = Field(65_536, alias="MAX_BODY_BYTES", ge=1, le=98_304)
    key_cache_ttl_seconds: int = Field(30, alias="KEY_CACHE_TTL_SECONDS", ge=0, le=3_600)
    store_timeout_seconds: float = Field(0.8, alias="STORE_TIMEOUT_SECONDS", ge=0.1, le=10)
    allowed_source_ips: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = Field(
        (), alias="ALLOWED_SOURCE_IPS"
    )

    @field_validator("allowed_source_ips", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        """The template passes a comma-separated list; an empty string switches the allowlist off."""
        if isinstance(value, str):
            return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip())
        return value

    def source_ip_allowed(self, source_ip: str) -> bool:
        if not self.allowed_source_ips:
            return True
        try:
            address = ipaddress.ip_address(source_ip)
        except ValueError:
            return False
        return any(address in network for network in self.allowed_source_ips)


class AuthorizerSettings(FunctionSettings):
    admin_token_parameter: str = Field(alias="ADMIN_TOKEN_PARAMETER", min_length=2)
    admin_token_cache_seconds: int = Field(300, alias="ADMIN_TOKEN_CACHE_SECONDS", ge=0, le=3_600)


class KeysApiSettings(FunctionSettings):
    keys_table_name: str = Field(alias="KEYS_TABLE_NAME", min_length=3)
    cursor_key_parameter: str = Field(alias="CURSOR_KEY_PARAMETER", min_length=2)


class AlertsApiSettings(FunctionSettings):
    alerts_table_name: str = Field(alias="ALERTS_TABLE_NAME", min_length=3)
    #: To resolve a strategy name given as a filter to its key id.
    keys_table_name: str = Field(alias="KEYS_TABLE_NAME", min_length=3)
    #: An alert's detail lists its deliveries.
    deliveries_table_name: str = Field(alias="DELIVERIES_TABLE_NAME", min_length=3)
    cursor_key_parameter: str = Field(alias="CURSOR_KEY_PARAMETER", min_length=2)
    #: The live WebSocket API's URL, handed out with a ticket (wss://...).
    live_url: str = Field(alias="LIVE_URL", min_length=6)


class LiveSettings(FunctionSettings):
    """The live WebSocket API's function: connections and tickets in the keys table, resumes read alerts."""

    keys_table_name: str = Field(alias="KEYS_TABLE_NAME", min_length=3)
    alerts_table_name: str = Field(alias="ALERTS_TABLE_NAME", min_length=3)
    #: Tickets are signed with the cursor key (under their own domain separator).
    cursor_key_parameter: str = Field(alias="CURSOR_KEY_PARAMETER", min_length=2)
    #: The WebSocket API's `@connections` endpoint (https://<api>.execute-api.<region>.amazonaws.com/<stage>).
    live_connections_url: str = Field(alias="LIVE_CONNECTIONS_URL", min_length=8)


class ArchiveSettings(FunctionSettings):
    alerts_table_name: str = Field(alias="ALERTS_TABLE_NAME", min_length=3)
    archive_bucket_name: str = Field(alias="ARCHIVE_BUCKET_NAME", min_length=3)
    archive_retention_days: int = Field(90, alias="ARCHIVE_RETENTION_DAYS", ge=1, le=36_500)
    #: A batch's alert ids are journalled in one DynamoDB item (400 KB at most): 5,000 ids take ~135 KB.
    archive_alerts_per_object: int = Field(1_000, alias="ARCHIVE_ALERTS_PER_OBJECT", ge=1, le=5_000)


class DeliverySettings(FunctionSettings):
    """The stream's consumer: records and enqueues each alert's deliveries, and runs the signal checks."""

    #: Destinations live in the keys table (DESTINATION# items).
    keys_table_name: str = Field(alias="KEYS_TABLE_NAME", min_length=3)
    deliveries_table_name: str = Field(alias="DELIVERIES_TABLE_NAME", min_length=3)
    alerts_table_name: str = Field(alias="ALERTS_TABLE_NAME", min_length=3)
    #: How long an alert's sequence check waits after it arrived, so one sent just before it has landed
    #: (the check queue delays each message this long; the check waits out any remainder).
    settle_seconds: float = Field(2.0, alias="SIGNAL_SETTLE_SECONDS", ge=0, le=30)
    signal_check_queue_url: str = Field(alias="SIGNAL_CHECK_QUEUE_URL", min_length=8)
    #: The destinations' lanes (SQS FIFO, one message group per destination).
    delivery_queue_url: str = Field(alias="DELIVERY_QUEUE_URL", min_length=8)
    #: The live WebSocket API's `@connections` endpoint: each new alert is pushed to open connections.
    live_connections_url: str = Field(alias="LIVE_CONNECTIONS_URL", min_length=8)


class SenderSettings(FunctionSettings):
    """The lanes' sender: one attempt per message, recorded."""

    keys_table_name: str = Field(alias="KEYS_TABLE_NAME", min_length=3)
    deliveries_table_name: str = Field(alias="DELIVERIES_TABLE_NAME", min_length=3)
    alerts_table_name: str = Field(alias="ALERTS_TABLE_NAME", min_length=3)
    destination_secrets_prefix: str = Field(alias="DESTINATION_SECRETS_PREFIX", pattern=r"^/arrowhook/.+/$")
    failure_queue_url: str = Field(alias="DELIVERY_FAILURE_QUEUE_URL", min_length=8)
    delivery_queue_url: str = Field(alias="DELIVERY_QUEUE_URL", min_length=8)
    telegram_api_url: str = Field("https://api.telegram.org", alias="TELEGRAM_API_URL", pattern=r"^https?://")
    #: Empty: the stack has no AlertEmail topic, and email destinations answer so.
    alert_email_topic_arn: str = Field("", alias="ALERT_EMAIL_TOPIC_ARN")
    #: Refusals in a row (401, 403, 404) that pause a destination.
    pause_after_refusals: int = Field(5, alias="PAUSE_AFTER_REFUSALS", ge=1, le=100)
    #: Local development and tests only: destinations on this machine, http too, and nowhere else.
    allow_http_destinations: bool = Field(False, alias="ALLOW_HTTP_DESTINATIONS")


class DestinationAdminSettings(FunctionSettings):
    """What managing destinations needs: the destinations API, and the console's destinations page."""

    keys_table_name: str = Field(alias="KEYS_TABLE_NAME", min_length=3)
    destination_secrets_prefix: str = Field(alias="DESTINATION_SECRETS_PREFIX", pattern=r"^/arrowhook/.+/$")
    telegram_api_url: str = Field("https://api.telegram.org", alias="TELEGRAM_API_URL", pattern=r"^https?://")
    alert_email_topic_arn: str = Field("", alias="ALERT_EMAIL_TOPIC_ARN")
    #: Local development and tests only: destinations on this machine, http too, and nowhere else.
    allow_http_destinations: bool = Field(False, alias="ALLOW_HTTP_DESTINATIONS")


class DestinationsApiSettings(DestinationAdminSettings):
    #: The backlog a redrive reads (failed and held deliveries), and the lanes it sends them to again.
    deliveries_table_name: str = Field(alias="DELIVERIES_TABLE_NAME", min_length=3)
    delivery_queue_url: str = Field(alias="DELIVERY_QUEUE_URL", min_length=8)
    #: `redrive --failure-queue` sends again what its reports name, and removes them.
    failure_queue_url: str = Field(alias="DELIVERY_FAILURE_QUEUE_URL", min_length=8)


class ConsoleSettings(DestinationAdminSettings):
    alerts_table_name: str = Field(alias="ALERTS_TABLE_NAME", min_length=3)
    deliveries_table_name: str = Field(alias="DELIVERIES_TABLE_NAME", min_length=3)
    #: The deliveries page's redrive puts what did not arrive back in its lane.
    delivery_queue_url: str = Field(alias="DELIVERY_QUEUE_URL", min_length=1)
    cursor_key_parameter: str = Field(alias="CURSOR_KEY_PARAMETER", min_length=2)
    #: Signing in compares with the admin token; the session cookie is signed with its own key.
    admin_token_parameter: str = Field(alias="ADMIN_TOKEN_PARAMETER", min_length=2)
    session_key_parameter: str = Field(alias="CONSOLE_SESSION_KEY_PARAMETER", min_length=2)
    session_seconds: int = Field(28_800, alias="CONSOLE_SESSION_SECONDS", ge=300, le=7 * 86_400)
    #: The live WebSocket API's URL, handed out with a ticket (wss://...).
    live_url: str = Field(alias="LIVE_URL", min_length=6)


class PreTrafficSettings(FunctionSettings):
    """The new version of each request-path function a deploy is about to shift traffic to (ARNs)."""

    webhook_version_arn: str = Field(alias="WEBHOOK_VERSION_ARN", min_length=1)
    authorizer_version_arn: str = Field(alias="AUTHORIZER_VERSION_ARN", min_length=1)
    keys_version_arn: str = Field(alias="KEYS_VERSION_ARN", min_length=1)
    alerts_version_arn: str = Field(alias="ALERTS_VERSION_ARN", min_length=1)
    destinations_version_arn: str = Field(alias="DESTINATIONS_VERSION_ARN", min_length=1)
    console_version_arn: str = Field(alias="CONSOLE_VERSION_ARN", min_length=1)
    live_version_arn: str = Field(alias="LIVE_VERSION_ARN", min_length=1)

    def targets(self) -> dict[str, str]:
        """Role -> the version to probe (the roles of arrowhook.release.pre_traffic.PROBES)."""
        return {
            name.removesuffix("_version_arn"): str(value)
            for name, value in self.model_dump().items()
            if name.endswith("_version_arn")
        }
