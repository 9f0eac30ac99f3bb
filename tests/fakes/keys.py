"""Strategy keys in memory, behind the protocols the key use cases read through (keys.service.KeyRecords,
keys.listing.KeyPages): unique names (case-insensitive), the current and previous secret hash of each key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arrowhook.core.errors import KeyNotFoundError, NameTakenError
from arrowhook.core.models import KeyAuth, KeyStatus, StrategyKey, utc_now
from arrowhook.core.signals import SignalExpectations
from arrowhook.keys.credentials import hash_secret


@dataclass
class _Held:
    key: StrategyKey
    secret_hash: str
    previous_hash: str | None = None
    previous_expires_at: float | None = None


@dataclass
class InMemoryKeys:
    held: dict[str, _Held] = field(default_factory=dict)

    def create(self, key: StrategyKey, secret_hash: str) -> None:
        self._name_free(key.name, key.id)
        self.held[key.id] = _Held(key, secret_hash)

    def get(self, key_id: str) -> StrategyKey | None:
        found = self.held.get(key_id)
        return found.key if found else None

    def update(
        self,
        key_id: str,
        *,
        name: str | None,
        description: str | None,
        status: KeyStatus | None,
        signals: SignalExpectations | None = None,
    ) -> StrategyKey:
        held = self._held(key_id)
        if name is not None:
            self._name_free(name, key_id)
        changes = {"name": name, "description": description, "status": status, "signals": signals}
        updated = {name: value for name, value in changes.items() if value is not None}
        held.key = held.key.model_copy(update={**updated, "updated_at": utc_now()})
        return held.key

    def rotate(self, key_id: str, new_secret_hash: str, new_prefix: str, grace_seconds: int) -> StrategyKey:
        held = self._held(key_id)
        now = utc_now()
        grace = grace_seconds > 0
        held.previous_hash = held.secret_hash if grace else None
        held.previous_expires_at = now.timestamp() + grace_seconds if grace else None
        held.secret_hash = new_secret_hash
        held.key = held.key.model_copy(update={"secret_prefix": new_prefix, "updated_at": now})
        return held.key

    def holds_secret(self, key_id: str, secret_hash: str, now_epoch: float) -> bool:
        held = self._held(key_id)
        in_grace = held.previous_hash == secret_hash and (held.previous_expires_at or 0) > now_epoch
        return held.secret_hash == secret_hash or in_grace

    def delete(self, key_id: str) -> None:
        self._held(key_id)
        del self.held[key_id]

    def list_page(
        self, *, name_prefix: str = "", limit: int = 50, start_key: dict[str, Any] | None = None
    ) -> tuple[list[StrategyKey], dict[str, Any] | None]:
        by_name = sorted(
            (held.key for held in self.held.values() if held.key.name.lower().startswith(name_prefix.lower())),
            key=lambda key: key.name.lower(),
        )
        after = str(start_key["name"]) if start_key else None
        rest = [key for key in by_name if after is None or key.name.lower() > after]
        page = rest[:limit]
        return page, ({"name": page[-1].name.lower()} if len(rest) > limit else None)

    def resolve(self, reference: str) -> StrategyKey | None:
        """delivery.admin.StrategyReferences: a key id, or a strategy's name (case-insensitive)."""
        found = self.get(reference)
        by_name = (held.key for held in self.held.values() if held.key.name.lower() == reference.lower())
        return found or next(by_name, None)

    def _held(self, key_id: str) -> _Held:
        held = self.held.get(key_id)
        if held is None:
            raise KeyNotFoundError(f"no key {key_id}")
        return held

    def _name_free(self, name: str, key_id: str) -> None:
        if any(held.key.name.lower() == name.lower() and other != key_id for other, held in self.held.items()):
            raise NameTakenError(f"a key named {name!r} exists")


@dataclass
class InMemorySecrets:
    """The webhook's view of the same keys (ingest.service.SecretLookup): a secret to its KeyAuth, the
    previous secret inside its grace included."""

    keys: InMemoryKeys

    def resolve(self, secret: str) -> KeyAuth | None:
        secret_hash = hash_secret(secret)
        for held in self.keys.held.values():
            if held.secret_hash == secret_hash:
                return KeyAuth(key_id=held.key.id, name=held.key.name, status=held.key.status)
            if held.previous_hash == secret_hash and held.previous_expires_at is not None:
                expires = int(held.previous_expires_at)
                return KeyAuth(key_id=held.key.id, name=held.key.name, status=held.key.status, expires_at=expires)
        return None
