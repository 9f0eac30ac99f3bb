"""`arrowhook strategies ledger` and `arrowhook strategies reconcile` (docs/ledger.md): a strategy's
trades and profit from its alerts, and TradingView's List of trades export checked against them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from arrowhook_tools.cli.common import ApiUrl, AsJson, Since, Token, Until, api_client, call, console, out
from arrowhook_tools.cli.keys import keys_app
from arrowhook_tools.cli.render import shown

Strategy = Annotated[str, typer.Argument(help="Strategy name or key id.")]
Ticker = Annotated[str | None, typer.Option(help="One ticker; omitted: every ticker.")]


def _time(value: str | None) -> str:
    return value[:19].replace("T", " ") if value else "-"


@keys_app.command("ledger")
def strategies_ledger(
    strategy: Strategy,
    ticker: Ticker = None,
    since: Since = None,
    until: Until = None,
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """The strategy's closed trades (first in, first out), realized profit and open positions, from its
    order-fill alerts. Gross: commission is not in alerts."""
    from rich.table import Table

    params = {"ticker": ticker, "since": since, "until": until}
    found = call(api_client(api_url, token), "GET", f"/strategies/{quote(strategy, safe='')}/ledger", params=params)
    if as_json:
        print(json.dumps(found, indent=2))
        return
    trades = Table(title=f"{shown(found['strategy'])}: {len(found['trades'])} closed trade(s)")
    for column in ("ticker", "dir", "qty", "entry (UTC)", "entry", "exit (UTC)", "exit", "profit", "cumulative"):
        trades.add_column(
            column, justify="right" if column in {"qty", "entry", "exit", "profit", "cumulative"} else "left"
        )
    for trade in found["trades"]:
        trades.add_row(
            shown(trade["ticker"]), shown(trade["direction"]), shown(trade["quantity"]),
            _time(trade["entry_at"]), shown(trade["entry_price"] or "?"), _time(trade["exit_at"]),
            shown(trade["exit_price"] or "?"), shown(trade["profit"] or "?"), shown(trade["cumulative_profit"]),
        )  # fmt: skip
    out.print(trades)
    for held in found["positions"]:
        out.print(
            f"open: {shown(held['ticker'])} {shown(held['direction'])} {shown(held['quantity'])} at "
            f"{shown(held['average_price'] or '?')}, marked {shown(held['mark_price'] or '?')}: "
            f"unrealized {shown(held['unrealized_profit'] or '?')}"
        )
    out.print(f"realized: {shown(found['realized_pnl'])} ({shown(found['note'])})")
    for problem in found["problems"]:
        console.print(
            f"[yellow]problem[/] {_time(problem['at'])} {shown(problem['alert_id'])}: {shown(problem['message'])}"
        )
    if not found["complete"]:
        console.print(f"read the newest {found['alerts_read']} alerts only: the ledger starts there")


@keys_app.command("reconcile")
def strategies_reconcile(
    strategy: Strategy,
    trades: Annotated[
        Path, typer.Option("--trades", exists=True, dir_okay=False, help="TradingView's List of trades CSV.")
    ],
    timezone: Annotated[str, typer.Option(help="The export's time zone (IANA, e.g. America/New_York).")] = "UTC",
    ticker: Ticker = None,
    time_tolerance: Annotated[float, typer.Option(help="Seconds between an order and its alert.")] = 300,
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Check TradingView's Strategy Tester export against the strategy's alerts: orders whose alert never
    arrived, alerts with no order, prices or quantities that differ. Exit status 1 when anything does."""
    params: dict[str, Any] = {"timezone": timezone, "ticker": ticker, "time_tolerance": time_tolerance}
    found = call(
        api_client(api_url, token), "POST", f"/strategies/{quote(strategy, safe='')}/reconcile",
        params=params, content=trades.read_bytes(), content_type="text/csv",
    )  # fmt: skip
    if as_json:
        print(json.dumps(found, indent=2))
    else:
        out.print(
            f"{shown(found['strategy'])}: {found['orders_in_export']} order(s) in the export "
            f"({_time(found['start'])} to {_time(found['end'])} UTC), {found['matched']} with their alert"
        )
        for fill in found["missing"]:
            out.print(
                f"  missing: trade {'+'.join(str(n) for n in fill['trades'])} {shown(fill['kind'])} "
                f"{_time(fill['at'])} {shown(fill['side'])} {shown(fill['quantity'])} @ {shown(fill['price'])}: "
                "its alert never arrived"
            )
        for fill in found["unmatched"]:
            out.print(
                f"  unmatched alert {shown(fill['alert_id'])} {_time(fill['at'])} {shown(fill['side'])} "
                f"{shown(fill['quantity'])} @ {shown(fill['price'] or '?')}: no such order in the export"
            )
        for item in found["mismatched"]:
            out.print(f"  differs: alert {shown(item['alert']['alert_id'])}: {shown('; '.join(item['problems']))}")
    if found["missing"] or found["unmatched"] or found["mismatched"]:
        raise typer.Exit(1)
