"""The keys listing's pages and cursors (an in-memory store): every key once across pages, by name, and a
cursor good only for the listing that issued it."""

from __future__ import annotations

import pytest

from arrowhook.aws.pagination import CursorSigner
from arrowhook.core.errors import InvalidCursorError
from arrowhook.keys import service
from arrowhook.keys.listing import KeyListing
from tests.fakes.keys import InMemoryKeys

SIGNER = CursorSigner(b"k" * 32)


def listing_of(*names: str) -> KeyListing:
    store = InMemoryKeys()
    for name in names:
        service.create_key(store, name)
    return KeyListing(store, lambda: SIGNER)


def test_pages_list_every_key_once_by_name() -> None:
    listing = listing_of("rsi", "ema-fast", "Ema-slow", "macd", "ema-cross")
    seen: list[str] = []
    cursor: str | None = None
    while True:
        keys, cursor = listing.page("", 2, cursor)
        seen.extend(key.name for key in keys)
        if cursor is None:
            break
    assert seen == ["ema-cross", "ema-fast", "Ema-slow", "macd", "rsi"]


def test_a_prefix_is_case_insensitive_and_its_cursor_is_refused_by_another_listing() -> None:
    listing = listing_of("ema-fast", "Ema-slow", "ema-cross", "rsi")
    keys, cursor = listing.page("EMA", 2, None)
    assert [key.name for key in keys] == ["ema-cross", "ema-fast"] and cursor is not None
    with pytest.raises(InvalidCursorError, match="another listing"):
        listing.page("rsi", 2, cursor)
    with pytest.raises(InvalidCursorError):
        listing.page("ema", 2, cursor[:-2] + "xx")
    assert [key.name for key in listing.page("ema", 2, cursor)[0]] == ["Ema-slow"]
