"""Key management use cases, shared by the admin API and the console (the CLI calls the API)."""

from __future__ import annotations

import time
from typing import Protocol

from arrowhook.core.errors import KeyNotFoundError
from arrowhook.core.models import KeyStatus, StrategyKey, new_id, utc_now
from arrowhook.core.signals import SignalExpectations
from arrowhook.keys.credentials import display_prefix, generate_secret, hash_secret


class KeyRecords(Protocol):
    """Where keys and their secrets' hashes are kept: arrowhook.keys.store.KeyStore (DynamoDB), or the tests'
    in-memory one. Names are unique (NameTakenError); a missing key is KeyNotFoundError."""

    def create(self, key: StrategyKey, secret_hash: str) -> None: ...

    def get(self, key_id: str) -> StrategyKey | None: ...

    def update(
        self,
        key_id: str,
        *,
        name: str | None,
        description: str | None,
        status: KeyStatus | None,
        signals: SignalExpectations | None = None,
    ) -> StrategyKey: ...

    def rotate(self, key_id: str, new_secret_hash: str, new_prefix: str, grace_seconds: int) -> StrategyKey: ...

    def holds_secret(self, key_id: str, secret_hash: str, now_epoch: float) -> bool: ...

    def delete(self, key_id: str) -> None: ...


class StrategyReferences(Protocol):
    """A strategy by id or name (arrowhook.keys.store.KeyStore.resolve): what destinations and live tickets
    are given and store as ids."""

    def resolve(self, reference: str) -> StrategyKey | None: ...


def create_key(store: KeyRecords, name: str, description: str = "") -> tuple[StrategyKey, str]:
    """Returns the key and its plaintext secret: the only time the secret exists outside the caller."""
    secret = generate_secret()
    now = utc_now()
    key = StrategyKey(
        id=new_id(),
        name=name.strip(),
        description=description.strip(),
        secret_prefix=display_prefix(secret),
        created_at=now,
        updated_at=now,
    )
    store.create(key, hash_secret(secret))
    return key, secret


def get_key(store: KeyRecords, key_id: str) -> StrategyKey:
    key = store.get(key_id)
    if key is None:
        raise KeyNotFoundError(f"no key {key_id}")
    return key


def update_key(
    store: KeyRecords,
    key_id: str,
    *,
    name: str | None = None,
    description: str | None = None,
    enabled: bool | None = None,
    signals: SignalExpectations | None = None,
) -> StrategyKey:
    status = None if enabled is None else (KeyStatus.ACTIVE if enabled else KeyStatus.DISABLED)
    return store.update(
        key_id,
        name=None if name is None else name.strip(),
        description=None if description is None else description.strip(),
        status=status,
        signals=signals,
    )


def rotate_key(store: KeyRecords, key_id: str, grace_seconds: int = 0) -> tuple[StrategyKey, str]:
    """A new secret; the old one keeps working for `grace_seconds` (0: rejected at once)."""
    secret = generate_secret()
    key = store.rotate(key_id, hash_secret(secret), display_prefix(secret), grace_seconds)
    return key, secret


def verify_secret(store: KeyRecords, key_id: str, secret: str) -> tuple[StrategyKey, bool]:
    """The key, and whether `secret` is one of its working secrets: `arrowhook strategies test` asks before
    sending anything, so another strategy's secret never sends a test to that strategy's destinations."""
    key = get_key(store, key_id)
    return key, store.holds_secret(key.id, hash_secret(secret), time.time())


def delete_key(store: KeyRecords, key_id: str) -> None:
    store.delete(key_id)
