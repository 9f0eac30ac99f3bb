"""Configuration: every value comes from an environment variable that template.yaml sets."""

from __future__ import annotations

import ipaddress
import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Settings(BaseModel):
    """Validated once per cold start, so a misconfigured function fails at init, not mid-request."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    keys_table_name: str = Field(alias="KEYS_TABLE_NAME", min_length=3)
    alerts_table_name: str = Field(alias="ALERTS_TABLE_NAME", min_length=3)
    dedupe_window_seconds: int = Field(60, alias="DEDUPE_WINDOW_SECONDS", ge=0, le=86_400)
    max_body_bytes: int = Field(65_536, alias="MAX_BODY_BYTES", ge=1, le=262_144)
    key_cache_ttl_seconds: int = Field(30, alias="KEY_CACHE_TTL_SECONDS", ge=0, le=3_600)
    store_timeout_seconds: float = Field(0.8, alias="STORE_TIMEOUT_SECONDS", ge=0.1, le=10)
    admin_token_parameter: str | None = Field(None, alias="ADMIN_TOKEN_PARAMETER")
    admin_token_cache_seconds: int = Field(300, alias="ADMIN_TOKEN_CACHE_SECONDS", ge=0, le=3_600)
    cursor_key_parameter: str | None = Field(None, alias="CURSOR_KEY_PARAMETER")
    version: str = Field("dev", alias="ARROWHOOK_VERSION")
    archive_bucket_name: str | None = Field(None, alias="ARCHIVE_BUCKET_NAME")
    archive_retention_days: int = Field(90, alias="ARCHIVE_RETENTION_DAYS", ge=1, le=36_500)
    #: A batch's alert ids are journalled in one DynamoDB item (400 KB at most): 5,000 ids take ~135 KB.
    archive_alerts_per_object: int = Field(1_000, alias="ARCHIVE_ALERTS_PER_OBJECT", ge=1, le=5_000)
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


@cache
def get_settings() -> Settings:
    return Settings.model_validate(dict(os.environ))
