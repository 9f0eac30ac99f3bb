"""Sends what waits in the destinations' lanes (the delivery queue, SQS FIFO, one message group per
destination): one attempt per message, recorded, the lane kept in order.

Thin on purpose: the Courier (arrowhook.delivery.lanes) decides; this function turns its outcome into
SQS's terms. Done: the message is deleted. Try again later: the message is hidden until its next attempt
(ChangeMessageVisibility) and reported failed, so Lambda leaves it in the queue; a FIFO queue then holds
back the rest of that destination's lane, and only that lane. An outage of ours (DynamoDB, SSM) is
retried the same way, on the same schedule: a message is never dropped.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrowhook.alerts.store import AlertStore
from arrowhook.core.observability import logger, metrics, traced
from arrowhook.core.settings import SenderSettings
from arrowhook.delivery.channels import FailureQueue, HttpTransport, SnsEmail, SqsLanes
from arrowhook.delivery.destinations_store import DestinationSecrets, DestinationStore
from arrowhook.delivery.lanes import Courier, LaneMessage, RetrySchedule, count_delivery
from arrowhook.delivery.records_store import DeliveryStore
from arrowhook.delivery.sending import Sender

settings = SenderSettings.from_environment()
lanes = SqsLanes(settings.delivery_queue_url)
schedule = RetrySchedule()
courier = Courier(
    records=DeliveryStore(settings.deliveries_table_name),
    destinations=DestinationStore(settings.keys_table_name),
    secrets=DestinationSecrets(settings.destination_secrets_prefix),
    alerts=AlertStore(settings.alerts_table_name),
    sender=Sender(
        transport=HttpTransport(allow_local=settings.allow_http_destinations),
        email=SnsEmail(settings.alert_email_topic_arn) if settings.alert_email_topic_arn else None,
        telegram_api_url=settings.telegram_api_url,
    ),
    failures=FailureQueue(settings.failure_queue_url),
    schedule=schedule,
    pause_after=settings.pause_after_refusals,
)
# One lane's failure never stops another's in the same batch; within a lane, what follows waits. A message
# retried later is a partial failure, not a function error (the Errors alarm stays for real crashes).
processor = SqsFifoPartialProcessor(skip_group_on_error=True)
processor.raise_on_entire_batch_failure = False


class RetryLaterError(Exception):
    """The message was hidden until its next attempt: reported failed, so Lambda leaves it in the queue."""


def send_record(record: SQSRecord) -> None:
    try:
        message = LaneMessage.model_validate_json(record.body)
        outcome = courier.handle(message)
    except Exception:  # our own outage (DynamoDB, SSM, SQS) or a bug: retried on the schedule, never dropped
        received = int(record.attributes.approximate_receive_count or 1)
        logger.exception("lane message not handled: retried", extra={"lane": record.attributes.message_group_id})
        lanes.retry_later(record.receipt_handle, schedule.delay(received))
        raise RetryLaterError(record.message_id) from None
    if outcome.record is not None:
        count_delivery(outcome.record)
    if not outcome.done:
        lanes.retry_later(record.receipt_handle, outcome.retry_in or 0)
        raise RetryLaterError(message.message_id)


@traced
@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=send_record, processor=processor, context=context)
