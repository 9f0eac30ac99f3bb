"""The ledger and the reconciliation over real HTTP on the local stack: fills posted to the webhook,
`GET /strategies/{strategy}/ledger`, `POST /strategies/{strategy}/reconcile` with a TradingView export,
a file that is not one refused with the JSON error envelope, and `arrowhook strategies reconcile`
exiting 1 when an alert is missing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from arrowhook_tools.cli import app
from arrowhook_tools.local.stack import LocalStack
from arrowhook_tools.standins.receivers import Receivers
from tests.integration.conftest import Strategy, in_process_stack


@pytest.fixture(scope="module")
def running() -> Iterator[LocalStack]:
    with in_process_stack() as stack:
        yield stack


def _fill(strategy: Strategy, stack: LocalStack, at: str, action: str, price: str, before: str, after: str) -> str:
    """A strategy order alert: one contract, TradingView's fill time as `timenow`."""

    def size(position: str) -> str:
        return "0" if position == "flat" else "1"

    return strategy.send(
        stack, action=action, contracts="1", price=price, time=at, timenow=at, ticker="ETHUSDT",
        prev_market_position=before, prev_market_position_size=size(before),
        market_position=after, market_position_size=size(after),
    )  # fmt: skip


EXPORT = """Trade #,Type,Signal,Date/Time,Price USD,Contracts,Profit USD,Profit %,Cumulative profit USD
1,Entry long,Long,2026-11-20 09:00,3000,1,,,
1,Exit long,Close,2026-11-20 10:00,3100,1,100,3.33,100
2,Entry short,Short,2026-11-20 11:00,3050,1,,,
2,Exit short,Close,2026-11-20 12:00,2950,1,100,3.28,200
"""


def test_the_ledger_and_a_reconciliation_over_http_and_the_cli(
    stack: LocalStack, admin: httpx.Client, receivers: Receivers, tmp_path: Path
) -> None:
    strategy = Strategy(admin, receivers)
    entry = _fill(strategy, stack, "2026-11-20T09:00:00Z", "buy", "3000", "flat", "long")
    _fill(strategy, stack, "2026-11-20T10:00:00Z", "sell", "3100", "long", "flat")
    _fill(strategy, stack, "2026-11-20T11:00:00Z", "sell", "3050", "flat", "short")  # its exit never sent
    ledger = admin.get(f"/strategies/{strategy.name}/ledger", params={"ticker": "ethusdt"})
    assert ledger.status_code == 200, ledger.text
    body = ledger.json()
    assert (body["realized_pnl"], len(body["trades"]), body["problems"]) == ("100", 1, [])
    assert body["trades"][0]["entry_alert_id"] == entry
    assert (body["position"]["direction"], body["position"]["average_price"]) == ("short", "3050")

    answer = admin.post(f"/strategies/{strategy.name}/reconcile", content=EXPORT, headers={"Content-Type": "text/csv"})
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert (found["orders_in_export"], found["matched"], found["unmatched"]) == (4, 3, [])
    assert [(fill["trades"], fill["kind"], fill["side"]) for fill in found["missing"]] == [([2], "exit", "buy")]

    refused = admin.post(
        f"/strategies/{strategy.name}/reconcile", content=b"name,email\n", headers={"Content-Type": "text/csv"}
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "not_an_export" and "Trade #" in refused.json()["message"]

    assert stack.api is not None
    export = tmp_path / "trades.csv"
    export.write_text(EXPORT)
    reconciled = CliRunner().invoke(
        app, ["strategies", "reconcile", strategy.name, "--trades", str(export), "--api-url", stack.api.url,
              "--token", stack.admin_token],
    )  # fmt: skip
    assert reconciled.exit_code == 1, reconciled.output
    assert "missing: trade 2 exit" in reconciled.stdout
    ledger_cli = CliRunner().invoke(
        app, ["strategies", "ledger", strategy.name, "--api-url", stack.api.url, "--token", stack.admin_token]
    )
    assert ledger_cli.exit_code == 0, ledger_cli.output
    assert "realized: 100" in ledger_cli.stdout and "open: ETHUSDT short 1 at 3050" in ledger_cli.stdout
