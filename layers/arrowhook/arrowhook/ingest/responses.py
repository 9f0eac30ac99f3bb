"""What the webhook's routes answer, as models: the handler builds its bodies from them, and the
webhook's part of openapi.json is generated from them (through Powertools' resolver)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class AlertStored(BaseModel):
    status: Literal["stored"] = "stored"
    alert_id: str = Field(description="ULID of the stored alert (the first delivery's for a duplicate).")
    duplicate: bool


class HealthChecks(BaseModel):
    store: Literal["ok", "unreachable"]


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    version: str
    checks: HealthChecks


class VersionInfo(BaseModel):
    version: str
    commit: str
    built_at: str = Field(description="When `sam build` ran (`local` when run from source).")
