"""Live frames against their published JSON Schema (jsonschema, formats checked): what a client in any
language validates against is what the server sends."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from pydantic import ValidationError

from arrowhook.admin.live_messages import LiveAlert, LiveError, LivePong, LiveRequest, LiveResumed
from arrowhook.core.models import StoredAlert
from arrowhook.live.resume import position
from arrowhook_tools.local.template import PROJECT_ROOT
from tests.fakes.alerts import stored_alert

SCHEMA = json.loads((PROJECT_ROOT / "docs/schemas/live-message.schema.json").read_text())


class _Key:
    id, name = "01KEY", "ema-cross"


def _alert(minutes: int = 0) -> StoredAlert:
    return stored_alert(
        _Key(), minutes, ticker="BTCUSDT", side="buy", price="65000.5", tv_timenow="2026-11-20T12:00:00Z"
    )


@pytest.mark.parametrize(
    "frame",
    [
        LiveAlert.of(_alert()),
        LivePong(at=datetime(2026, 12, 6, tzinfo=UTC), position="2026-12-06T00:00:00.000Z#"),
        LiveResumed(count=3, complete=True),
        LiveError(error="invalid_request", message="unknown action"),
    ],
    ids=lambda frame: frame.type,
)
def test_every_frame_matches_the_published_schema(frame: LiveAlert | LivePong | LiveResumed | LiveError) -> None:
    document = json.loads(frame.model_dump_json())
    errors = list(Draft202012Validator(SCHEMA, format_checker=FormatChecker()).iter_errors(document))
    assert errors == [], errors


def test_an_alerts_position_orders_alerts_as_they_arrived() -> None:
    first, second = _alert(0), _alert(1)
    assert position(first) < position(second)
    pushed = json.loads(LiveAlert.of(second).model_dump_json())
    assert pushed["position"] == position(second) and pushed["alert"]["price"] == "65000.5"


def test_a_client_may_only_ping_or_resume() -> None:
    assert LiveRequest.model_validate_json('{"action": "resume", "after": "x"}').after == "x"
    for bad in ('{"action": "subscribe"}', '{"action": "ping", "extra": 1}', "[]"):
        with pytest.raises(ValidationError):
            LiveRequest.model_validate_json(bad)
