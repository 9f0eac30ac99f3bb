"""Reconciliation on TradingView exports in each header variant found in real exports (the quote
currency in the price header or not, `Contracts` or `Position size (qty)`, `Signal` before or after the
time, the rows newest first, the old `Long` / `Close entry(s) order Long` types), with a missing entry,
a missing exit, an unmatched alert and a price beyond the tolerance; and files that are not exports."""

from __future__ import annotations

from decimal import Decimal

import pytest

from arrowhook.core.errors import InvalidFilterError, NotAnExportError
from arrowhook.ledger.book import books
from arrowhook.ledger.reconcile import parse_export, reconcile
from tests.unit.ledger.test_book import order

# The alerts (UTC; START is 12:00): trade 1 both ways; trade 2's entry only (its exit alert never came);
# trade 3's exit only (its entry never came), at 104.5 where TradingView filled 104; and a stray buy.
ALERTS = [
    order(150, "buy", "1", "100", ("flat", "0"), ("long", "1")),  # 14:30
    order(210, "sell", "1", "105", ("long", "1"), ("flat", "0")),  # 15:30
    order(240, "sell", "2", "106", ("flat", "0"), ("short", "2")),  # 16:00
    order(330, "buy", "3", "100", ("flat", "0"), ("long", "3")),  # 17:30: TradingView has no such order
    order(420, "sell", "1", "104.5", ("long", "1"), ("flat", "0")),  # 19:00
]
#: The same trades as TradingView lists them, in New York time (UTC-5 in November).
ROWS = [
    (1, "entry", "long", "2026-11-20 09:30", "100", "1"),
    (1, "exit", "long", "2026-11-20 10:31", "105", "1"),  # a minute after the alert: inside the tolerance
    (2, "entry", "short", "2026-11-20 11:00", "106", "2"),
    (2, "exit", "short", "2026-11-20 12:00", "101", "2"),
    (3, "entry", "long", "2026-11-20 13:00", "99", "1"),
    (3, "exit", "long", "2026-11-20 14:00", "104", "1"),
]


def modern(row: tuple[int, str, str, str, str, str]) -> str:
    number, kind, direction, at, price, quantity = row
    return f"{number},{kind.title()} {direction},{'Long' if kind == 'entry' else 'Close'},{at},{price},{quantity}"


VARIANTS = {
    "2021 (Profit $)": "Trade #,Type,Signal,Date/Time,Price,Contracts,Profit $,Profit %,Cum. Profit $\n"
    + "\n".join(
        modern(row).replace("Entry long", "Entry Long").replace("Exit long", "Exit Long") + ",,," for row in ROWS
    ),
    "2023 (Price USD)": "Trade #,Type,Signal,Date/Time,Price USD,Contracts,Profit USD,Profit %,Cumulative profit USD\n"
    + "\n".join(modern(row) + ",,," for row in ROWS),
    "2024 (Position size, newest first)": (
        "Trade #,Type,Date/Time,Signal,Price USDT,Position size (qty),Position size (value),Net P&L USDT\n"
        + "4,Exit long,2026-11-20 15:00,Open,110,1,110,\n"
        + "4,Entry long,2026-11-20 14:30,Long,103,1,103,\n"
        + "\n".join(
            f"{n},{k.title()} {d},{at},{'Long' if k == 'entry' else 'Close'},{p},{q},{p},"
            for n, k, d, at, p, q in reversed(ROWS)
        )
    ),
    "older (Long, Close entry(s) order)": "Trade #,Type,Date/Time,Signal,Price,Contracts,Profit,Cumulative Profit\n"
    + "\n".join(
        f"{n},{d.title() if k == 'entry' else 'Close entry(s) order ' + d.title()},{at},x,{p},{q},0,0"
        for n, k, d, at, p, q in ROWS
    ),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_export_variant_finds_the_missing_entry_and_exit_the_stray_alert_and_the_price(variant: str) -> None:
    exported = parse_export(VARIANTS[variant], "America/New_York")
    if variant.startswith("2024"):
        assert len(exported) == 7, "the open trade's exit row is not an order"
        exported = [fill for fill in exported if fill.trades != (4,)]
    found = reconcile(exported, list(books(ALERTS).values()))
    assert [(fill.trades, fill.kind) for fill in found.missing] == [((2,), "exit"), ((3,), "entry")]
    assert [fill.alert_id for fill in found.unmatched] == [ALERTS[3].alert_id]
    (mismatch,) = found.mismatched
    assert mismatch.exported.trades == (3,) and mismatch.alert.alert_id == ALERTS[4].alert_id
    assert mismatch.problems == ("price 104.5 in the alert, 104 in TradingView's list",)
    assert (found.matched, found.exported, found.clean) == (4, 6, False)


def test_a_reversal_listed_as_an_exit_and_an_entry_is_one_order() -> None:
    alerts = [
        order(0, "buy", "1", "100", ("flat", "0"), ("long", "1")),
        order(10, "sell", "2", "105", ("long", "1"), ("short", "1")),
    ]
    export = (
        "Trade #,Type,Signal,Date/Time,Price USD,Contracts\n"
        "1,Entry long,Long,2026-11-20 12:00,100,1\n1,Exit long,Short,2026-11-20 12:10,105,1\n"
        "2,Entry short,Short,2026-11-20 12:10,105,1\n2,Exit short,Open,2026-11-20 12:30,101,1\n"
    )
    exported = parse_export(export)
    assert [(fill.trades, fill.change) for fill in exported] == [((1,), Decimal(1)), ((1, 2), Decimal(-2))]
    assert reconcile(exported, list(books(alerts).values())).clean


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("", "an empty file"),
        ("name,email\nann,a@example.com\n", "expected the columns Trade #, Type, Date/Time"),
        ("Trade #,Type,Date/Time,Price,Contracts\n1,Deposit,2026-11-20 12:00,1,1\n", "row 2: Type 'Deposit'"),
        ("Trade #,Type,Date/Time,Price,Contracts\n1,Entry long,yesterday,1,1\n", "row 2: expected a trade number"),
        ("\x00\x01PK\x03\x04", "expected the columns"),
        ('"' + "x" * 200_000 + '"', "not a CSV file"),
    ],
)
def test_a_file_that_is_not_an_export_is_refused_naming_what_was_expected(text: str, named: str) -> None:
    with pytest.raises(NotAnExportError, match=named.replace("#", "#").replace("(", r"\(").replace(")", r"\)")):
        parse_export(text)


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(InvalidFilterError, match="not an IANA time zone"):
        parse_export("Trade #,Type,Date/Time,Price,Contracts\n", "Mars/Olympus")
