"""The key use cases without AWS (an in-memory store): a secret shown once and kept only as a hash,
rotation with and without grace, verification, and the errors the API maps."""

from __future__ import annotations

import time

import pytest

from arrowhook.core.errors import KeyNotFoundError, NameTakenError
from arrowhook.core.models import KeyStatus
from arrowhook.keys import service
from arrowhook.keys.credentials import hash_secret
from tests.fakes.keys import InMemoryKeys


def test_a_created_key_keeps_only_its_secrets_hash_and_shows_its_prefix() -> None:
    store = InMemoryKeys()
    key, secret = service.create_key(store, "  ema-cross ", " fast ")
    assert (key.name, key.description, key.status) == ("ema-cross", "fast", KeyStatus.ACTIVE)
    assert secret.startswith(key.secret_prefix) and secret != key.secret_prefix
    assert store.held[key.id].secret_hash == hash_secret(secret) != secret
    with pytest.raises(NameTakenError):
        service.create_key(store, "EMA-CROSS")


def test_a_rotation_with_grace_keeps_the_old_secret_working_and_without_grace_refuses_it() -> None:
    store = InMemoryKeys()
    key, first = service.create_key(store, "ema-cross")
    _, second = service.rotate_key(store, key.id, grace_seconds=3600)
    assert service.verify_secret(store, key.id, first)[1] and service.verify_secret(store, key.id, second)[1]
    _, third = service.rotate_key(store, key.id)
    assert not service.verify_secret(store, key.id, second)[1]
    assert service.verify_secret(store, key.id, third) == (store.get(key.id), True)
    assert store.holds_secret(key.id, hash_secret(first), time.time() + 7200) is False


def test_an_update_trims_names_switches_status_and_refuses_a_taken_name() -> None:
    store = InMemoryKeys()
    key, _ = service.create_key(store, "ema-cross")
    service.create_key(store, "rsi")
    updated = service.update_key(store, key.id, name=" ema-fast ", enabled=False)
    assert (updated.name, updated.status) == ("ema-fast", KeyStatus.DISABLED)
    with pytest.raises(NameTakenError):
        service.update_key(store, key.id, name="RSI")


def test_a_missing_key_is_not_found_by_every_use_case() -> None:
    store = InMemoryKeys()
    for use in (
        lambda: service.get_key(store, "01NONE"),
        lambda: service.rotate_key(store, "01NONE"),
        lambda: service.verify_secret(store, "01NONE", "ahk_x"),
        lambda: service.delete_key(store, "01NONE"),
    ):
        with pytest.raises(KeyNotFoundError):
            use()
