"""Reads back the webhook's refusals by reason (the WebhookRejections metric) for the console's overview.

Rejections are never written to DynamoDB: a flood of forged or scanning requests would then cost a write
each. CloudWatch already has them (the webhook's embedded-metric log lines), and reading a handful of
metrics per page view costs a fraction of a cent per thousand views.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from arrowhook.core.observability import Metric
from arrowhook.core.rejections import RejectionReason

#: A page waits at most this long for the figures (it shows "unavailable" rather than hang).
_CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=1, read_timeout=3)


class RejectionCounts:
    def __init__(self, namespace: str, service: str, client: Any = None) -> None:
        self.namespace = namespace
        self.service = service
        self._client = client

    def between(self, start: datetime, end: datetime) -> dict[RejectionReason, int] | None:
        """Refusals per reason in [start, end), every reason listed (0 when none); None when CloudWatch
        could not be read (a missing permission or an outage must not break the page)."""
        client = self._client or boto3.client("cloudwatch", config=_CLIENT_CONFIG)
        self._client = client
        reasons = list(RejectionReason)
        queries: list[Any] = [
            {
                "Id": f"r{index}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": self.namespace,
                        "MetricName": Metric.WEBHOOK_REJECTIONS.value,
                        "Dimensions": [
                            {"Name": "service", "Value": self.service},
                            {"Name": "reason", "Value": reason.value},
                        ],
                    },
                    "Period": 3600,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            }
            for index, reason in enumerate(reasons)
        ]
        totals = dict.fromkeys(reasons, 0)
        token: str | None = None
        try:
            while True:
                page = client.get_metric_data(
                    MetricDataQueries=queries,
                    StartTime=start,
                    EndTime=end + timedelta(minutes=1),
                    **({"NextToken": token} if token else {}),
                )
                for result in page["MetricDataResults"]:
                    totals[reasons[int(result["Id"][1:])]] += int(sum(result.get("Values", [])))
                token = page.get("NextToken")
                if not token:
                    return totals
        except (ClientError, BotoCoreError):
            return None
