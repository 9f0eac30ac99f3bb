"""Item formats: every entity item this release writes says its format; an item without one is format 1."""

from __future__ import annotations

from datetime import UTC, datetime

from arrowhook.alerts.store import alert_item
from arrowhook.core.formats import ITEM_FORMAT, ITEM_FORMAT_ATTRIBUTE, format_of
from arrowhook.core.models import StoredAlert, StrategyKey
from arrowhook.core.tradingview import AlertFields
from arrowhook.keys.store import _KeyRecord


def test_an_item_says_its_format_or_is_the_first() -> None:
    assert format_of({}) == 1, "written before item formats existed (release 0.1.0)"
    assert format_of({ITEM_FORMAT_ATTRIBUTE: 3}) == 3
    assert format_of({ITEM_FORMAT_ATTRIBUTE: {"N": "2"}}) == 2


def test_keys_say_their_format_and_alerts_say_format_1_by_its_absence() -> None:
    now = datetime(2026, 12, 6, tzinfo=UTC)
    alert = StoredAlert(
        alert_id="01J0",
        key_id="k",
        strategy="s",
        received_at=now,
        body_format="json",
        fields=AlertFields(),
        payload="{}",
    )
    assert ITEM_FORMAT_ATTRIBUTE not in alert_item(alert), "format 1 alerts say it by its absence (13 bytes each)"
    assert format_of(alert_item(alert)) == 1
    key = StrategyKey(
        id="k", name="s", description="", status="active", secret_prefix="ahk_", created_at=now, updated_at=now
    )
    item = _KeyRecord(key=key, secret_hash="h", version=1).item()
    assert item[ITEM_FORMAT_ATTRIBUTE] == {"N": str(ITEM_FORMAT)}
    assert _KeyRecord.from_item(item).key == key, "and read back as before"
