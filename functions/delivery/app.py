"""Forwards each newly stored alert (the alerts table's stream, INSERT of ALERT# items only: the event
source mapping filters the rest) to its strategy's destinations.

Thin on purpose: Powertools batch processing turns the stream batch into records and reports partial
failures (the mapping bisects and retries them, then sends them to the failure queue); each record
goes to arrowhook.delivery.Deliverer, which keeps one delivery record per (alert, destination).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrowhook.alerts_table import alert_from_item
from arrowhook.deliveries_table import DeliveryStore
from arrowhook.delivery import Deliverer, DeliveryRecord, DeliveryStatus, Sender
from arrowhook.delivery_channels import FailureQueue, HttpTransport, SnsEmail
from arrowhook.destinations import Destination
from arrowhook.destinations_table import DestinationSecrets, DestinationStore
from arrowhook.observability import Metric, MetricUnit, logger, metrics, traced
from arrowhook.settings import DeliverySettings

settings = DeliverySettings.from_environment()
destinations = DestinationStore(settings.keys_table_name)
# A batch whose every record is pending is still a partial-failure answer, not a function error: the
# mapping retries those records (bisecting is for the function crashing), and the Errors metric stays
# for real crashes.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
deliverer = Deliverer(
    records=DeliveryStore(settings.deliveries_table_name),
    secrets=DestinationSecrets(settings.destination_secrets_prefix),
    sender=Sender(
        transport=HttpTransport(),
        email=SnsEmail(settings.alert_email_topic_arn) if settings.alert_email_topic_arn else None,
        telegram_api_url=settings.telegram_api_url,
    ),
    failures=FailureQueue(settings.failure_queue_url),
)


class PendingDeliveryError(Exception):
    """Raised for a record with a destination left pending: the batch reports it failed, to be retried."""


def deliver_record(record: DynamoDBRecord, configured: list[Destination]) -> list[DeliveryRecord]:
    image = (record.raw_event.get("dynamodb") or {}).get("NewImage")
    if not image:
        return []  # the mapping's filter lets only ALERT# inserts through; anything else has nothing to send
    alert = alert_from_item(image)
    results = deliverer.deliver(alert, configured)
    for result in results:
        _count(result)
    pending = [result.destination_id for result in results if result.status is DeliveryStatus.PENDING]
    if pending:
        raise PendingDeliveryError(f"alert {alert.alert_id}: {len(pending)} destination(s) pending")
    return results


def _count(result: DeliveryRecord) -> None:
    logger.info(
        "delivery",
        extra={
            "alert_id": result.alert_id,
            "destination_id": result.destination_id,
            "kind": result.kind,
            "status": result.status,
            "attempts": result.attempts,
            "last_status_code": result.last_status_code,
        },
    )
    if result.status is DeliveryStatus.DELIVERED:
        metrics.add_metric(name=Metric.DELIVERIES_SUCCEEDED, unit=MetricUnit.Count, value=1)
        if result.latency_ms is not None:
            metrics.add_metric(name=Metric.DELIVERY_LATENCY, unit=MetricUnit.Milliseconds, value=result.latency_ms)
    elif result.status is DeliveryStatus.FAILED:
        metrics.add_metric(name=Metric.DELIVERIES_FAILED, unit=MetricUnit.Count, value=1)
    elif result.status is DeliveryStatus.PENDING:
        metrics.add_metric(name=Metric.DELIVERIES_PENDING, unit=MetricUnit.Count, value=1)
    if result.attempts > 1:
        metrics.add_metric(name=Metric.DELIVERY_RETRIES, unit=MetricUnit.Count, value=result.attempts - 1)


@traced
@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    configured = destinations.all()  # once per batch: a handful of items
    deliverer.seconds_left = lambda: context.get_remaining_time_in_millis() / 1000
    return process_partial_response(
        event=event,
        record_handler=lambda record: deliver_record(record, configured),
        processor=processor,
        context=context,
    )
