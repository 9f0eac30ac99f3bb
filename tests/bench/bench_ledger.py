"""The ledger's own work for a strategy with many fills: how long building the books takes for 2,000,
10,000 and 20,000 alerts (MAX_LEDGER_ALERTS, the most one request reads), in-process, median of five.
Target: the bound's ledger well inside the admin function's 30 s (and its Query pages: ~40 at 500 each).

Run: `python tests/bench/bench_ledger.py` (part of `make bench`).
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[2] / part) for part in ("tools", "layers/arrowhook", ".")]

from arrowhook.core.models import StoredAlert, new_id  # noqa: E402
from arrowhook.core.tradingview import AlertFields  # noqa: E402
from arrowhook.ledger.book import books  # noqa: E402
from arrowhook.ledger.service import MAX_LEDGER_ALERTS  # noqa: E402

START = datetime(2026, 11, 1, tzinfo=UTC)
TARGET_SECONDS = 5.0


def alerts(count: int) -> list[StoredAlert]:
    made = []
    for number in range(count):
        at = START + timedelta(minutes=number)
        position = "long" if number % 2 == 0 else "flat"
        fields = AlertFields(
            ticker="BTCUSDT", side="buy" if position == "long" else "sell", quantity=Decimal(1),
            price=Decimal(65_000 + number % 50), market_position=position,
            market_position_size=Decimal(1 if position == "long" else 0),
        )  # fmt: skip
        made.append(
            StoredAlert(
                alert_id=new_id(int(at.timestamp() * 1000)),
                key_id="k",
                strategy="s",
                received_at=at,
                body_format="json",
                payload="{}",
                fields=fields,
            )
        )
    return made


def main() -> None:
    print("Ledger: building a strategy's books from its alerts, in-process, median of 5")
    for count in (2_000, 10_000, MAX_LEDGER_ALERTS):
        made = alerts(count)
        times = []
        for _ in range(5):
            started = time.perf_counter()
            books(made)
            times.append(time.perf_counter() - started)
        median = statistics.median(times)
        verdict = "meets" if median <= TARGET_SECONDS else "MISSES"
        print(
            f"  {count:6} alerts: {median * 1000:7.1f} ms  ({median / count * 1e6:.1f} us each)  "
            f"{verdict} <= {TARGET_SECONDS:.0f} s"
        )


if __name__ == "__main__":
    main()
