"""What the pages show, shaped from the layer's answers: the alert filters as query parameters, a table
row of an alert, a strategy's row, the shown-once secret page's context."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request

from arrowhook.admin.tradingview_messages import indicator_message, strategy_message
from arrowhook.alerts.listing import FilterRequest
from arrowhook.core.fills import fill_meaning
from arrowhook.core.models import StoredAlert, StrategyKey, iso, utc_now
from arrowhook.live.resume import position
from console_pages.wiring import alert_query, keys, listing


def _filters(  # noqa: PLR0917 - one query parameter each
    strategy: Annotated[str | None, Query(max_length=64)] = None,
    ticker: Annotated[str | None, Query(max_length=64)] = None,
    side: Annotated[str | None, Query(pattern="^(|buy|sell|close)$")] = None,
    since: Annotated[str | None, Query(max_length=64)] = None,
    until: Annotated[str | None, Query(max_length=64)] = None,
    issues: Annotated[bool, Query()] = False,
    contains: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    return {
        "strategy": strategy or "",
        "ticker": ticker or "",
        "side": side or "",
        "since": since or "",
        "until": until or "",
        "issues": issues,
        "contains": contains or "",
    }


Filters = Annotated[dict[str, Any], Depends(_filters)]


def requested(filters: dict[str, Any], *, since: str | None = None, newest_first: bool = True) -> FilterRequest | None:
    return listing.request(
        strategy=filters["strategy"] or None,
        ticker=filters["ticker"] or None,
        side=filters["side"] or None,
        since=since or filters["since"] or None,
        until=filters["until"] or None,
        newest_first=newest_first,
        has_issues=filters["issues"],
        contains=filters["contains"] or None,
    )


def query_string(filters: dict[str, Any], **extra: str) -> str:
    values = {name: value for name, value in filters.items() if value not in ("", False, None)}
    values = {name: "true" if value is True else value for name, value in values.items()}
    return urlencode({**values, **extra})


def alert_row(alert: StoredAlert) -> dict[str, Any]:
    fields = alert.fields
    return {
        "id": alert.alert_id,
        "sort_key": position(alert),
        "received_at": iso(alert.received_at),
        "strategy": alert.strategy,
        "side": fields.side or "",
        "fill": fill_meaning(alert) or "",
        "ticker": fields.ticker or "",
        "price": "" if fields.price is None else str(fields.price),
        "quantity": "" if fields.quantity is None else str(fields.quantity),
        "text": alert.message or "",
        "issues": len(alert.parse_issues),
        "gap": alert.health is not None and alert.health.gap_before is not None,
        "late": alert.health is not None and alert.health.late,
        "test": alert.is_test,
    }


def last_alert(key: StrategyKey) -> str:
    """When the strategy's newest alert arrived ("" for none): one item read from its index."""
    latest, _ = alert_query.page(FilterRequest(key_id=key.id).resolve(utc_now()), 1)
    return iso(latest[0].received_at) if latest else ""


def strategy_rows() -> list[dict[str, Any]]:
    today = iso(utc_now().replace(hour=0, minute=0, second=0, microsecond=0))
    return [
        {
            "key": key,
            "last_alert": last_alert(key),
            "today": alert_query.count(FilterRequest(key_id=key.id, since=today).resolve(utc_now())),
        }
        for key in keys.all()
    ]


def webhook_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}/webhook"


def secret_context(request: Request, key: StrategyKey, secret: str, what: str) -> dict[str, Any]:
    """The shown-once page: the secret and the TradingView messages ready to paste."""
    return {
        "key": key,
        "secret": secret,
        "what": what,
        "webhook_url": webhook_url(request),
        "strategy_message": strategy_message(secret),
        "indicator_message": indicator_message(secret),
    }
