"""Archive benchmark against the embedded store: alerts archived per second and AWS calls per 1,000.

Target (issue 5): DynamoDB calls within 10 % of the batching limit, i.e. 40 delete batches of 25 per
1,000 alerts. Prints figures from one run; the write rate of the same store is the yardstick
(archived/s divided by stored/s), since absolute speed depends on this shared machine. `make bench`.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ALERTS = int(os.environ.get("BENCH_ARCHIVE_ALERTS", "5000"))
PER_OBJECT = 1_000
TARGET_DELETE_CALLS_PER_1000 = 1000 / 25


def main() -> None:
    import boto3

    from arrowhook.alerts.store import AlertStore
    from arrowhook.archive.protocol import Archiver
    from arrowhook.core.models import StoredAlert, new_id
    from arrowhook.core.tradingview import AlertFields, Side
    from arrowhook_tools.local.stack import local_stack
    from arrowhook_tools.standins.embedded_aws import dynamodb

    with local_stack(api_port=None, aws_port=0) as stack:
        table = stack.template.physical_name("AlertsTable")
        bucket = stack.template.physical_name("ArchiveBucket")
        client = dynamodb(stack.aws.endpoint)
        store = AlertStore(table, client=client)
        start = datetime.now(UTC) - timedelta(days=120)
        began = time.perf_counter()
        for number in range(ALERTS):
            received = start + timedelta(minutes=3 * number)  # about 480 a day
            store.put(
                StoredAlert(
                    alert_id=new_id(int(received.timestamp() * 1000)),
                    key_id=f"K{number % 3}",
                    strategy=("alpha", "beta", "gamma")[number % 3],
                    received_at=received,
                    body_format="json",
                    payload=(
                        '{"key": "***", "ticker": "BTCUSDT", "exchange": "BINANCE", "action": "buy", '
                        f'"price": "65000.50", "contracts": "0.015", "time": "{received.isoformat()}", "n": {number}}}'
                    ),
                    fields=AlertFields(ticker="BTCUSDT", side=list(Side)[number % 3], price=Decimal("65000.50")),
                    source_ip="52.89.214.238",
                ),
                f"bench-{number}",
                0,
            )
        stored_seconds = time.perf_counter() - began

        calls: Counter[str] = Counter()
        archive_dynamodb = boto3.client("dynamodb", endpoint_url=stack.aws.endpoint)
        archive_s3 = boto3.client("s3", endpoint_url=stack.aws.endpoint)
        for service_client in (archive_dynamodb, archive_s3):
            service_client.meta.events.register(
                "before-call.*.*", lambda model, **_: calls.update([f"{model.service_model.service_name}:{model.name}"])
            )
        archiver = Archiver(table, bucket, alerts_per_object=PER_OBJECT, dynamodb=archive_dynamodb, s3=archive_s3)
        began = time.perf_counter()
        report = archiver.run(datetime.now(UTC) - timedelta(days=1))
        archived_seconds = time.perf_counter() - began

    assert report.status == "complete" and report.archived == ALERTS, report
    per_thousand = {name: count * 1000 / ALERTS for name, count in sorted(calls.items())}
    dynamodb_calls = sum(value for name, value in per_thousand.items() if name.startswith("dynamodb:"))
    delete_calls = per_thousand.get("dynamodb:BatchWriteItem", 0.0)
    archive_rate = ALERTS / archived_seconds
    store_rate = ALERTS / stored_seconds
    rows: list[tuple[str, Any]] = [
        ("alerts archived", ALERTS),
        ("objects written", len(report.objects)),
        ("compressed bytes per alert", f"{report.bytes_written / ALERTS:.0f}"),
        ("archived per second", f"{archive_rate:.0f}"),
        ("stored per second (same store, yardstick)", f"{store_rate:.0f}"),
        ("ratio archive rate / store rate", f"{archive_rate / store_rate:.2f}"),
        *((f"calls per 1,000: {name}", f"{value:.1f}") for name, value in per_thousand.items()),
        ("DynamoDB calls per 1,000 (all)", f"{dynamodb_calls:.1f}"),
        ("ratio delete batches / limit (40)", f"{delete_calls / TARGET_DELETE_CALLS_PER_1000:.2f}"),
        (
            "delete batches within 10 % of the limit",
            "yes" if delete_calls <= 1.1 * TARGET_DELETE_CALLS_PER_1000 else "NO",
        ),
        ("ratio all DynamoDB calls / limit (40)", f"{dynamodb_calls / TARGET_DELETE_CALLS_PER_1000:.2f}"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"\narchive benchmark (embedded store, {ALERTS} alerts, {PER_OBJECT} per object)")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


if __name__ == "__main__":
    main()
