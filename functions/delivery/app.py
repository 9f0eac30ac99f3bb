"""Dispatches each newly stored alert (the alerts table's stream, INSERT of ALERT# items only: the event
source mapping filters the rest) to its strategy's destinations' lanes, and checks its signal health; on
its schedule, notices strategies gone silent. It sends nothing itself: the sender function does, one
lane per destination (arrowhook.delivery.lanes).

Thin on purpose: Powertools batch processing turns the stream batch into records and reports partial
failures (the mapping bisects and retries them); each record goes to the Dispatcher, which writes a
`pending` delivery record per (alert, destination) and then puts the message in its lane, and to
arrowhook.signals.watch: lag at once (so late alerts are skipped where a destination asks); an alert whose
sequence is checked goes to the signal-check queue, which hands it back (an SQS batch) once it has
settled. A scheduled event (`{"trigger": "signal-watch"}`) runs SilenceWatch.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrowhook.alerts.daily_counts import DailyCounts
from arrowhook.alerts.query import AlertQuery
from arrowhook.alerts.store import AlertStore, alert_from_item
from arrowhook.core.models import StrategyKey, utc_now
from arrowhook.core.observability import Metric, MetricUnit, count_lag, logger, metrics, traced
from arrowhook.core.settings import DeliverySettings
from arrowhook.core.signals import SignalExpectations
from arrowhook.delivery.channels import SignalCheckQueue, SqsLanes
from arrowhook.delivery.destinations import Destination
from arrowhook.delivery.destinations_store import DestinationStore
from arrowhook.delivery.lanes import Dispatcher, count_delivery
from arrowhook.delivery.records_store import DeliveryStore
from arrowhook.delivery.sending import DeliveryRecord, DeliveryStatus
from arrowhook.keys.store import KeyStore
from arrowhook.signals.checks import needs_sequence_check
from arrowhook.signals.watch import SilenceStates, SilenceWatch, StreamChecks, gap_notice, late_reason

settings = DeliverySettings.from_environment()
destinations = DestinationStore(settings.keys_table_name)
keys = KeyStore(settings.keys_table_name)
alert_query = AlertQuery(settings.alerts_table_name)
alert_store = AlertStore(settings.alerts_table_name)
checks = StreamChecks(alert_store, alert_query, settle=timedelta(seconds=settings.settle_seconds))
check_queue = SignalCheckQueue(settings.signal_check_queue_url)
# A batch whose every record is pending is still a partial-failure answer, not a function error: the
# mapping retries those records (bisecting is for the function crashing), and the Errors metric stays
# for real crashes.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
check_processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
deliverer = Dispatcher(
    records=DeliveryStore(settings.deliveries_table_name), lanes=SqsLanes(settings.delivery_queue_url)
)


def deliver_record(
    record: DynamoDBRecord, configured: list[Destination], strategies: dict[str, StrategyKey]
) -> list[DeliveryRecord]:
    image = (record.raw_event.get("dynamodb") or {}).get("NewImage")
    if not image:
        return []  # the mapping's filter lets only ALERT# inserts through; anything else has nothing to send
    alert = alert_from_item(image)
    key = strategies.get(alert.key_id)
    expectations = key.signals if key else SignalExpectations()
    health = checks.lag(alert, expectations)
    results = deliverer.dispatch(alert, configured, late=late_reason(health, expectations))
    for result in results:
        _count(result)
    if needs_sequence_check(alert, expectations.sequence):
        check_queue.enqueue(alert.alert_id)  # checked once settled, with its lag (written then)
        return results
    if expectations.max_lag_seconds is not None:  # a declared check: its verdict is written on the alert
        checks.record(alert, health)
    # Otherwise nothing is written: the alert carries its lag (AlertHealth.of_lag), and no second write
    # per alert is paid for a check nobody declared.
    _count_health(alert.strategy, health.lag_ms, late=health.late, gap=False)
    return results


def check_record(
    record: SQSRecord, strategies: dict[str, StrategyKey], configured: Callable[[], list[Destination]]
) -> None:
    """One settled alert's sequence: flagged on the alert, counted, and notified when something is missing."""
    alert = alert_store.get(str(record.json_body["alert_id"]))
    if alert is None:
        return  # archived or deleted meanwhile: nothing to flag
    key = strategies.get(alert.key_id)
    expectations = key.signals if key else SignalExpectations()
    gap = checks.sequence(alert, expectations)
    health = checks.lag(alert, expectations).model_copy(update={"gap_before": gap})
    checks.record(alert, health)
    _count_health(alert.strategy, health.lag_ms, late=health.late, gap=gap is not None)
    if gap is not None:
        logger.warning("alert missing before this one", extra={"alert_id": alert.alert_id, **gap.model_dump()})
        for notice in deliverer.notify(gap_notice(alert, gap), configured()):
            _count(notice)


def _count_health(strategy: str, lag_ms: int | None, *, late: bool, gap: bool) -> None:
    if lag_ms is not None:
        count_lag(strategy, lag_ms)
    if late:
        metrics.add_metric(name=Metric.LATE_ALERTS, unit=MetricUnit.Count, value=1)
    if gap:
        metrics.add_metric(name=Metric.SIGNAL_GAPS, unit=MetricUnit.Count, value=1)


def _count(result: DeliveryRecord) -> None:
    """A dispatch: what is skipped is done here; the sender logs and counts the rest as it sends."""
    if result.status is DeliveryStatus.SKIPPED:
        count_delivery(result)


@traced
@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse | dict[str, Any]:
    if event.get("trigger") == "signal-watch":
        # `at` replays the check as of another moment (`arrowhook signals check --at`): for trying it out.
        return watch_silence(datetime.fromisoformat(event["at"]) if event.get("at") else utc_now())
    strategies = {key.id: key for key in keys.all()}  # their declared expectations, once per batch
    records = event.get("Records") or [{}]
    if records[0].get("eventSource") == "aws:sqs":
        configured_if_needed = cache(destinations.all)  # read once, and only when a gap is notified
        return process_partial_response(
            event=event,
            record_handler=lambda record: check_record(record, strategies, configured_if_needed),
            processor=check_processor,
            context=context,
        )
    configured = destinations.all()  # once per batch: a handful of items
    return process_partial_response(
        event=event,
        record_handler=lambda record: deliver_record(record, configured, strategies),
        processor=processor,
        context=context,
    )


def watch_silence(now: datetime) -> dict[str, Any]:
    """The schedule's run (or `arrowhook signals check`): strategies gone silent, and those back."""
    watch = SilenceWatch(
        keys,
        alert_query,
        SilenceStates(settings.keys_table_name),
        deliverer,
        cache(destinations.all),
        counts=DailyCounts(settings.alerts_table_name),
    )
    result = watch.run(now)
    for notice in result.notices:
        _count(notice)
    if result.silent:
        metrics.add_metric(name=Metric.SILENT_STRATEGIES, unit=MetricUnit.Count, value=len(result.silent))
    logger.info(
        "signal watch", extra={"watched": result.watched, "silent": result.silent, "recovered": result.recovered}
    )
    return {
        "watched": result.watched,
        "silent": result.silent,
        "recovered": result.recovered,
        "notices": [notice.model_dump(mode="json") for notice in result.notices],
    }
