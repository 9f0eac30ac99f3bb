"""The webhook's use case without AWS (in-memory keys and alerts): authenticated alerts stored once with
the secret scrubbed, a repeat answered with the first id, malformed ones kept, and each refusal's reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from arrowhook.core.errors import BodyTooLargeError, EmptyBodyError, SourceNotAllowedError, UnauthorizedError
from arrowhook.core.settings import WebhookSettings
from arrowhook.ingest.service import IncomingAlert, ingest_alert
from arrowhook.keys import service as key_cases
from tests.fakes.alerts import InMemoryAlerts
from tests.fakes.keys import InMemoryKeys, InMemorySecrets

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def settings(**values: object) -> WebhookSettings:
    return WebhookSettings.model_validate({"KEYS_TABLE_NAME": "keys", "ALERTS_TABLE_NAME": "alerts", **values})


@pytest.fixture
def world() -> tuple[InMemoryKeys, InMemoryAlerts, str]:
    keys = InMemoryKeys()
    _, secret = key_cases.create_key(keys, "ema-cross")
    return keys, InMemoryAlerts(), secret


def send(world: tuple[InMemoryKeys, InMemoryAlerts, str], body: bytes, **values: object) -> str:
    keys, alerts, _ = world
    incoming = IncomingAlert(body=body, received_at=NOW, request_id="r1", **values)  # type: ignore[arg-type]
    return ingest_alert(incoming, settings(), InMemorySecrets(keys), alerts).alert_id


def test_an_alert_is_stored_parsed_and_without_its_secret(world: tuple[InMemoryKeys, InMemoryAlerts, str]) -> None:
    _, alerts, secret = world
    body = json.dumps({"key": secret, "ticker": "BTCUSDT", "action": "buy", "price": "65000.5"}).encode()
    stored = alerts.get(send(world, body))
    assert stored is not None and stored.strategy == "ema-cross"
    assert (stored.fields.ticker, stored.fields.side, str(stored.fields.price)) == ("BTCUSDT", "buy", "65000.5")
    assert secret not in stored.payload and secret not in stored.model_dump_json()


def test_a_repeat_is_answered_with_the_first_id_and_a_malformed_alert_is_kept(
    world: tuple[InMemoryKeys, InMemoryAlerts, str],
) -> None:
    _, alerts, secret = world
    body = json.dumps({"key": secret, "ticker": "ETHUSDT", "price": "{{close}}"}).encode()
    first = send(world, body)
    assert send(world, body) == first and len(alerts.stored) == 1
    stored = alerts.get(first)
    assert stored is not None and stored.fields.price is None and stored.parse_issues
    assert len(stored.duplicates) == 1


@pytest.mark.parametrize(
    ("body", "values", "refused"),
    [
        (b"  ", {}, EmptyBodyError),
        (b"x" * 70_000, {}, BodyTooLargeError),
        (b'{"key": "ahk_not_a_real_secret_at_all", "ticker": "X"}', {}, UnauthorizedError),
        (b'{"ticker": "X"}', {}, UnauthorizedError),
    ],
)
def test_what_is_refused_stores_nothing(
    world: tuple[InMemoryKeys, InMemoryAlerts, str], body: bytes, values: dict[str, object], refused: type[Exception]
) -> None:
    with pytest.raises(refused):
        send(world, body, **values)
    assert world[1].stored == {}


def test_a_disabled_strategy_and_a_source_outside_the_allowlist_are_refused(
    world: tuple[InMemoryKeys, InMemoryAlerts, str],
) -> None:
    keys, alerts, secret = world
    body = json.dumps({"key": secret, "ticker": "X"}).encode()
    only_tradingview = settings(ALLOWED_SOURCE_IPS="52.89.214.238/32")
    with pytest.raises(SourceNotAllowedError):
        ingest_alert(
            IncomingAlert(body=body, received_at=NOW, source_ip="127.0.0.1"),
            only_tradingview,
            InMemorySecrets(keys),
            alerts,
        )
    (key_id,) = keys.held
    key_cases.update_key(keys, key_id, enabled=False)
    with pytest.raises(UnauthorizedError):
        send(world, body)
    assert alerts.stored == {}
