"""Alert query benchmark against the embedded store: page latency, full export, read units per 1,000.

Prints figures measured in one run (compare ratios, not milliseconds across runs). `make bench`.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ALERTS = int(os.environ.get("BENCH_ALERTS", "3000"))
PAGE_QUERIES = int(os.environ.get("BENCH_PAGE_QUERIES", "100"))


def main() -> None:
    import httpx

    from arrowhook.alerts.query import AlertFilter, AlertQuery
    from arrowhook.alerts.store import AlertStore
    from arrowhook.core.models import StoredAlert, new_id
    from arrowhook.core.tradingview import AlertFields, Side
    from arrowhook_tools.local.stack import local_stack
    from arrowhook_tools.standins.embedded_aws import dynamodb

    sys.stdout.flush()
    real_stdout, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115 - handler logs would swamp the table
    try:
        with local_stack(api_port=0, aws_port=0) as stack:
            assert stack.api is not None
            client = dynamodb(stack.aws.endpoint)
            table = stack.template.physical_name("AlertsTable")
            store = AlertStore(table, client=client)
            start = datetime.now(UTC) - timedelta(hours=ALERTS / 100)
            strategies = ("alpha", "beta", "gamma")
            for number in range(ALERTS):
                received = start + timedelta(seconds=36 * number)
                store.put(
                    StoredAlert(
                        alert_id=new_id(int(received.timestamp() * 1000)),
                        key_id=f"K{number % 3}",
                        strategy=strategies[number % 3],
                        received_at=received,
                        body_format="json",
                        payload='{"key": "***", "ticker": "BTCUSDT", "action": "buy", "price": "65000.50"}',
                        fields=AlertFields(
                            ticker=("BTCUSDT", "ETHUSD", "AAPL", "ES1!", "EURUSD")[number % 5],
                            side=list(Side)[number % 3],
                            price=Decimal("65000.50"),
                            quantity=Decimal("0.015"),
                        ),
                    ),
                    f"bench-{number}",
                    0,
                )
            headers = {"Authorization": f"Bearer {stack.admin_token}"}
            with httpx.Client(base_url=stack.api.url, headers=headers, timeout=60) as http:
                http.get("/alerts", params={"limit": 1})  # cold start the function and the authorizer
                latencies = []
                for _ in range(PAGE_QUERIES):
                    began = time.perf_counter()
                    response = http.get("/alerts", params={"key_id": "K1", "side": "sell", "limit": 50})
                    latencies.append((time.perf_counter() - began) * 1000)
                    assert response.status_code == 200 and response.json()["items"]
                began = time.perf_counter()
                exported, cursor, pages = 0, None, 0
                while True:
                    params: dict[str, Any] = {
                        "limit": 500,
                        "order": "oldest",
                        "since": start.isoformat(),
                        **({"cursor": cursor} if cursor else {}),
                    }
                    body = http.get("/alerts", params=params).json()
                    exported += len(body["items"])
                    pages += 1
                    cursor = body["next_cursor"]
                    if not cursor:
                        break
                export_seconds = time.perf_counter() - began
            query = AlertQuery(table, client=client, measure_capacity=True)
            state = None
            counted = 0
            while True:
                found, state = query.page(AlertFilter(since=start), 500, state)
                counted += len(found)
                if state is None:
                    break
    finally:
        sys.stdout.close()
        sys.stdout = real_stdout
    latencies.sort()
    print(f"Alert queries against the embedded store ({ALERTS} alerts, local HTTP API, authorizer cached)")
    print(
        f"  filtered page (strategy + side, 50): p50 {statistics.median(latencies):7.1f} ms   "
        f"p99 {latencies[int(len(latencies) * 0.99) - 1]:7.1f} ms   ({PAGE_QUERIES} requests)"
    )
    print(
        f"  full export: {exported} alerts in {pages} pages, {export_seconds:6.2f} s "
        f"({exported / export_seconds:8.0f} alerts/s)"
    )
    per_thousand = query.consumed_read_units / counted * 1000 if counted else 0.0
    print(
        f"  read units per 1,000 alerts exported: {per_thousand:.1f} (ConsumedCapacity as the embedded store "
        "reports it; DynamoDB bills eventually consistent GSI reads at 0.5 unit per 4 KB)"
    )


if __name__ == "__main__":
    main()
