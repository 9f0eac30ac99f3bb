"""The alerts pages: the filtered table (pages, "load more", the live rows), one alert, the overview."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from arrowhook.alerts.overview import overview
from arrowhook.core.errors import InvalidFilterError
from arrowhook.core.models import StoredAlert, iso, utc_now
from arrowhook.core.rejections import REASON_MEANINGS
from arrowhook.live.resume import position
from arrowhook.signals.checks import human
from console_pages.views import Filters, alert_row, last_alert, query_string, requested
from console_pages.wiring import (
    SignedIn,
    alert_query,
    alert_store,
    daily_counts,
    deliveries,
    keys,
    listing,
    page,
    rejection_counts,
    silences,
)

router = APIRouter()
PAGE_SIZE = 50
#: The live rows re-read this far back each fetch: a write that lands late (its received_at is taken
#: before DynamoDB confirms it, at most ~1.8 s later: dynamodb.worst_case_seconds) is still shown; the
#: page drops rows it already has, by id.
LIVE_OVERLAP = timedelta(seconds=5)
#: At most this many rows per fetch (a burst beyond it shows on the next fetches, oldest first).
LIVE_MAX_ROWS = 1000
Cursor = Annotated[str | None, Query(max_length=4096)]


@router.get("/console/alerts", response_class=HTMLResponse)
async def alerts_page(request: Request, _: SignedIn, filters: Filters, cursor: Cursor = None) -> HTMLResponse:
    found, next_cursor = listing.page(requested(filters), PAGE_SIZE, cursor)
    newest = iso(found[0].received_at) if found else iso(utc_now() - LIVE_OVERLAP)
    context = {
        "filters": filters,
        "rows": [alert_row(alert) for alert in found],
        "next_url": f"/console/alerts?{query_string(filters, cursor=next_cursor)}" if next_cursor else None,
        "more_url": f"/console/alerts/rows?{query_string(filters, cursor=next_cursor)}" if next_cursor else None,
        "live_url": None if cursor else f"/console/alerts/live?{query_string(filters)}",
        "newest": newest,
        "live_from": position(found[0]) if found else f"{newest}#",
        "strategies": sorted(key.name for key in keys.all()),
        "export_query": query_string(filters),
    }
    return page(request, "alerts.html", context)


@router.get("/console/alerts/rows", response_class=HTMLResponse)
async def more_rows(request: Request, _: SignedIn, filters: Filters, cursor: Cursor = None) -> HTMLResponse:
    """The next page's rows, for htmx's "load more" (the plain link loads the whole next page)."""
    found, next_cursor = listing.page(requested(filters), PAGE_SIZE, cursor)
    more_url = f"/console/alerts/rows?{query_string(filters, cursor=next_cursor)}" if next_cursor else None
    return page(request, "alert_rows.html", {"rows": [alert_row(alert) for alert in found], "more_url": more_url})


@router.get("/console/alerts/live", response_class=HTMLResponse)
async def live_rows(
    request: Request, _: SignedIn, filters: Filters, after: Annotated[str, Query(max_length=64)]
) -> HTMLResponse:
    """Alerts received since `after` (less a margin), oldest first: the page adds those it lacks. The page
    asks when the live socket tells it of an alert, after each reconnect, and every 30 s while the socket
    cannot connect (console.js)."""
    try:
        since = datetime.fromisoformat(after.replace("Z", "+00:00")).astimezone(UTC) - LIVE_OVERLAP
    except ValueError:
        raise InvalidFilterError("after: not an ISO 8601 time") from None
    live = requested(filters, since=iso(since), newest_first=False)
    found: list[StoredAlert] = []
    cursor: str | None = None
    while len(found) < LIVE_MAX_ROWS:  # every page of the margin: a burst must not hide the newest
        rows, cursor = listing.page(live, LIVE_MAX_ROWS - len(found), cursor)
        found.extend(rows)
        if cursor is None:
            break
    return page(request, "alert_rows.html", {"rows": [alert_row(alert) for alert in found], "more_url": None})


@router.get("/console/alerts/{alert_id}", response_class=HTMLResponse)
async def alert_page(request: Request, _: SignedIn, alert_id: str) -> HTMLResponse:
    alert = alert_store.get(alert_id)
    if alert is None:
        raise StarletteHTTPException(status_code=404, detail="No alert has this id (archived alerts are in S3).")
    fields = [(name, value) for name, value in alert.fields.model_dump().items() if value is not None]
    lag = alert.health.lag_ms if alert.health else None
    context = {
        "alert": alert,
        "fields": fields,
        "deliveries": deliveries.for_alert(alert_id),
        "row": alert_row(alert),
        "lag": f"{lag / 1000:.1f} s" if lag is not None and lag < 120_000 else human(timedelta(milliseconds=lag or 0)),
    }
    return page(request, "alert.html", context)


@router.get("/console/overview", response_class=HTMLResponse)
async def overview_page(request: Request, _: SignedIn) -> HTMLResponse:
    """Alerts per hour and per day by strategy (charts drawn by uPlot from a JSON block, no inline script)."""
    now = utc_now()
    summary = overview(alert_query, daily_counts, now, rejection_counts)
    strategies = keys.all()
    latest = {key.name: last_alert(key) for key in strategies}
    silent = {key.name: state.last_alert_at for key in strategies if (state := silences.get(key.id)) is not None}
    context = {
        "summary": summary,
        "chart_data": summary.chart_data(),
        "live_from": f"{iso(now)}#",  # the live counters resume from the moment counted (docs/live.md)
        "latest": latest,
        "silent": silent,
        "reason_meanings": REASON_MEANINGS,
    }
    return page(request, "overview.html", context)
