"""Destination management without AWS (in-memory destinations, secrets and keys): what is stored where, the
signing secret shown once, strategies stored by id, a concurrent change re-read, and the refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from arrowhook.core.errors import KeyConflictError
from arrowhook.delivery.admin import DestinationAdmin, DestinationChanges
from arrowhook.delivery.destinations import DestinationNotFoundError
from arrowhook.delivery.kinds.base import InvalidDestinationError
from arrowhook.delivery.kinds.registry import DestinationKind
from arrowhook.keys import service as key_cases
from tests.fakes.delivery import InMemoryDestinations, InMemoryDestinationSecrets
from tests.fakes.keys import InMemoryKeys

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
HOOK = "http://127.0.0.1:9/hook/desk"


def admin(**values: object) -> tuple[DestinationAdmin, InMemoryDestinations, InMemoryDestinationSecrets]:
    keys = InMemoryKeys()
    key_cases.create_key(keys, "ema-cross")
    store, secrets = InMemoryDestinations(), InMemoryDestinationSecrets()
    made = DestinationAdmin(store, secrets, keys, allow_http=True, now=lambda: NOW, **values)  # type: ignore[arg-type]
    return made, store, secrets


def test_a_signed_webhook_keeps_its_url_and_secret_apart_and_shows_the_secret_once() -> None:
    destinations, store, secrets = admin()
    created, signing_secret = destinations.create(DestinationKind.WEBHOOK, DestinationChanges(url=HOOK))
    assert signing_secret is not None and signing_secret.startswith("whsec_")
    kept = secrets.kept[created.id]
    assert (kept.url, kept.signing_secret) == (HOOK, signing_secret)
    assert HOOK not in created.model_dump_json() and signing_secret not in created.model_dump_json()
    assert created.template == DestinationKind.WEBHOOK.rules.default_template
    assert store.get(created.id) == (created, 1)


def test_strategies_are_stored_by_id_and_an_unknown_one_is_refused() -> None:
    destinations, _, _ = admin()
    (key_id,) = destinations.keys.held  # type: ignore[attr-defined]
    created, _ = destinations.create(DestinationKind.WEBHOOK, DestinationChanges(url=HOOK, strategies=["EMA-cross"]))
    assert created.strategies == (key_id,)
    with pytest.raises(InvalidDestinationError, match="no strategy 'rsi'"):
        destinations.create(DestinationKind.WEBHOOK, DestinationChanges(url=HOOK, strategies=["rsi"]))


def test_an_update_lands_on_top_of_a_concurrent_change_and_gives_up_after_five() -> None:
    destinations, store, _ = admin()
    created, _ = destinations.create(DestinationKind.WEBHOOK, DestinationChanges(url=HOOK))
    store.conflicts = 2
    assert destinations.update(created.id, DestinationChanges(name="desk")).name == "desk"
    store.conflicts = 5
    with pytest.raises(KeyConflictError):
        destinations.update(created.id, DestinationChanges(name="late"))


def test_a_rotation_signs_with_both_secrets_inside_its_grace() -> None:
    destinations, _, secrets = admin()
    created, first = destinations.create(DestinationKind.WEBHOOK, DestinationChanges(url=HOOK))
    _, second = destinations.rotate_signing_secret(created.id, grace_seconds=3600)
    assert secrets.kept[created.id].signing_secrets(NOW) == [second, first]
    chat, _ = destinations.create(
        DestinationKind.TELEGRAM, DestinationChanges(bot_token="777:" + "A" * 24, chat_id="-100123")
    )
    with pytest.raises(InvalidDestinationError, match="only webhook"):
        destinations.rotate_signing_secret(chat.id, grace_seconds=0)


def test_email_needs_the_stacks_topic_and_a_deleted_destination_takes_its_secret() -> None:
    without_topic, _, _ = admin()
    with pytest.raises(InvalidDestinationError, match="AlertEmail"):
        without_topic.create(DestinationKind.EMAIL, DestinationChanges())
    destinations, store, secrets = admin(email_enabled=True)
    created, signing_secret = destinations.create(DestinationKind.EMAIL, DestinationChanges())
    assert signing_secret is None and created.target == "AlertEmail topic"
    destinations.delete(created.id)
    assert created.id not in store.stored and created.id not in secrets.kept
    with pytest.raises(DestinationNotFoundError):
        destinations.get(created.id)
