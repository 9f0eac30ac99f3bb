"""Listing alerts a page at a time, as the admin API and the console both do: filters as a request gave
them (a strategy by name or id, relative times), resolved once against the first page's clock, and a
signed cursor that carries that clock, so page 2 covers the same range as page 1."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arrowhook.alerts.query import AlertFilter, AlertQuery, parse_moment
from arrowhook.aws.pagination import CursorSigner
from arrowhook.core.errors import InvalidCursorError, InvalidFilterError
from arrowhook.core.models import StoredAlert, iso, utc_now
from arrowhook.keys.store import KeyStore

TIME_HELP = "ISO 8601 (UTC when no offset) or a duration back from now: 30m, 24h, 7d, 2w."


def moment(value: str | None, name: str, now: datetime) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        return parse_moment(value.strip(), now)
    except ValueError as error:
        raise InvalidFilterError(f"{name}: {error}") from None


@dataclass(frozen=True)
class FilterRequest:
    """The filters as the request gave them (times unresolved)."""

    key_id: str | None = None
    ticker: str | None = None
    side: str | None = None
    since: str | None = None
    until: str | None = None
    newest_first: bool = True
    has_issues: bool = False
    contains: str | None = None

    def resolve(self, now: datetime) -> AlertFilter:
        return AlertFilter(
            key_id=self.key_id,
            ticker=self.ticker,
            side=self.side,
            since=moment(self.since, "since", now),
            until=moment(self.until, "until", now),
            newest_first=self.newest_first,
            now=now,
            has_issues=self.has_issues,
            contains=self.contains,
        )


@dataclass
class AlertListing:
    alerts: AlertQuery
    keys: KeyStore
    #: Called when a cursor is read or written (the key is read from SSM then, not at cold start).
    signer: Callable[[], CursorSigner]
    #: The clock relative times are resolved against (tests give their own).
    now: Callable[[], datetime] = utc_now

    def request(
        self,
        *,
        key_id: str | None = None,
        strategy: str | None = None,
        ticker: str | None = None,
        side: str | None = None,
        since: str | None = None,
        until: str | None = None,
        newest_first: bool = True,
        has_issues: bool = False,
        contains: str | None = None,
    ) -> FilterRequest | None:
        """The filters, checked; None when a strategy name matches no key (the answer is then empty)."""
        if key_id and strategy:
            raise InvalidFilterError("pass key_id or strategy, not both")
        for name, value in (("since", since), ("until", until)):
            moment(value, name, self.now())  # a bad time is a 400 before anything is read
        if strategy:
            key_id = self.keys.id_for_name(strategy)
            if key_id is None:
                return None
        return FilterRequest(
            key_id=key_id or None,
            ticker=ticker.strip().upper() if ticker and ticker.strip() else None,
            side=side or None,
            since=since or None,
            until=until or None,
            newest_first=newest_first,
            has_issues=has_issues,
            contains=contains or None,
        )

    def page(
        self, requested: FilterRequest | None, limit: int, cursor: str | None
    ) -> tuple[list[StoredAlert], str | None]:
        """One page and the cursor of the next (None on the last)."""
        if requested is None:
            return [], None
        loaded: dict[str, Any] = self.signer().load(cursor) if cursor else {}
        now = _cursor_clock(loaded) if cursor else self.now()
        filters = requested.resolve(now)
        if cursor and loaded.get("f") != filters.fingerprint():
            raise InvalidCursorError("cursor issued for other filters")
        found, next_state = self.alerts.page(filters, limit, loaded.get("s"))
        next_cursor = (
            self.signer().dump({"f": filters.fingerprint(), "s": next_state, "n": iso(now)}) if next_state else None
        )
        return found, next_cursor


def _cursor_clock(loaded: dict[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(str(loaded["n"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        raise InvalidCursorError("invalid cursor") from None
