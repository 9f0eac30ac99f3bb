"""The delivery function's handler with the sample stream event (events/), against moto and a local
fake receiver: partial batch failures as Lambda's event source mapping reads them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from arrowhook.deliveries_table import DeliveryStore
from arrowhook.destinations import DEFAULT_TEMPLATES, Destination, DestinationKind, DestinationSecret
from arrowhook.destinations_table import DestinationSecrets, DestinationStore
from arrowhook_tools.receivers import Receivers, Scripted
from arrowhook_tools.runtime import LocalContext
from arrowhook_tools.template import PROJECT_ROOT, LocalTemplate
from tests.conftest import load_module, sample_event

SAMPLE_ALERT_ID = "01JDA0Q8X7M2V5W9Y3Z6B8C1D4"


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    fakes = Receivers().start()
    yield fakes
    fakes.stop()


@pytest.fixture
def delivery_app(aws: Any, template: LocalTemplate, monkeypatch: pytest.MonkeyPatch, receivers: Receivers) -> Any:
    environment = template.function_spec("DeliveryFunction").environment
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    boto3.client("sqs").create_queue(QueueName=template.physical_name("DeliveryFailureQueue"))
    now = datetime(2026, 11, 23, tzinfo=UTC)
    destination = Destination(
        id="D1",
        name="hook",
        kind=DestinationKind.WEBHOOK,
        template=DEFAULT_TEMPLATES[DestinationKind.WEBHOOK],
        target="local",
        created_at=now,
        updated_at=now,
    )
    DestinationStore(environment["KEYS_TABLE_NAME"]).create(destination)
    secret = DestinationSecret(url=f"{receivers.url}/hook/d1", signing_secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    DestinationSecrets(environment["DESTINATION_SECRETS_PREFIX"]).put("D1", secret)
    return load_module(PROJECT_ROOT / "functions/delivery/app.py", "delivery_app_under_test")


def _invoke(module: Any, event: Any, timeout_seconds: float = 120) -> dict[str, Any]:
    result: dict[str, Any] = module.lambda_handler(
        event, LocalContext(function_name="DeliveryFunction", timeout_seconds=timeout_seconds)
    )
    return result


def test_the_sample_stream_event_is_delivered_once_however_often_it_comes(
    delivery_app: Any, receivers: Receivers, template: LocalTemplate
) -> None:
    event = sample_event("delivery-alert-stored.json")
    assert _invoke(delivery_app, event) == {"batchItemFailures": []}
    assert _invoke(delivery_app, event) == {"batchItemFailures": []}
    (received,) = receivers.at("/hook/d1")
    assert received.json()["data"]["alert_id"] == SAMPLE_ALERT_ID
    (record,) = DeliveryStore(template.physical_name("DeliveriesTable")).for_alert(SAMPLE_ALERT_ID)
    assert (record.status, record.attempts, record.webhook_id) == ("delivered", 1, f"msg_{SAMPLE_ALERT_ID}_D1")


def test_a_delivery_left_pending_reports_its_record_as_a_batch_item_failure(
    delivery_app: Any, receivers: Receivers
) -> None:
    """Too little time left after a 500 for the pause and another 5 s attempt: the record is reported
    failed (by its sequence number), so the stream retries it; the retry delivers it."""
    receivers.script("/hook/d1", Scripted(500, "busy"))
    event = sample_event("delivery-alert-stored.json")
    sequence = event["Records"][0]["dynamodb"]["SequenceNumber"]
    assert _invoke(delivery_app, event, timeout_seconds=6.3) == {"batchItemFailures": [{"itemIdentifier": sequence}]}
    assert _invoke(delivery_app, event) == {"batchItemFailures": []}
    assert len(receivers.at("/hook/d1")) == 2


def test_a_record_without_a_new_image_is_skipped_not_failed(delivery_app: Any, receivers: Receivers) -> None:
    event = sample_event("delivery-alert-stored.json")
    del event["Records"][0]["dynamodb"]["NewImage"]
    assert _invoke(delivery_app, event) == {"batchItemFailures": []}
    assert receivers.received == []
