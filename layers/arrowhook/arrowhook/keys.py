"""Key management use cases, shared by the admin API and the CLI."""

from __future__ import annotations

from arrowhook.credentials import display_prefix, generate_secret, hash_secret
from arrowhook.models import StrategyKey, new_id, utc_now
from arrowhook.store import KeyStore


def create_key(store: KeyStore, name: str, description: str = "") -> tuple[StrategyKey, str]:
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
