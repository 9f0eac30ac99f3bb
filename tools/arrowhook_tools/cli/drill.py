"""`arrowhook restore drill` (`make restore-drill`): both restores, end to end, on a local stack of its own.

Alerts arrive over HTTP; the older part is archived; then a mistake empties the alerts table. The table
comes back to the moment before the mistake (point-in-time restore, copied back), and the archived day
comes back from S3; every alert is counted at each step and the time each restore took is printed.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from arrowhook_tools.cli.restore import TableRestore
from arrowhook_tools.cli.samples import strategy_alert
from arrowhook_tools.local.stack import DEMO_SECRET, LocalStack, local_stack, seed_demo_key
from arrowhook_tools.standins.embedded_aws import dynamodb

#: The local stack's throttles and key cache out of the way (the drill sends a burst).
_DRILL_PARAMETERS = {"KeyCacheTtlSeconds": "0", "WebhookRateLimit": "100000", "WebhookBurstLimit": "100000"}


@dataclass(frozen=True)
class DrillReport:
    sent: int
    archived: int
    in_table_before: int
    in_table_after_mistake: int
    table_restored: int
    table_restore_seconds: float
    archive_restored: int
    archive_restore_seconds: float
    in_table_at_end: int

    @property
    def passed(self) -> bool:
        return self.in_table_after_mistake == 0 and self.in_table_at_end == self.sent


def _alert_ids(stack: LocalStack) -> set[str]:
    client = dynamodb(stack.aws.endpoint)
    pages = client.get_paginator("scan").paginate(TableName=stack.template.physical_name("AlertsTable"))
    return {item["pk"]["S"] for page in pages for item in page["Items"] if item["pk"]["S"].startswith("ALERT#")}


def _send(stack: LocalStack, count: int) -> None:
    assert stack.api is not None  # noqa: S101 - the drill starts its stack with an API  # nosec B101
    with httpx.Client(base_url=stack.api.url, timeout=30) as webhook:
        for _ in range(count):
            body = strategy_alert(DEMO_SECRET, nonce=uuid.uuid4().hex).encode()
            answer = webhook.post("/webhook", content=body, headers={"Content-Type": "application/json"})
            answer.raise_for_status()


def run_drill(archived_alerts: int = 100, recent_alerts: int = 100) -> DrillReport:
    with local_stack(api_port=0, aws_port=0, parameter_overrides=_DRILL_PARAMETERS, pool_size=2,
                     stack_name=f"arrowhook-drill-{uuid.uuid4().hex[:6]}") as stack:  # fmt: skip
        seed_demo_key(stack.template, dynamodb(stack.aws.endpoint))
        _send(stack, archived_alerts)
        time.sleep(1.1)
        archive: dict[str, Any] = stack.functions.invoke(
            "ArchiveFunction", {"trigger": "drill", "older_than_seconds": 1}
        )
        _send(stack, recent_alerts)
        in_table_before = len(_alert_ids(stack))
        time.sleep(0.05)
        before_the_mistake = datetime.now(UTC)
        time.sleep(0.05)

        client = dynamodb(stack.aws.endpoint)
        table = stack.template.physical_name("AlertsTable")
        for pk in _alert_ids(stack):  # the mistake: every alert deleted
            client.delete_item(TableName=table, Key={"pk": {"S": pk}})
        after_mistake = len(_alert_ids(stack))

        started = time.monotonic()
        restored = TableRestore(client, poll_seconds=0.1).run("alerts", table, before_the_mistake)
        table_seconds = time.monotonic() - started
        started = time.monotonic()
        day = datetime.now(UTC).date().isoformat()
        from_archive: dict[str, Any] = stack.functions.invoke(
            "ArchiveFunction", {"trigger": "drill", "restore_day": day}
        )
        archive_seconds = time.monotonic() - started
        return DrillReport(
            sent=archived_alerts + recent_alerts,
            archived=int(archive["archived"]),
            in_table_before=in_table_before,
            in_table_after_mistake=after_mistake,
            table_restored=restored.copied,
            table_restore_seconds=round(table_seconds, 2),
            archive_restored=int(from_archive["restored"]),
            archive_restore_seconds=round(archive_seconds, 2),
            in_table_at_end=len(_alert_ids(stack)),
        )
