"""Listing strategy keys a page at a time, as the admin API does (beside arrowhook.alerts.listing): by name,
a case-insensitive prefix, with a signed cursor that is only good for the listing that issued it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from arrowhook.aws.pagination import CursorSigner
from arrowhook.core.errors import InvalidCursorError
from arrowhook.core.models import StrategyKey


class KeyPages(Protocol):
    """arrowhook.keys.store.KeyStore's paged read (an in-memory one in tests)."""

    def list_page(
        self, *, name_prefix: str = "", limit: int = 50, start_key: dict[str, Any] | None = None
    ) -> tuple[list[StrategyKey], dict[str, Any] | None]: ...


@dataclass(frozen=True)
class KeyListing:
    store: KeyPages
    #: Called only when a cursor is read or issued (its key is a secure parameter).
    signer: Callable[[], CursorSigner]

    def page(self, name_prefix: str, limit: int, cursor: str | None) -> tuple[list[StrategyKey], str | None]:
        """Keys ordered by name, and the cursor of the next page (None on the last). A cursor issued for
        another prefix is refused: it would silently list the wrong keys."""
        scope = name_prefix.lower()
        start_key = None
        if cursor:
            state = self.signer().load(cursor)
            if state.get("s") != scope or not isinstance(state.get("k"), dict):
                raise InvalidCursorError("cursor issued for another listing")
            start_key = state["k"]
        keys, last = self.store.list_page(name_prefix=name_prefix, limit=limit, start_key=start_key)
        return keys, self.signer().dump({"k": last, "s": scope}) if last else None
