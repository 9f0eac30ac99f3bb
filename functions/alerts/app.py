"""Alerts admin API (read-only): FastAPI wrapped by Mangum. Every request is served by Query or GetItem."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Query, Request

from arrowhook.admin.app import (
    BAD_CURSOR,
    BAD_FILTER,
    MALFORMED_BODY,
    NOT_AN_EXPORT,
    NOT_FOUND,
    UNAVAILABLE,
    create_admin_app,
    lambda_entry,
)
from arrowhook.admin.ledger_schemas import LedgerOut, ReconciliationOut
from arrowhook.admin.schemas import (
    AlertDetail,
    AlertOut,
    AlertPage,
    AlertStatsOut,
    LiveTicketOut,
    LiveTicketRequest,
    PositionOut,
    PositionsOut,
)
from arrowhook.alerts.daily_counts import DailyCounts
from arrowhook.alerts.listing import TIME_HELP, AlertListing, FilterRequest, moment
from arrowhook.alerts.positions import positions
from arrowhook.alerts.query import AlertQuery
from arrowhook.alerts.stats import alert_stats
from arrowhook.alerts.store import AlertStore
from arrowhook.aws.pagination import CursorSigner, cursor_signer
from arrowhook.core.errors import KeyNotFoundError
from arrowhook.core.models import StrategyKey, utc_now
from arrowhook.core.settings import AlertsApiSettings
from arrowhook.core.tradingview import Side
from arrowhook.delivery.records_store import DeliveryStore
from arrowhook.keys.store import KeyStore
from arrowhook.ledger.reconcile import DEFAULT_PRICE_TOLERANCE
from arrowhook.ledger.service import reconcile_export
from arrowhook.ledger.service import strategy_ledger as strategy_ledger_of
from arrowhook.live.tickets import ticket_for, ticket_signer

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


def signer() -> CursorSigner:
    return cursor_signer(settings.cursor_key_parameter)


listing = AlertListing(alerts, keys, signer)


def strategy_key(reference: str) -> StrategyKey:
    """The strategy a route names by id or name; 404 when none."""
    key = keys.resolve(reference)
    if key is None:
        raise KeyNotFoundError(f"no strategy {reference}")
    return key


def alert_filter(  # noqa: PLR0917 - FastAPI reads each query parameter from the signature
    key_id: Annotated[str | None, Query(max_length=64, description="Strategy key id.")] = None,
    strategy: Annotated[str | None, Query(max_length=64, description="Strategy (key) name.")] = None,
    ticker: Annotated[str | None, Query(max_length=64, description="Ticker, e.g. BTCUSDT (case-insensitive).")] = None,
    side: Annotated[Side | None, Query(description="buy, sell or close.")] = None,
    since: Annotated[str | None, Query(max_length=64, description="From (inclusive). " + TIME_HELP)] = None,
    until: Annotated[str | None, Query(max_length=64, description="To (inclusive). " + TIME_HELP)] = None,
    order: Annotated[Literal["newest", "oldest"], Query(description="Newest first by default.")] = "newest",
    has_issues: Annotated[bool, Query(description="Only alerts with parse issues.")] = False,
    contains: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Only alerts whose body contains this text.")
    ] = None,
) -> FilterRequest | None:
    """The request's filters; None when a strategy name matches no key (the answer is then empty)."""
    return listing.request(
        key_id=key_id,
        strategy=strategy,
        ticker=ticker,
        side=side.value if side else None,
        since=since,
        until=until,
        newest_first=order == "newest",
        has_issues=has_issues,
        contains=contains,
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
    found, next_cursor = listing.page(requested, limit, cursor)
    return AlertPage(items=[AlertOut.of(alert) for alert in found], next_cursor=next_cursor)


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


@app.get(
    "/strategies/{strategy}/positions",
    response_model=PositionsOut,
    tags=["strategies"],
    responses={**NOT_FOUND, **UNAVAILABLE},
)
async def strategy_positions(strategy: str) -> PositionsOut:
    """The position each ticker's newest alert implies (`market_position`, or the sign of
    `position_size`), with when it was last confirmed. `strategy` is a key id or a strategy name."""
    key = strategy_key(strategy)
    found, read, complete = positions(alerts, key.id)
    return PositionsOut(
        key_id=key.id,
        strategy=key.name,
        positions=[PositionOut.model_validate(asdict(position)) for position in found],
        alerts_read=read,
        complete=complete,
    )


@app.get(
    "/strategies/{strategy}/ledger",
    response_model=LedgerOut,
    tags=["strategies"],
    responses={**NOT_FOUND, **UNAVAILABLE, **BAD_FILTER},
)
async def strategy_ledger(
    strategy: str,
    ticker: Annotated[
        str | None, Query(max_length=64, description="One ticker (case-insensitive); omitted: all.")
    ] = None,
    since: Annotated[str | None, Query(max_length=64, description="Trades exited from. " + TIME_HELP)] = None,
    until: Annotated[str | None, Query(max_length=64, description="Alerts up to. " + TIME_HELP)] = None,
) -> LedgerOut:
    """The strategy's ledger from its order-fill alerts (docs/ledger.md): closed trades first in, first
    out, realized profit (gross), open positions marked at the latest price, and the fills that contradict
    the position. `strategy` is a key id or a strategy name."""
    key = strategy_key(strategy)
    now = utc_now()
    found = strategy_ledger_of(alerts, key.id, moment(until, "until", now))
    return LedgerOut.of(key.id, key.name, found, ticker, moment(since, "since", now))


@app.post(
    "/strategies/{strategy}/reconcile",
    response_model=ReconciliationOut,
    tags=["strategies"],
    responses={**NOT_FOUND, **UNAVAILABLE, **NOT_AN_EXPORT},
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def strategy_reconcile(
    strategy: str,
    request: Request,
    *,
    timezone: Annotated[str, Query(max_length=64, description="The export's time zone (IANA name).")] = "UTC",
    ticker: Annotated[str | None, Query(max_length=64, description="Compare with this ticker's alerts only.")] = None,
    time_tolerance: Annotated[float, Query(gt=0, le=86_400, description="Seconds between a row and its alert.")] = 300,
    price_tolerance: Annotated[
        Decimal, Query(ge=0, le=1, description="Relative price difference allowed.")
    ] = DEFAULT_PRICE_TOLERANCE,
) -> ReconciliationOut:
    """TradingView's Strategy Tester "List of trades" export (the CSV as the body) against the strategy's
    alerts (docs/ledger.md): orders whose alert never arrived, alerts with no order, and fills whose price
    or quantity differ. The file is read for this answer only, never stored."""
    key = strategy_key(strategy)
    tolerance = timedelta(seconds=time_tolerance)
    found, ledger = reconcile_export(
        alerts, key.id, await request.body(), timezone=timezone, ticker=ticker, time_tolerance=tolerance,
        price_tolerance=price_tolerance,
    )  # fmt: skip
    return ReconciliationOut.of(
        key.id, key.name, ticker, found, ledger, time_tolerance=tolerance, price_tolerance=price_tolerance
    )


@app.get("/alerts/{alert_id}", response_model=AlertDetail, tags=["alerts"], responses={**NOT_FOUND, **UNAVAILABLE})
async def get_alert(alert_id: str) -> AlertDetail:
    """One alert: parsed fields, raw payload (secret removed), parse issues, receive metadata, and one
    delivery record per destination it was forwarded to."""
    found = alert_store.get(alert_id)
    if found is None:
        raise HTTPException(status_code=404, detail="alert not found")
    return AlertDetail.of(found, deliveries.for_alert(alert_id))


@app.post(
    "/live/tickets",
    status_code=201,
    response_model=LiveTicketOut,
    tags=["live"],
    responses={**NOT_FOUND, **UNAVAILABLE, **MALFORMED_BODY},
)
async def live_ticket(body: LiveTicketRequest | None = None) -> LiveTicketOut:
    """A ticket for the live WebSocket API (docs/live.md): good for one connection, once, within 30
    seconds, receiving the named strategies' alerts (ids or names; omitted: all). At most five
    connections opened with the admin token are open at once."""
    signer = ticket_signer(settings.cursor_key_parameter)
    token, ticket = ticket_for(signer, "admin", body.strategies if body else None, keys, utc_now())
    return LiveTicketOut.of(token, ticket, settings.live_url)


lambda_handler = lambda_entry(app)
