"""Alerts admin API (read-only): FastAPI wrapped by Mangum. Every request is served by Query or GetItem."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Query

from arrowhook.admin_app import BAD_CURSOR, NOT_FOUND, UNAVAILABLE, create_admin_app, lambda_entry
from arrowhook.alert_query import AlertFilter, AlertQuery, parse_moment
from arrowhook.alert_stats import alert_stats
from arrowhook.alerts_table import AlertStore
from arrowhook.daily_counts import DailyCounts
from arrowhook.deliveries_table import DeliveryStore
from arrowhook.errors import InvalidCursorError
from arrowhook.keys_table import KeyStore
from arrowhook.models import iso, utc_now
from arrowhook.pagination import CursorSigner, cursor_signer
from arrowhook.schemas import AlertDetail, AlertOut, AlertPage, AlertStatsOut
from arrowhook.settings import AlertsApiSettings
from arrowhook.tradingview import Side

settings = AlertsApiSettings.from_environment()
alerts = AlertQuery(settings.alerts_table_name)
daily_counts = DailyCounts(settings.alerts_table_name)
alert_store = AlertStore(settings.alerts_table_name)
deliveries = DeliveryStore(settings.deliveries_table_name)
keys = KeyStore(settings.keys_table_name)
app = create_admin_app(
    title="Arrowhook admin API: alerts",
    description="Query stored TradingView alerts. Every route needs `Authorization: Bearer <admin token>`.",
    version=settings.version,
)
TIME_HELP = "ISO 8601 (UTC when no offset) or a duration back from now: 30m, 24h, 7d, 2w."


def signer() -> CursorSigner:
    return cursor_signer(settings.cursor_key_parameter)


@dataclass(frozen=True)
class FilterRequest:
    """The filters as the request gave them: relative times (24h) are resolved once, against the first
    page's clock, which the cursor carries, so page 2 covers the same range as page 1."""

    key_id: str | None
    ticker: str | None
    side: str | None
    since: str | None
    until: str | None
    newest_first: bool

    def resolve(self, now: datetime) -> AlertFilter:
        return AlertFilter(
            key_id=self.key_id,
            ticker=self.ticker,
            side=self.side,
            since=_moment(self.since, "since", now),
            until=_moment(self.until, "until", now),
            newest_first=self.newest_first,
            now=now,
        )


def _moment(value: str | None, name: str, now: datetime) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_moment(value, now)
    except ValueError as error:
        raise HTTPException(status_code=400, detail=f"{name}: {error}") from None


def alert_filter(  # noqa: PLR0917 - FastAPI reads each query parameter from the signature
    key_id: Annotated[str | None, Query(max_length=64, description="Strategy key id.")] = None,
    strategy: Annotated[str | None, Query(max_length=64, description="Strategy (key) name.")] = None,
    ticker: Annotated[str | None, Query(max_length=64, description="Ticker, e.g. BTCUSDT (case-insensitive).")] = None,
    side: Annotated[Side | None, Query(description="buy, sell or close.")] = None,
    since: Annotated[str | None, Query(max_length=64, description="From (inclusive). " + TIME_HELP)] = None,
    until: Annotated[str | None, Query(max_length=64, description="To (inclusive). " + TIME_HELP)] = None,
    order: Annotated[Literal["newest", "oldest"], Query(description="Newest first by default.")] = "newest",
) -> FilterRequest | None:
    """The request's filters; None when a strategy name matches no key (the answer is then empty)."""
    if key_id and strategy:
        raise HTTPException(status_code=400, detail="pass key_id or strategy, not both")
    for name, value in (("since", since), ("until", until)):
        _moment(value, name, utc_now())  # a bad time is a 400 before anything is read
    if strategy:
        key_id = keys.id_for_name(strategy)
        if key_id is None:
            return None
    return FilterRequest(
        key_id=key_id,
        ticker=ticker.strip().upper() if ticker else None,
        side=side.value if side else None,
        since=since,
        until=until,
        newest_first=order == "newest",
    )


Filters = Annotated[FilterRequest | None, Depends(alert_filter)]


@app.get("/alerts", response_model=AlertPage, tags=["alerts"], responses={**BAD_CURSOR, **UNAVAILABLE})
async def list_alerts(
    requested: Filters,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=4096, description="`next_cursor` of the previous page.")] = None,
) -> AlertPage:
    """Alerts matching every filter given, a page at a time, in time order (newest first by default).
    A page can hold fewer than `limit` alerts (even none) and still have a `next_cursor`: one request
    reads at most a bounded number of day partitions; follow the cursor until it is null."""
    if requested is None:
        return AlertPage(items=[], next_cursor=None)
    loaded: dict[str, Any] = signer().load(cursor) if cursor else {}
    now = _cursor_clock(loaded) if cursor else utc_now()
    state: dict[str, Any] | None = loaded.get("s")
    filters = requested.resolve(now)
    if cursor and loaded.get("f") != filters.fingerprint():
        raise InvalidCursorError("cursor issued for other filters")
    found, next_state = alerts.page(filters, limit, state)
    next_cursor = signer().dump({"f": filters.fingerprint(), "s": next_state, "n": iso(now)}) if next_state else None
    return AlertPage(items=[AlertOut.of(alert) for alert in found], next_cursor=next_cursor)


def _cursor_clock(loaded: dict[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(str(loaded["n"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        raise InvalidCursorError("invalid cursor") from None


@app.get("/alerts/stats", response_model=AlertStatsOut, tags=["alerts"], responses={**BAD_CURSOR, **UNAVAILABLE})
async def stats(requested: Filters) -> AlertStatsOut:
    """Counts by strategy, ticker and side over the filtered range, with the first and last receive times.
    Whole closed days come from their daily counts (one small read per day); the rest is read alert by
    alert, at most 20,000 (`truncated` is then true)."""
    if requested is None:
        return AlertStatsOut(
            total=0, by_strategy={}, by_ticker={}, by_side={}, first_seen=None, last_seen=None, truncated=False
        )
    return AlertStatsOut(**asdict(alert_stats(alerts, requested.resolve(utc_now()), daily_counts)))


@app.get("/alerts/{alert_id}", response_model=AlertDetail, tags=["alerts"], responses={**NOT_FOUND, **UNAVAILABLE})
async def get_alert(alert_id: str) -> AlertDetail:
    """One alert: parsed fields, raw payload (secret removed), parse issues, receive metadata, and one
    delivery record per destination it was forwarded to."""
    found = alert_store.get(alert_id)
    if found is None:
        raise HTTPException(status_code=404, detail="alert not found")
    return AlertDetail.of(found, deliveries.for_alert(alert_id))


lambda_handler = lambda_entry(app)
