"""The one place that builds Powertools' Logger and Metrics; Tracer is opt-in per function (see traced)."""

from __future__ import annotations

import os
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

logger = Logger()
metrics = Metrics()


class Metric(StrEnum):
    """Every metric a function publishes (namespace Arrowhook, dimension `service`): the one list the
    code, the alarms and dashboard, and docs/metrics.md (generated) take their names from."""

    ALERTS_STORED = "AlertsStored"
    ALERTS_DUPLICATE = "AlertsDuplicate"
    PARSE_ISSUES = "ParseIssues"
    AUTH_FAILURES = "AuthFailures"
    REJECTED_REQUESTS = "RejectedRequests"
    STORE_ERRORS = "StoreErrors"
    ADMIN_AUTH_FAILURES = "AdminAuthFailures"
    AUTHORIZER_ERRORS = "AuthorizerErrors"
    DAYS_COUNTED = "DaysCounted"
    ALERTS_ARCHIVED = "AlertsArchived"
    ARCHIVE_OBJECTS_WRITTEN = "ArchiveObjectsWritten"
    ARCHIVE_BYTES_WRITTEN = "ArchiveBytesWritten"
    ARCHIVE_BATCHES_RETRIED = "ArchiveBatchesRetried"
    ARCHIVE_INCOMPLETE = "ArchiveIncomplete"
    ARCHIVE_ERRORS = "ArchiveErrors"
    DELIVERIES_SUCCEEDED = "DeliveriesSucceeded"
    DELIVERIES_FAILED = "DeliveriesFailed"
    DELIVERIES_PENDING = "DeliveriesPending"
    DELIVERY_RETRIES = "DeliveryRetries"
    DELIVERY_LATENCY = "DeliveryLatency"
    WEBHOOK_REJECTIONS = "WebhookRejections"
    ALERT_LAG = "AlertLag"
    LATE_ALERTS = "LateAlerts"
    SIGNAL_GAPS = "SignalGaps"
    SILENT_STRATEGIES = "SilentStrategies"
    LIVE_MESSAGES = "LiveMessages"
    LIVE_FAN_OUT_ERRORS = "LiveFanOutErrors"


#: What each metric counts, and who publishes it (docs/metrics.md is generated from this).
METRIC_MEANINGS: dict[Metric, tuple[str, str]] = {
    Metric.ALERTS_STORED: ("webhook", "alerts stored (a new alert, not a duplicate delivery)"),
    Metric.ALERTS_DUPLICATE: ("webhook", "deliveries answered as duplicates inside the dedupe window"),
    Metric.PARSE_ISSUES: ("webhook", "parse issues of stored alerts (fields that became null, or look wrong)"),
    Metric.AUTH_FAILURES: ("webhook", "401s: no key, an unknown one, or a disabled or expired one"),
    Metric.REJECTED_REQUESTS: (
        "webhook",
        "other refusals: empty or oversized body, bad encoding, source IP, unknown route",
    ),
    Metric.STORE_ERRORS: ("webhook", "503s: DynamoDB failed after the retry and the alert is not stored"),
    Metric.ADMIN_AUTH_FAILURES: ("authorizer", "admin requests with a wrong token or a malformed header"),
    Metric.AUTHORIZER_ERRORS: ("authorizer", "the admin token could not be read (everyone is refused meanwhile)"),
    Metric.DAYS_COUNTED: ("archive", "closed days counted for stats in this run"),
    Metric.ALERTS_ARCHIVED: ("archive", "alerts moved to S3 in this run (an interrupted run's batch included)"),
    Metric.ARCHIVE_OBJECTS_WRITTEN: ("archive", "S3 objects written"),
    Metric.ARCHIVE_BYTES_WRITTEN: ("archive", "bytes written to S3 (gzip)"),
    Metric.ARCHIVE_BATCHES_RETRIED: ("archive", "delete calls retried for unprocessed items"),
    Metric.ARCHIVE_INCOMPLETE: ("archive", "1 when a run stopped before the cutoff (the next run continues)"),
    Metric.ARCHIVE_ERRORS: ("archive", "runs that failed (nothing is lost; the next run resumes)"),
    Metric.DELIVERIES_SUCCEEDED: ("sender", "messages a destination accepted"),
    Metric.DELIVERIES_FAILED: ("sender", "deliveries given up on or held (reported to the failure queue)"),
    Metric.DELIVERIES_PENDING: ("sender", "retries scheduled: a lane waiting for its next attempt"),
    Metric.DELIVERY_RETRIES: ("sender", "attempts after a 429, a 5xx, no answer or a refusal, on the schedule"),
    Metric.DELIVERY_LATENCY: ("sender", "milliseconds from an alert's receipt to its acceptance"),
    Metric.WEBHOOK_REJECTIONS: (
        "webhook",
        "every refusal and 503, with a second dimension `reason` (the answer's error code): the console's overview",
    ),
    Metric.ALERT_LAG: (
        "delivery",
        "milliseconds from TradingView's timenow to receipt, with a second dimension `strategy`",
    ),
    Metric.LATE_ALERTS: ("delivery", "alerts later than their strategy's max_lag_seconds"),
    Metric.SIGNAL_GAPS: ("delivery", "alerts with at least one alert missing before them (gap_before)"),
    Metric.SILENT_STRATEGIES: ("delivery", "strategies newly notified as silent by the scheduled watch"),
    Metric.LIVE_MESSAGES: ("delivery", "new alerts pushed to open live connections (one per connection)"),
    Metric.LIVE_FAN_OUT_ERRORS: (
        "delivery",
        "new alerts the live fan-out could not push (the management API failed): clients get them on resume",
    ),
}

__all__ = [
    "METRIC_MEANINGS",
    "Metric",
    "MetricUnit",
    "count_lag",
    "count_rejection",
    "logger",
    "metrics",
    "traced",
    "tracing_enabled",
]


def _count_by(metric: Metric, unit: MetricUnit, value: float, dimension: str, dimension_value: str) -> None:
    """A metric with a second dimension, in a record of its own: the totals keep their single `service`
    dimension, which the alarms and the dashboard use."""
    dimensions = {"service": metrics.service or "arrowhook", dimension: dimension_value}
    with single_metric(name=metric, unit=unit, value=value, namespace=metrics.namespace, default_dimensions=dimensions):
        pass


def count_rejection(reason: str) -> None:
    """One webhook refusal, by reason (the console's overview reads them back)."""
    _count_by(Metric.WEBHOOK_REJECTIONS, MetricUnit.Count, 1, "reason", reason)


def count_lag(strategy: str, lag_ms: int) -> None:
    """One alert's lag, by strategy (the dashboard's p50/p99 per strategy search this dimension)."""
    _count_by(Metric.ALERT_LAG, MetricUnit.Milliseconds, lag_ms, "strategy", strategy)


HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])


def tracing_enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() not in ("1", "true", "yes", "on")


def traced(handler: HandlerT) -> HandlerT:
    """Wrap a handler with Powertools Tracer only when tracing is switched on.

    Building a `Tracer` imports the X-Ray SDK even when tracing is disabled, which costs the webhook
    about a third of its cold start (tests/bench/bench_webhook.py measures it). Functions where that
    matters set POWERTOOLS_TRACE_DISABLED from a template parameter and skip the import entirely.
    """
    if not tracing_enabled():
        return handler
    from aws_lambda_powertools import Tracer

    tracer = Tracer()
    return cast(HandlerT, tracer.capture_lambda_handler(handler))
