"""The delivery function's handler with the sample stream event (events/), against moto and a local
fake receiver: partial batch failures as Lambda's event source mapping reads them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from arrowhook.delivery.destinations import Destination, DestinationSecret
from arrowhook.delivery.destinations_store import DestinationSecrets, DestinationStore
from arrowhook.delivery.kinds.registry import DestinationKind
from arrowhook.delivery.records_store import DeliveryStore
from arrowhook_tools.local.runtime import LocalContext
from arrowhook_tools.local.template import PROJECT_ROOT, LocalTemplate
from arrowhook_tools.standins.receivers import Receivers, Scripted
from tests.conftest import load_module, sample_event

SAMPLE_ALERT_ID = "01JDA0Q8X7M2V5W9Y3Z6B8C1D4"


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    fakes = Receivers().start()
    yield fakes
    fakes.stop()


@pytest.fixture
def delivery_app(aws: Any, template: LocalTemplate, monkeypatch: pytest.MonkeyPatch, receivers: Receivers) -> Any:
    """The stream's consumer, with the lanes' sender beside it (`sender_app`) on the same moto account."""
    environment = {
        **template.function_spec("SenderFunction").environment,
        **template.function_spec("DeliveryFunction").environment,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ALLOW_HTTP_DESTINATIONS", "true")  # the fake receiver is on 127.0.0.1, as under make dev
    from arrowhook_tools.standins.embedded_aws import _fifo_attributes

    sqs = boto3.client("sqs")
    sqs.create_queue(QueueName=template.physical_name("DeliveryFailureQueue"))
    sqs.create_queue(QueueName=template.physical_name("SignalCheckQueue"))  # no delay: tests wait
    lanes = template.resources["DeliveryQueue"]
    sqs.create_queue(QueueName=template.physical_name("DeliveryQueue"), Attributes=_fifo_attributes(template, lanes))
    now = datetime(2026, 11, 23, tzinfo=UTC)
    destination = Destination(
        id="D1",
        name="hook",
        kind=DestinationKind.WEBHOOK,
        template=DestinationKind.WEBHOOK.rules.default_template,
        target="local",
        created_at=now,
        updated_at=now,
    )
    DestinationStore(environment["KEYS_TABLE_NAME"]).create(destination)
    secret = DestinationSecret(url=f"{receivers.url}/hook/d1", signing_secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    DestinationSecrets(environment["DESTINATION_SECRETS_PREFIX"]).put("D1", secret)
    return load_module(PROJECT_ROOT / "functions/delivery/app.py", "delivery_app_under_test")


@pytest.fixture
def sender_app(delivery_app: Any) -> Any:
    return load_module(PROJECT_ROOT / "functions/sender/app.py", "sender_app_under_test")


def _send_lanes(sender: Any, template: LocalTemplate) -> list[dict[str, Any]]:
    """What Lambda's poller does with the lanes (one message per invocation): until no message is visible.
    Those the sender retries later stay hidden (tests move the embedded SQS clock: `_advance`)."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=template.physical_name("DeliveryQueue"))["QueueUrl"]
    answers = []
    shape = sample_event("delivery-signal-check.json")["Records"][0]
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["All"]).get(
        "Messages", []
    ):
        (message,) = messages
        event = {
            "Records": [
                {
                    **shape,
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": message["Attributes"],
                    "eventSourceARN": template.arn("DeliveryQueue"),
                }
            ]
        }
        answer = _invoke(sender, event)
        answers.append(answer)
        if not answer["batchItemFailures"]:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return answers


def _stored_sample(template: LocalTemplate) -> dict[str, Any]:
    """The sample stream event, its alert in the table as the webhook left it (the sender reads it there)."""
    event = sample_event("delivery-alert-stored.json")
    image = event["Records"][0]["dynamodb"]["NewImage"]
    boto3.client("dynamodb").put_item(TableName=template.physical_name("AlertsTable"), Item=image)
    return event


def _advance(seconds: float) -> None:
    """Time passes for the embedded SQS: a message hidden until its next attempt comes back."""
    from arrowhook_tools.standins.embedded_aws import _SQS_CLOCK, _offset_sqs_clock

    _offset_sqs_clock()
    _SQS_CLOCK["offset_ms"] += seconds * 1000


def _invoke(module: Any, event: Any, timeout_seconds: float = 120) -> dict[str, Any]:
    result: dict[str, Any] = module.lambda_handler(
        event, LocalContext(function_name="DeliveryFunction", timeout_seconds=timeout_seconds)
    )
    return result


def test_the_sample_stream_event_is_delivered_once_however_often_it_comes(
    delivery_app: Any, sender_app: Any, receivers: Receivers, template: LocalTemplate
) -> None:
    event = _stored_sample(template)
    assert _invoke(delivery_app, event) == {"batchItemFailures": []}
    (pending,) = DeliveryStore(template.physical_name("DeliveriesTable")).for_alert(SAMPLE_ALERT_ID)
    assert (pending.status, pending.attempts) == ("pending", 0), "recorded before it is enqueued"
    assert _invoke(delivery_app, event) == {"batchItemFailures": []}  # the stream again: enqueued once
    assert _send_lanes(sender_app, template) == [{"batchItemFailures": []}]
    (received,) = receivers.at("/hook/d1")
    assert received.json()["data"]["alert_id"] == SAMPLE_ALERT_ID
    (record,) = DeliveryStore(template.physical_name("DeliveriesTable")).for_alert(SAMPLE_ALERT_ID)
    assert (record.status, record.attempts, record.webhook_id) == ("delivered", 1, f"msg_{SAMPLE_ALERT_ID}_D1")


def test_the_sample_lane_message_is_sent_once_and_recorded(
    delivery_app: Any, sender_app: Any, receivers: Receivers, template: LocalTemplate
) -> None:
    """events/sender-lane-message.json: its alert stored and its destination (D1) there, one attempt; again
    (SQS delivers a message at least once), nothing more is sent."""
    _stored_sample(template)
    event = sample_event("sender-lane-message.json")
    assert _invoke(sender_app, event) == {"batchItemFailures": []}
    assert _invoke(sender_app, event) == {"batchItemFailures": []}
    (received,) = receivers.at("/hook/d1")
    assert received.headers["webhook-id"] == f"msg_{SAMPLE_ALERT_ID}_D1"
    (record,) = DeliveryStore(template.physical_name("DeliveriesTable")).for_alert(SAMPLE_ALERT_ID)
    assert (record.status, record.attempts) == ("delivered", 1)


def test_a_500_is_retried_on_the_schedule_with_the_lane_held_meanwhile(
    delivery_app: Any, sender_app: Any, receivers: Receivers, template: LocalTemplate
) -> None:
    """The message is hidden until its next attempt (5 s after the first, jittered), and the lane with it."""
    receivers.script("/hook/d1", Scripted(500, "busy"))
    assert _invoke(delivery_app, _stored_sample(template)) == {"batchItemFailures": []}
    [first] = _send_lanes(sender_app, template)
    assert first["batchItemFailures"], "left in the queue, hidden"
    (record,) = DeliveryStore(template.physical_name("DeliveriesTable")).for_alert(SAMPLE_ALERT_ID)
    assert (record.status, record.attempts, record.last_status_code) == ("pending", 1, 500)
    assert record.next_attempt_at is not None and 4 <= (record.next_attempt_at - record.updated_at).total_seconds() <= 6
    assert _send_lanes(sender_app, template) == [], "not before its time"
    _advance(6.1)
    assert _send_lanes(sender_app, template) == [{"batchItemFailures": []}]
    (record,) = DeliveryStore(template.physical_name("DeliveriesTable")).for_alert(SAMPLE_ALERT_ID)
    assert (record.status, record.attempts) == ("delivered", 2)
    first_try, second_try = receivers.at("/hook/d1")
    assert first_try.headers["webhook-id"] == second_try.headers["webhook-id"] and first_try.body == second_try.body


def test_a_record_without_a_new_image_is_skipped_not_failed(delivery_app: Any, receivers: Receivers) -> None:
    event = sample_event("delivery-alert-stored.json")
    del event["Records"][0]["dynamodb"]["NewImage"]
    assert _invoke(delivery_app, event) == {"batchItemFailures": []}
    assert receivers.received == []


# -- signal health ------------------------------------------------------------------------------------
def _stream_event(*alerts: Any) -> dict[str, Any]:
    """The sample event's record shape, carrying these alerts as stored (alert_item) in order."""
    from arrowhook.alerts.store import alert_item

    record = sample_event("delivery-alert-stored.json")["Records"][0]
    records = []
    for number, alert in enumerate(alerts, start=1):
        item = alert_item(alert)
        records.append(
            {
                **record,
                "dynamodb": {
                    **record["dynamodb"],
                    "Keys": {"pk": item["pk"]},
                    "NewImage": item,
                    "SequenceNumber": str(number),
                },
            }
        )
    return {"Records": records}


def _run_checks(module: Any, template: LocalTemplate) -> list[dict[str, Any]]:
    """Hand the signal-check queue's messages to the function as Lambda's SQS poller does; its answers."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=template.physical_name("SignalCheckQueue"))["QueueUrl"]
    answers = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        event = sample_event("delivery-signal-check.json")
        shape = event["Records"][0]
        event["Records"] = [
            {
                **shape,
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
            }
            for message in messages
        ]
        answers.append(_invoke(module, event))
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return answers


def _strategy_alert(key_id: str, seconds: float, lag: float = 0.5, **fields: Any) -> Any:
    from datetime import timedelta
    from decimal import Decimal

    from arrowhook.core.models import StoredAlert, new_id
    from arrowhook.core.tradingview import AlertFields

    received = datetime(2026, 11, 23, 14, tzinfo=UTC) + timedelta(seconds=seconds)
    return StoredAlert(
        alert_id=new_id(int(received.timestamp() * 1000)),
        key_id=key_id,
        strategy="ema-cross",
        received_at=received,
        body_format="json",
        fields=AlertFields.model_validate(
            {
                "ticker": "BTCUSDT",
                "price": Decimal("100"),
                "tv_timenow": received.replace(microsecond=0) - timedelta(seconds=int(lag)),
                **fields,
            }
        ),
        payload="{}",
    )


@pytest.fixture
def strategy_key(delivery_app: Any, template: LocalTemplate) -> Any:
    """A strategy with a 60 s lag limit, its alerts stored as the webhook would."""
    from arrowhook.core.signals import SignalExpectations
    from arrowhook.keys import service as key_cases
    from arrowhook.keys.store import KeyStore

    store = KeyStore(template.physical_name("KeysTable"))
    key, _ = key_cases.create_key(store, "ema-cross")
    return key_cases.update_key(store, key.id, signals=SignalExpectations(max_lag_seconds=60))


def _store(template: LocalTemplate, *alerts: Any) -> None:
    from arrowhook.alerts.store import AlertStore

    store = AlertStore(template.physical_name("AlertsTable"), client=boto3.client("dynamodb"))  # the test's own
    for alert in alerts:
        store.put(alert, alert.alert_id, 0)


def _stored(template: LocalTemplate, alert_id: str) -> Any:
    from arrowhook.alerts.store import AlertStore

    return AlertStore(template.physical_name("AlertsTable")).get(alert_id)


def test_a_late_alert_is_flagged_and_skipped_by_a_destination_set_to_skip_late_alerts(
    delivery_app: Any, sender_app: Any, receivers: Receivers, template: LocalTemplate, strategy_key: Any
) -> None:
    from arrowhook.delivery.destinations_store import DestinationStore

    store = DestinationStore(template.physical_name("KeysTable"))
    [hook] = store.all()
    store.replace(hook.model_copy(update={"skip_late": True}), store.get("D1")[1])
    on_time, late = _strategy_alert(strategy_key.id, 0, lag=2), _strategy_alert(strategy_key.id, 60, lag=75)
    _store(template, on_time, late)
    assert _invoke(delivery_app, _stream_event(on_time, late)) == {"batchItemFailures": []}
    _send_lanes(sender_app, template)
    assert [request.json()["data"]["alert_id"] for request in receivers.at("/hook/d1")] == [on_time.alert_id]
    records = {
        record.alert_id: record
        for record in DeliveryStore(template.physical_name("DeliveriesTable")).for_alert(late.alert_id)
    }
    assert (records[late.alert_id].status, records[late.alert_id].last_error) == (
        "skipped",
        "late: 75 s after it fired, max 60 s",
    )
    flagged, fine = _stored(template, late.alert_id).health, _stored(template, on_time.alert_id).health
    assert (flagged.late, flagged.lag_ms, fine.late, fine.lag_ms) == (True, 75_000, False, 2_000)


def test_an_alert_of_a_strategy_that_declares_no_check_is_not_written_again(
    delivery_app: Any, template: LocalTemplate
) -> None:
    """Its lag is the alert's own (read from it); a second write per alert would double the cost of
    storing it (issue 26). A strategy declaring a max lag gets its verdict written (the test above)."""
    from arrowhook.keys import service as key_cases
    from arrowhook.keys.store import KeyStore

    key, _ = key_cases.create_key(KeyStore(template.physical_name("KeysTable")), "declares-nothing")
    alert = _strategy_alert(key.id, 0, lag=3)
    _store(template, alert)
    table = template.physical_name("AlertsTable")
    calls: list[tuple[str, str]] = []
    client = delivery_app.alert_store._client
    client.meta.events.register(
        "provide-client-params.dynamodb",
        lambda model, params, **_: calls.append((model.name, params.get("TableName", ""))),
    )
    assert _invoke(delivery_app, _stream_event(alert)) == {"batchItemFailures": []}
    assert calls, "the handler's calls were seen"
    assert [name for name, on in calls if on == table and name in ("PutItem", "UpdateItem", "DeleteItem")] == []
    raw = boto3.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": f"ALERT#{alert.alert_id}"}})["Item"]
    assert "health" not in raw
    health = _stored(template, alert.alert_id).health
    assert (health.lag_ms, health.late, health.checked_at) == (3_000, False, None)


def test_a_missing_alert_is_flagged_on_the_next_and_notified_once(
    delivery_app: Any, sender_app: Any, receivers: Receivers, template: LocalTemplate, strategy_key: Any
) -> None:
    opened = _strategy_alert(strategy_key.id, 0, side="buy", prev_market_position="flat", market_position="long")
    # the exit (long -> flat) never arrives; the next entry says the strategy was flat
    reopened = _strategy_alert(strategy_key.id, 120, side="sell", prev_market_position="flat", market_position="short")
    _store(template, opened, reopened)
    for _ in range(2):  # the stream delivers the batch again: nothing is sent twice
        assert _invoke(delivery_app, _stream_event(opened, reopened)) == {"batchItemFailures": []}
        assert _run_checks(delivery_app, template) == [{"batchItemFailures": []}]
        _send_lanes(sender_app, template)
    gap = _stored(template, reopened.alert_id).health.gap_before
    assert (gap.expected, gap.found, gap.previous_alert_id) == ("flat", "long", opened.alert_id)
    assert _stored(template, opened.alert_id).health.gap_before is None
    notices = [request.json() for request in receivers.at("/hook/d1") if request.json()["type"] == "signal.gap"]
    assert len(notices) == 1 and notices[0]["data"]["alert_id"] == reopened.alert_id
    assert "at least one alert is missing" in notices[0]["data"]["message"]
    purposes = {
        record.purpose
        for record in DeliveryStore(template.physical_name("DeliveriesTable")).for_alert(reopened.alert_id)
    }
    assert purposes == {"alert", "gap"}


def test_the_sequence_check_waits_for_the_settle_delay_and_sees_an_alert_that_landed_meanwhile(
    delivery_app: Any, sender_app: Any, receivers: Receivers, template: LocalTemplate, strategy_key: Any
) -> None:
    """The exit arrives 300 ms after the entry that follows it: by the time the entry is checked, it is there."""
    from datetime import timedelta

    opened = _strategy_alert(strategy_key.id, 0, side="buy", prev_market_position="flat", market_position="long")
    closed = _strategy_alert(strategy_key.id, 60.3, side="sell", prev_market_position="long", market_position="flat")
    reopened = _strategy_alert(strategy_key.id, 60.0, side="buy", prev_market_position="flat", market_position="long")
    _store(template, opened, reopened)
    waited: list[float] = []
    checks = delivery_app.checks
    checks.now = lambda: reopened.received_at + timedelta(milliseconds=100)

    def sleep(seconds: float) -> None:  # the settle delay: the late exit lands while the check waits
        waited.append(seconds)
        _store(template, closed)

    checks.sleep = sleep
    assert _invoke(delivery_app, _stream_event(opened, reopened)) == {"batchItemFailures": []}
    assert waited == [], "delivery never waits: the checks are queued"
    _send_lanes(sender_app, template)
    assert receivers.at("/hook/d1"), "delivered at once"
    _run_checks(delivery_app, template)  # the queue's delay was shorter than the settle time here
    assert waited == [pytest.approx(delivery_app.settings.settle_seconds - 0.1)]
    assert _stored(template, reopened.alert_id).health.gap_before is None


def test_a_silent_strategy_is_notified_once_and_again_when_it_recovers(
    delivery_app: Any,
    sender_app: Any,
    receivers: Receivers,
    template: LocalTemplate,
    strategy_key: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    from arrowhook.core.signals import SignalExpectations
    from arrowhook.keys import service as key_cases
    from arrowhook.keys.store import KeyStore

    key_cases.update_key(
        KeyStore(template.physical_name("KeysTable")),
        strategy_key.id,
        signals=SignalExpectations(expect_every_minutes=60),
    )
    last = _strategy_alert(strategy_key.id, 0)
    _store(template, last)
    clock = {"now": last.received_at + timedelta(minutes=59)}
    monkeypatch.setattr(delivery_app, "utc_now", lambda: clock["now"])
    watch = {"trigger": "signal-watch"}

    assert _invoke(delivery_app, watch)["silent"] == []
    clock["now"] = last.received_at + timedelta(minutes=125)
    first = _invoke(delivery_app, watch)
    assert first["silent"] == ["ema-cross"] and first["watched"] == 1
    assert _invoke(delivery_app, watch)["silent"] == [], "notified once"
    _send_lanes(sender_app, template)
    silent = [request.json() for request in receivers.at("/hook/d1") if request.json()["type"] == "signal.silent"]
    assert (
        len(silent) == 1 and "no alert for 2 h 5 min, expected at least one every 1 h" in silent[0]["data"]["message"]
    )

    back = _strategy_alert(strategy_key.id, 130 * 60)
    _store(template, back)
    clock["now"] = back.received_at + timedelta(minutes=1)
    assert _invoke(delivery_app, watch)["recovered"] == ["ema-cross"]
    assert _invoke(delivery_app, watch)["recovered"] == []
    _send_lanes(sender_app, template)
    kinds = [request.json()["type"] for request in receivers.at("/hook/d1")]
    assert kinds == ["signal.silent", "signal.recovered"]


def test_a_strategy_whose_alerts_are_archived_is_silent_since_its_last_alert(
    delivery_app: Any, receivers: Receivers, template: LocalTemplate, strategy_key: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It was measured from the key's updated_at once the table held none of its alerts: a false alarm."""
    from datetime import timedelta

    from arrowhook.alerts.daily_counts import DailyCounts
    from arrowhook.core.signals import SignalExpectations
    from arrowhook.keys import service as key_cases
    from arrowhook.keys.store import KeyStore

    key = key_cases.update_key(
        KeyStore(template.physical_name("KeysTable")),
        strategy_key.id,
        signals=SignalExpectations(expect_every_minutes=60),
    )
    base = _strategy_alert(key.id, 0).received_at
    last = _strategy_alert(key.id, (key.updated_at + timedelta(days=2) - base).total_seconds())
    _store(template, last)
    DailyCounts(template.physical_name("AlertsTable"), client=boto3.client("dynamodb")).count_day(
        last.received_at.date()
    )
    boto3.client("dynamodb").delete_item(  # archived, as the archive run does after counting the day
        TableName=template.physical_name("AlertsTable"), Key={"pk": {"S": f"ALERT#{last.alert_id}"}}
    )
    monkeypatch.setattr(delivery_app, "utc_now", lambda: last.received_at + timedelta(minutes=30))
    assert _invoke(delivery_app, {"trigger": "signal-watch"})["silent"] == [], "30 min since its last alert"
    monkeypatch.setattr(delivery_app, "utc_now", lambda: last.received_at + timedelta(minutes=90))
    assert _invoke(delivery_app, {"trigger": "signal-watch"})["silent"] == ["ema-cross"], "90 min: silent"


def test_the_sample_check_event_of_an_alert_not_stored_is_answered_without_failures(delivery_app: Any) -> None:
    assert _invoke(delivery_app, sample_event("delivery-signal-check.json")) == {"batchItemFailures": []}


def test_strategies_that_declared_nothing_are_not_watched(delivery_app: Any, strategy_key: Any) -> None:
    result = _invoke(delivery_app, sample_event("delivery-signal-watch.json"))
    assert (result["watched"], result["silent"], result["notices"]) == (0, [], [])


def test_every_dynamodb_call_of_delivery_the_watch_and_the_sender_is_granted_by_their_policies(
    delivery_app: Any, sender_app: Any, receivers: Receivers, template: LocalTemplate, strategy_key: Any
) -> None:
    from datetime import timedelta

    from arrowhook.aws.dynamodb import dynamodb_client
    from arrowhook.core.signals import SignalExpectations
    from arrowhook.keys import service as key_cases
    from arrowhook.keys.store import KeyStore
    from tests.conftest import assert_granted, dynamodb_grants_needed

    key_cases.update_key(
        KeyStore(template.physical_name("KeysTable")),
        strategy_key.id,
        signals=SignalExpectations(max_lag_seconds=60, expect_every_minutes=5),
    )
    needed: list[tuple[str, str, str | None]] = []
    dynamodb_client().meta.events.register(
        "provide-client-params.dynamodb",
        lambda model, params, **_: needed.extend(dynamodb_grants_needed(model.name, params)),
    )
    opened = _strategy_alert(strategy_key.id, 0, side="buy", prev_market_position="flat", market_position="long")
    reopened = _strategy_alert(strategy_key.id, 120, side="sell", prev_market_position="flat", market_position="short")
    _store(template, opened, reopened)
    needed.clear()
    _invoke(delivery_app, _stream_event(opened, reopened))
    _run_checks(delivery_app, template)
    delivery_app.utc_now = lambda: reopened.received_at + timedelta(hours=1)
    assert _invoke(delivery_app, {"trigger": "signal-watch"})["silent"] == ["ema-cross"]
    _store(template, _strategy_alert(strategy_key.id, 3700))
    needed_before_recovery = len(needed)
    assert _invoke(delivery_app, {"trigger": "signal-watch"})["recovered"] == ["ema-cross"]
    assert len(needed) > needed_before_recovery
    assert_granted(template, "DeliveryFunction", needed)
    assert {action for action, _, _ in needed} >= {"dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:PutItem"}
    needed.clear()
    receivers.script("/hook/d1", Scripted(404, "no such hook"))  # a refusal is counted on the destination
    _send_lanes(sender_app, template)
    assert_granted(template, "SenderFunction", needed)
    assert {action for action, _, _ in needed} >= {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}


def test_a_new_alert_is_pushed_to_the_open_live_connections_of_its_strategy(
    delivery_app: Any, template: LocalTemplate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live fan-out (docs/live.md): connections open when the batch begins get the alert's frame, a
    gone one is forgotten, another strategy's gets nothing; a failing management API leaves the
    deliveries alone (the record is not retried for it)."""
    import time

    from arrowhook.core.errors import StoreUnavailableError
    from arrowhook.live.connections import Connection
    from tests.fakes.live import RecordingPoster

    event = _stored_sample(template)
    key_id = event["Records"][0]["dynamodb"]["NewImage"]["key_id"]["S"]
    now = datetime.now(UTC)
    for connection_id, strategies in (("mine", (key_id,)), ("all", None), ("other", ("01OTHER",)), ("gone", None)):
        delivery_app.connections.put(Connection(connection_id, "admin", strategies, now, int(time.time()) + 600))
    poster = RecordingPoster(gone={"gone"})
    monkeypatch.setattr(delivery_app, "connections_api", poster)
    assert _invoke(delivery_app, event) == {"batchItemFailures": []}
    assert sorted(connection_id for connection_id, _ in poster.sent) == ["all", "mine"]
    frame = json.loads(poster.sent[0][1])
    assert (frame["type"], frame["alert"]["alert_id"]) == ("alert", SAMPLE_ALERT_ID)
    assert delivery_app.connections.get("gone") is None and delivery_app.connections.get("other") is not None

    class Failing:
        def post(self, connection_id: str, data: bytes) -> bool:
            raise StoreUnavailableError("management API down")

    monkeypatch.setattr(delivery_app, "connections_api", Failing())
    assert _invoke(delivery_app, event) == {"batchItemFailures": []}
