"""Reconciliation with TradingView: the Strategy Tester's "List of trades" export against the fills the
strategy's alerts made (docs/ledger.md).

The export has two rows per trade, entry and exit, in any order; its headers vary with TradingView's
version and the quote currency. Accepted (case-insensitive; `<CUR>` any currency code or symbol):
`Trade #`; `Type` (`Entry long`, `Exit short`; the older `Long`, `Close entry(s) order Long`);
`Signal` (optional); `Date/Time` (or `Date and time`); `Price` or `Price <CUR>`; and the quantity as
`Contracts`, `Quantity`, `Qty`, `Position size (qty)` or `Size (qty)`. Times carry no zone: the
export's is asked for (`timezone`, default UTC) unless a time states its own offset. An open trade's
exit row (`Signal` "Open") is not a fill. Rows of one order at one time (a reversal's exit and entry, an
exit that closes several entries) are one fill, as the alert was one order.

A row matches the unmatched alert fill of the same direction nearest in time within `time_tolerance`
(a bar, at most: the trade list times the bar, the alert the moment it fired); a matched pair whose
price differs by more than `price_tolerance` (relative) or whose quantity differs at all is a mismatch.
Alert fills inside the export's time range that no row claimed are listed as unmatched.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from arrowhook.core.errors import InvalidFilterError, NotAnExportError
from arrowhook.core.fills import ZERO
from arrowhook.ledger.book import Book, Fill

DEFAULT_TIME_TOLERANCE = timedelta(minutes=5)
DEFAULT_PRICE_TOLERANCE = Decimal("0.001")
#: The largest export accepted (a few hundred thousand rows); API Gateway's payload limit is 10 MB.
MAX_EXPORT_BYTES = 5 * 1024 * 1024
_QUANTITY_HEADERS = ("contracts", "quantity", "qty", "position size (qty)", "size (qty)")
_EXPECTED = "Trade #, Type, Date/Time, Price (or Price <currency>), Contracts (or Position size (qty))"


@dataclass(frozen=True)
class ExportedFill:
    """One order of the export: its trade numbers, time, signed change (+ buy, - sell), price."""

    trades: tuple[int, ...]
    at: datetime
    change: Decimal
    price: Decimal
    kind: str  # "entry" or "exit"


@dataclass(frozen=True)
class Mismatch:
    exported: ExportedFill
    alert: Fill
    problems: tuple[str, ...]


@dataclass(frozen=True)
class Reconciliation:
    start: datetime | None
    end: datetime | None
    exported: int
    missing: list[ExportedFill]
    unmatched: list[Fill]
    mismatched: list[Mismatch]
    matched: int

    @property
    def clean(self) -> bool:
        return not (self.missing or self.unmatched or self.mismatched)


def _column(header: list[str], *names: str, prefix: str | None = None) -> int | None:
    for index, name in enumerate(header):
        if name in names or (prefix is not None and name.startswith(prefix)):
            return index
    return None


def _number(text: str) -> Decimal | None:
    """A cell as TradingView writes it: `1,234.5`, `(124.75)` for a negative, `—` or blank for none."""
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace(",", "")
    if cleaned in ("", "—", "-", "–"):
        return None
    negative = cleaned.startswith("(") and cleaned.endswith(")")
    try:
        value = Decimal(cleaned.strip("()").replace("\u2212", "-"))
    except InvalidOperation:
        return None
    return -value if negative else value


def _moment(text: str, zone: ZoneInfo) -> datetime | None:
    cleaned = text.strip().replace("T", " ").replace("Z", "+00:00")
    for form in ("%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M%z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(cleaned, form)
        except ValueError:
            continue
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)
    return None


def _kind(row_type: str) -> tuple[str, int] | None:
    """("entry" or "exit", +1 long or -1 short) of a Type cell, or None."""
    lowered = row_type.strip().lower()
    direction = 1 if "long" in lowered else -1 if "short" in lowered else 0
    if not direction:
        return None
    if lowered.startswith(("exit", "close")):
        return "exit", direction
    if lowered.startswith("entry") or lowered in ("long", "short"):
        return "entry", direction
    return None


def parse_export(text: str, timezone: str = "UTC") -> list[ExportedFill]:
    """The export's fills, oldest first. NotAnExportError names what is wrong with a file that is not one."""
    try:
        zone = ZoneInfo(timezone)
    except (ValueError, KeyError) as error:
        raise InvalidFilterError(f"timezone: {timezone!r} is not an IANA time zone ({error})") from None
    try:
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    except csv.Error as error:  # a field over csv's limit, say: not an export either
        raise NotAnExportError(f"not a CSV file ({error}): expected TradingView's List of trades export") from None
    if not rows:
        raise NotAnExportError(f"an empty file: expected TradingView's List of trades export ({_EXPECTED})")
    header = [cell.strip().lower() for cell in rows[0]]
    columns = {
        "trade": _column(header, "trade #", "trade"),
        "type": _column(header, "type"),
        "time": _column(header, "date/time", "date and time", "date"),
        "price": _column(header, "price", prefix="price "),
        "quantity": _column(header, *_QUANTITY_HEADERS),
    }
    absent = [name for name, index in columns.items() if index is None]
    if absent:
        raise NotAnExportError(
            f"not a TradingView List of trades export: expected the columns {_EXPECTED}; "
            f"found {', '.join(repr(cell) for cell in rows[0][:12]) or 'none'}"
        )
    signal = _column(header, "signal")
    orders: dict[tuple[datetime, int, Decimal], tuple[set[int], Decimal, str]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {name: row[index] if index is not None and index < len(row) else "" for name, index in columns.items()}
        kind = _kind(cells["type"])
        if kind is None:
            raise NotAnExportError(f"row {number}: Type {cells['type']!r} is not an entry or exit, long or short")
        if kind[0] == "exit" and signal is not None and signal < len(row) and row[signal].strip().lower() == "open":
            continue  # a trade still open: no exit yet
        at, price, quantity = _moment(cells["time"], zone), _number(cells["price"]), _number(cells["quantity"])
        trade = _number(cells["trade"])
        if at is None or price is None or quantity is None or trade is None:
            raise NotAnExportError(f"row {number}: expected a trade number, a time, a price and a quantity")
        change = quantity.copy_abs() * kind[1] * (1 if kind[0] == "entry" else -1)
        direction = 1 if change > 0 else -1
        trades, total, first_kind = orders.get((at, direction, price), (set(), ZERO, kind[0]))
        orders[(at, direction, price)] = (trades | {int(trade)}, total + change, first_kind)
    return sorted(
        (
            ExportedFill(tuple(sorted(trades)), at, change, price, kind)
            for (at, _, price), (trades, change, kind) in orders.items()
        ),
        key=lambda fill: (fill.at, fill.trades),
    )


def reconcile(
    exported: list[ExportedFill],
    books: list[Book],
    time_tolerance: timedelta = DEFAULT_TIME_TOLERANCE,
    price_tolerance: Decimal = DEFAULT_PRICE_TOLERANCE,
) -> Reconciliation:
    """Match the export's fills to the alerts' (every ticker's book of the strategy, or the one asked)."""
    fills = [fill for book in books for fill in book.fills if fill.alert_id is not None]
    if not exported:
        return Reconciliation(None, None, 0, [], [], [], 0)
    start, end = exported[0].at - time_tolerance, exported[-1].at + time_tolerance
    candidates = [fill for fill in fills if start <= fill.at <= end]
    claimed: set[int] = set()
    missing: list[ExportedFill] = []
    mismatched: list[Mismatch] = []
    for row in exported:
        nearest = min(
            (
                (abs(fill.at - row.at), index)
                for index, fill in enumerate(candidates)
                if index not in claimed
                and (fill.change > 0) == (row.change > 0)
                and abs(fill.at - row.at) <= time_tolerance
            ),
            default=None,
        )
        if nearest is None:
            missing.append(row)
            continue
        claimed.add(nearest[1])
        found = candidates[nearest[1]]
        problems = []
        if found.price is None or abs(found.price - row.price) > abs(row.price) * price_tolerance:
            problems.append(f"price {found.price} in the alert, {row.price} in TradingView's list")
        if abs(found.change) != abs(row.change):
            alerted, listed = abs(found.change).normalize(), abs(row.change).normalize()
            problems.append(f"quantity {alerted:f} in the alert, {listed:f} in TradingView's list")
        if problems:
            mismatched.append(Mismatch(row, found, tuple(problems)))
    unmatched = [fill for index, fill in enumerate(candidates) if index not in claimed]
    matched = len(exported) - len(missing)
    return Reconciliation(exported[0].at, exported[-1].at, len(exported), missing, unmatched, mismatched, matched)
