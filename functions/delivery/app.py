"""Dispatches each newly stored alert (the alerts table's stream, INSERT of ALERT# items only: the event
source mapping filters the rest) to its strategy's destinations' lanes, and checks its signal health; on
its schedule, notices strategies gone silent. It sends nothing itself: the sender function does, one
lane per destination (arrowhook.delivery.lanes).

Thin on purpose: Powertools batch processing turns the stream batch into records and reports partial
failures (the mapping bisects and retries them); the strategies and destinations are read once per
batch; each record goes to arrowhook.signals.flows (AlertFlows.new_alert: lag at once, then a `pending`
delivery record per destination in its lane; an alert whose sequence is checked goes to the signal-check
queue, which hands it back as an SQS batch once it has settled: AlertFlows.settled) and to the open live
connections of its strategy (docs/live.md). A scheduled event (`{"trigger": "signal-watch"}`) runs the
silence watch.
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

from arrowhook.admin.live_messages import LiveAlert
from arrowhook.alerts.daily_counts import DailyCounts
from arrowhook.alerts.query import AlertQuery
from arrowhook.alerts.store import AlertStore, alert_from_item
from arrowhook.core.errors import StoreUnavailableError
from arrowhook.core.models import StoredAlert, StrategyKey, utc_now
from arrowhook.core.observability import Metric, MetricUnit, logger, metrics, traced
from arrowhook.core.settings import DeliverySettings
from arrowhook.delivery.channels import SignalCheckQueue, SqsLanes
from arrowhook.delivery.destinations import Destination
from arrowhook.delivery.destinations_store import DestinationStore
from arrowhook.delivery.lanes import Dispatcher
from arrowhook.delivery.records_store import DeliveryStore
from arrowhook.delivery.sending import DeliveryRecord
from arrowhook.keys.store import KeyStore
from arrowhook.live.channels import ConnectionsApi
from arrowhook.live.connections import Connection, fan_out
from arrowhook.live.store import ConnectionStore
from arrowhook.signals import flows as signal_flows
from arrowhook.signals.flows import AlertFlows
from arrowhook.signals.watch import SilenceStates, SilenceWatch, StreamChecks

settings = DeliverySettings.from_environment()
destinations = DestinationStore(settings.keys_table_name)
keys = KeyStore(settings.keys_table_name)
alert_query = AlertQuery(settings.alerts_table_name)
alert_store = AlertStore(settings.alerts_table_name)
checks = StreamChecks(alert_store, alert_query, settle=timedelta(seconds=settings.settle_seconds))
# A batch whose every record is pending is still a partial-failure answer, not a function error: the
# mapping retries those records (bisecting is for the function crashing), and the Errors metric stays
# for real crashes.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
check_processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
deliverer = Dispatcher(
    records=DeliveryStore(settings.deliveries_table_name), lanes=SqsLanes(settings.delivery_queue_url)
)
connections = ConnectionStore(settings.keys_table_name)
connections_api = ConnectionsApi(settings.live_connections_url)
flows = AlertFlows(checks, deliverer, SignalCheckQueue(settings.signal_check_queue_url), alert_store)


def deliver_record(
    record: DynamoDBRecord,
    configured: list[Destination],
    strategies: dict[str, StrategyKey],
    listening: list[Connection],
) -> list[DeliveryRecord]:
    image = (record.raw_event.get("dynamodb") or {}).get("NewImage")
    if not image:
        return []  # the mapping's filter lets only ALERT# inserts through; anything else has nothing to send
    alert = alert_from_item(image)
    results = flows.new_alert(alert, configured, strategies)
    push_live(alert, listening)
    return results


def open_connections() -> list[Connection]:
    """The open live connections, one Query per batch; none when the read fails (deliveries go on)."""
    try:
        return connections.all(utc_now().timestamp())
    except StoreUnavailableError:
        metrics.add_metric(name=Metric.LIVE_FAN_OUT_ERRORS, unit=MetricUnit.Count, value=1)
        return []


def push_live(alert: StoredAlert, listening: list[Connection]) -> None:
    """The alert to the live connections open when the batch began (docs/live.md). A failure is counted and
    logged, never retried with the record: its deliveries must not wait for it, and a client that missed
    a frame gets it with its next `resume`."""
    if not listening:
        return
    frame = LiveAlert.of(alert).model_dump_json().encode()
    try:
        sent, _ = fan_out(connections, listening, alert.key_id, frame, connections_api)
    except StoreUnavailableError:
        logger.warning("live fan-out failed", extra={"alert_id": alert.alert_id})
        metrics.add_metric(name=Metric.LIVE_FAN_OUT_ERRORS, unit=MetricUnit.Count, value=1)
        return
    if sent:
        metrics.add_metric(name=Metric.LIVE_MESSAGES, unit=MetricUnit.Count, value=sent)


def check_record(
    record: SQSRecord, strategies: dict[str, StrategyKey], configured: Callable[[], list[Destination]]
) -> None:
    flows.settled(str(record.json_body["alert_id"]), strategies, configured)


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
    listening = open_connections()
    return process_partial_response(
        event=event,
        record_handler=lambda record: deliver_record(record, configured, strategies, listening),
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
    result = signal_flows.watch_silence(watch, now)
    return {
        "watched": result.watched,
        "silent": result.silent,
        "recovered": result.recovered,
        "notices": [notice.model_dump(mode="json") for notice in result.notices],
    }
