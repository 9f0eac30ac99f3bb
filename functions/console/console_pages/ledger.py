"""A strategy's ledger page (trades, realized profit, open positions, an equity curve, problems) and
its reconciliation with TradingView's List of trades export, uploaded and read for the answer only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse

from arrowhook.admin.ledger_schemas import LedgerOut, ReconciliationOut
from arrowhook.alerts.listing import moment
from arrowhook.core.models import utc_now
from arrowhook.keys import service as key_cases
from arrowhook.ledger.reconcile import DEFAULT_PRICE_TOLERANCE, DEFAULT_TIME_TOLERANCE, MAX_EXPORT_BYTES
from arrowhook.ledger.service import reconcile_export, strategy_ledger
from console_pages.wiring import Checked, SignedIn, alert_query, keys, page

router = APIRouter()
Ticker = Annotated[str | None, Query(max_length=64)]
Since = Annotated[str | None, Query(max_length=64)]


def _chart(ledger: LedgerOut) -> dict[str, Any]:
    """The equity curve as uPlot draws it: exit times (epoch seconds) and the cumulative realized profit
    (floats for the drawing only; the table shows the exact decimals), from 0 at the first entry."""
    if not ledger.trades:
        return {"times": [], "equity": []}
    start = min(trade.entry_at for trade in ledger.trades).timestamp()  # the curve starts at 0
    return {
        "times": [start, *(trade.exit_at.timestamp() for trade in ledger.trades)],
        "equity": [0.0, *(float(trade.cumulative_profit) for trade in ledger.trades)],
    }


@router.get("/console/strategies/{key_id}/ledger", response_class=HTMLResponse)
async def ledger_page(
    request: Request, _: SignedIn, key_id: str, ticker: Ticker = None, since: Since = None
) -> HTMLResponse:
    key = key_cases.get_key(keys, key_id)
    found = strategy_ledger(alert_query, key.id)
    chosen = ticker or None
    ledger = LedgerOut.of(key.id, key.name, found, chosen, moment(since, "since", utc_now()))
    context = {
        "key": key,
        "ledger": ledger,
        "tickers": sorted(found.books),
        "ticker": chosen or "",
        "since": since or "",
        "chart_data": _chart(ledger),
        "max_mb": MAX_EXPORT_BYTES // 1024 // 1024,
    }
    return page(request, "ledger.html", context)


@router.post("/console/strategies/{key_id}/reconcile", response_class=HTMLResponse)
async def reconcile_page(
    request: Request,
    _: Checked,
    key_id: str,
    export: Annotated[UploadFile, File()],
    timezone: Annotated[str, Form(max_length=64)] = "UTC",
) -> HTMLResponse:
    key = key_cases.get_key(keys, key_id)
    body = await export.read(MAX_EXPORT_BYTES + 1)
    tolerance = DEFAULT_TIME_TOLERANCE
    found, ledger = reconcile_export(alert_query, key.id, body, timezone=timezone, time_tolerance=tolerance)
    answer = ReconciliationOut.of(
        key.id, key.name, None, found, ledger, time_tolerance=tolerance, price_tolerance=DEFAULT_PRICE_TOLERANCE
    )
    return page(request, "reconcile.html", {"key": key, "answer": answer, "timezone": timezone})
