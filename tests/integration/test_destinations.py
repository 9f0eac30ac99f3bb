"""Alert destinations end to end over real HTTP: an alert posted to the local webhook is stored, flows on
the alerts table's stream to the delivery function (the template's filter, batch and retry rules), and
reaches local fakes of Discord, Slack, Telegram and a webhook receiver; the EventBridge bus gets its
event. In-process, so tests can script the fakes' answers and inject AWS faults."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import httpx
import jsonschema
import pytest
import yaml
from aws_lambda_powertools.utilities import parameters
from moto.events.models import EventPattern
from standardwebhooks.webhooks import Webhook

from arrowhook.delivery.admin import REPORT_HIDE_SECONDS
from arrowhook_tools.cli.samples import strategy_alert
from arrowhook_tools.local.stack import LocalStack
from arrowhook_tools.local.template import LOCAL_REGION, PROJECT_ROOT
from arrowhook_tools.standins.embedded_aws import dynamodb
from arrowhook_tools.standins.receivers import Receivers, Scripted, Silent
from tests.integration.conftest import ARRIVAL_SECONDS, Strategy, in_process_stack, settled


@pytest.fixture(scope="module")
def running(receivers: Receivers) -> Iterator[LocalStack]:
    overrides = {
        "AllowHttpDestinations": "true",
        "TelegramApiUrl": f"{receivers.url}/telegram",
        "EventBus": "on",
        "AlertEmail": "ops@example.test",
    }
    with in_process_stack(overrides) as stack:
        yield stack


@pytest.fixture
def strategy(admin: httpx.Client, receivers: Receivers) -> Strategy:
    return Strategy(admin, receivers)


def _attempted(attempts: int) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda found: bool(found) and found[0]["attempts"] >= attempts


def test_each_kind_receives_one_correctly_formatted_and_signed_message(
    stack: LocalStack, strategy: Strategy, receivers: Receivers
) -> None:
    strategy.destination("discord")
    strategy.destination("slack")
    strategy.destination("telegram")
    signing_secret = strategy.destination("webhook")["signing_secret"]
    alert_id = strategy.send(stack, ticker="ETHUSDT", price="3500.25")

    records = strategy.deliveries(alert_id, settled(4))
    assert sorted((item["kind"], item["status"], item["attempts"]) for item in records) == [
        ("discord", "delivered", 1),
        ("slack", "delivered", 1),
        ("telegram", "delivered", 1),
        ("webhook", "delivered", 1),
    ]
    assert all(item["latency_ms"] >= 0 for item in records)
    (discord,) = receivers.at(strategy.path("discord"))
    (slack,) = receivers.at(strategy.path("slack"))
    (telegram,) = receivers.at(strategy.path("telegram"))
    (hook,) = receivers.at(strategy.path("webhook"))
    assert discord.path.endswith("?wait=true")
    assert f"**{strategy.name}** buy ETHUSDT @ 3500.25" in discord.json()["content"]
    assert slack.json()["text"].startswith(f"{strategy.name}: buy ETHUSDT @ 3500.25")
    assert telegram.json()["text"].startswith(f"<b>{strategy.name}</b> buy ETHUSDT @ 3500.25")
    assert telegram.json()["chat_id"] == "-100123"
    event = Webhook(signing_secret).verify(hook.body, hook.headers)
    assert event["type"] == "alert.stored"
    assert (event["data"]["alert_id"], event["data"]["price"]) == (alert_id, "3500.25")
    hook_record = next(item for item in records if item["kind"] == "webhook")
    assert hook.headers["webhook-id"] == f"msg_{alert_id}_{hook_record['destination_id']}"


def test_a_repeated_alert_is_forwarded_once(stack: LocalStack, strategy: Strategy, receivers: Receivers) -> None:
    """The same body twice: stored once, answered as a duplicate, and forwarded once through the stream
    consumers (the delivery function and the bus). A later alert is the fence: the stream keeps order,
    so once it has arrived anything the repeat caused would have arrived before it."""
    assert stack.api is not None
    strategy.destination("webhook")
    body = json.loads(strategy_alert(strategy.secret))
    body["order_id"] = f"repeat-{strategy.tag}"
    first = httpx.post(f"{stack.api.url}/webhook", json=body, timeout=30).json()
    repeat = httpx.post(f"{stack.api.url}/webhook", json=body, timeout=30).json()
    assert (first["duplicate"], repeat["duplicate"], repeat["alert_id"]) == (False, True, first["alert_id"])
    fence = strategy.send(stack, order_id=f"fence-{strategy.tag}")
    received = receivers.wait_for(strategy.path("webhook"), count=2, timeout=ARRIVAL_SECONDS)
    forwarded = [item.json()["data"]["alert_id"] for item in receivers.at(strategy.path("webhook"))]
    assert [item.json()["data"]["alert_id"] for item in received] == forwarded == [first["alert_id"], fence]


def test_a_destination_answering_500_then_200_gets_the_alert_once_delivered(
    stack: LocalStack, strategy: Strategy, receivers: Receivers
) -> None:
    receivers.script(strategy.path("webhook"), Scripted(500, "try later"))
    strategy.destination("webhook")
    alert_id = strategy.send(stack)
    (record,) = strategy.deliveries(alert_id, settled(1))
    assert (record["status"], record["attempts"], record["last_status_code"]) == ("delivered", 2, 204)
    first, second = receivers.at(strategy.path("webhook"))
    assert first.headers["webhook-id"] == second.headers["webhook-id"], "receivers can drop the repeat"


def test_a_429_with_retry_after_is_retried_after_the_delay_it_asks(
    stack: LocalStack, strategy: Strategy, receivers: Receivers
) -> None:
    """Retry-After: 20 is longer than the schedule's first wait (5 s): the lane waits 20 s (the embedded
    SQS clock jumps them), then delivers."""
    receivers.script(strategy.path("discord"), Scripted(429, '{"retry_after": 20}', {"Retry-After": "20"}))
    strategy.destination("discord")
    hidden = _hidden(stack)
    alert_id = strategy.send(stack)
    (waiting,) = strategy.deliveries(alert_id, _attempted(1))
    assert (waiting["status"], waiting["last_status_code"]) == ("pending", 429)
    planned = datetime.fromisoformat(waiting["next_attempt_at"]) - datetime.fromisoformat(waiting["updated_at"])
    assert 20 <= planned.total_seconds() <= 21, planned
    assert len(receivers.at(strategy.path("discord"))) == 1, "nothing before the 20 s"
    _advance_once_hidden(stack, hidden + 1, 21)
    (record,) = strategy.deliveries(alert_id, settled(1))
    assert (record["status"], record["attempts"]) == ("delivered", 2)


def test_a_hanging_destination_delays_only_its_own_lane(
    stack: LocalStack, strategy: Strategy, admin: httpx.Client, receivers: Receivers
) -> None:
    """One strategy's destination accepts the connection and never answers; another strategy's alert,
    sent after it, is delivered while the sender still waits on the first (its timeout is 10 s)."""
    silent = Silent().start()
    try:
        stuck = Strategy(admin, receivers)
        stuck.destination("webhook", url=f"{silent.url}/hook/{stuck.tag}", timeout_seconds=10)
        held_id = stuck.send(stack)
        assert silent.wait_for_connection(ARRIVAL_SECONDS), "the sender tried the hanging destination"
        strategy.destination("webhook")
        alert_id = strategy.send(stack)
        (record,) = strategy.deliveries(alert_id, settled(1))
        assert record["status"] == "delivered"
        (arrived,) = receivers.at(strategy.path("webhook"))
        first_wait = silent.connections[0]
        assert first_wait[1] is None or arrived.at < first_wait[1], "it did not wait for the hanging one"
        (waiting,) = stuck.deliveries(held_id, bool)
        assert waiting["status"] == "pending"
    finally:
        silent.stop()


def test_a_destination_down_for_minutes_gets_every_alert_once_in_order(
    stack: LocalStack, strategy: Strategy, receivers: Receivers
) -> None:
    """Down for two attempts (about 5 minutes by the schedule): the first alert waits, the two behind it
    wait in their lane; then all three arrive, each once, in the order they were sent."""
    receivers.script(strategy.path("webhook"), Scripted(503, "down"), Scripted(503, "down"))
    strategy.destination("webhook")
    hidden = _hidden(stack)
    sent = [strategy.send(stack, order_id=f"order-{number}-{strategy.tag}") for number in range(3)]
    strategy.deliveries(sent[0], _attempted(1))
    _advance_once_hidden(stack, hidden + 1, 7)  # the first wait: 5 s, jittered by up to a fifth
    strategy.deliveries(sent[0], _attempted(2))
    _advance_once_hidden(stack, hidden + 2, 361)  # the second: 5 minutes
    for alert_id in sent:
        (record,) = strategy.deliveries(alert_id, settled(1))
        assert record["status"] == "delivered", record
    arrived = [item.json()["data"]["alert_id"] for item in receivers.at(strategy.path("webhook"))]
    assert arrived == [sent[0], sent[0], sent[0], sent[1], sent[2]]


def test_a_destination_that_keeps_refusing_is_paused_and_redriven_once_resumed(
    stack: LocalStack, strategy: Strategy, admin: httpx.Client, receivers: Receivers
) -> None:
    """404 five times in a row (PauseAfterRefusals): paused, its alert held, the next one held without a
    request; enabled again and redriven, both arrive in order, with the message ids they had."""
    receivers.script(strategy.path("webhook"), *[Scripted(404, "no such hook")] * 5)
    destination = strategy.destination("webhook")
    hidden = _hidden(stack)
    first = strategy.send(stack, order_id=f"first-{strategy.tag}")
    for attempt in range(1, 5):
        strategy.deliveries(first, _attempted(attempt))
        _advance_once_hidden(stack, hidden + attempt, 12 * 3600)
    (held,) = strategy.deliveries(first, settled(1))
    assert (held["status"], held["attempts"]) == ("held", 5)
    assert held["last_error"] == "held: paused after 5 refusals in a row (last: HTTP 404)"
    paused = admin.get(f"/destinations/{destination['id']}").json()
    assert (paused["enabled"], paused["paused_reason"]) == (False, "paused after 5 refusals in a row (last: HTTP 404)")
    second = strategy.send(stack, order_id=f"second-{strategy.tag}")
    assert [item["status"] for item in strategy.deliveries(second, settled(1))] == ["held"]
    assert len(receivers.at(strategy.path("webhook"))) == 5, "nothing is sent to a paused destination"

    listed = admin.get("/deliveries/unsent", params={"destination_id": destination["id"]}).json()["items"]
    assert [item["alert_id"] for item in listed] == [first, second]
    assert admin.patch(f"/destinations/{destination['id']}", json={"enabled": True}).json()["paused_reason"] is None
    redriven = admin.post("/deliveries/redrive", json={"destination_id": destination["id"]}).json()
    assert redriven["redriven"] == 2
    for alert_id in (first, second):
        assert [item["status"] for item in strategy.deliveries(alert_id, settled(1))] == ["delivered"]
    requests = receivers.at(strategy.path("webhook"))
    assert [item.json()["data"]["alert_id"] for item in requests[5:]] == [first, second]
    assert requests[5].headers["webhook-id"] == requests[0].headers["webhook-id"]


def test_an_outage_of_ours_is_retried_without_counting_against_the_destination(
    stack: LocalStack, strategy: Strategy, receivers: Receivers
) -> None:
    """SSM answers nothing for two minutes (the destination's secret cannot be read): the lane's message
    waits on the schedule; once SSM is back it is delivered, one attempt, nothing lost."""
    destination = strategy.destination("webhook")
    hidden_before = _hidden(stack)
    outage = stack.aws.inject("GetParameter", error="InternalServerError", status=500, times=-1)
    try:
        alert_id = strategy.send(stack)
        first_try = _until(lambda: outage.served, ARRIVAL_SECONDS)
        assert first_try, "the sender tried to read the secret"
        assert _until(lambda: _hidden(stack) > hidden_before, ARRIVAL_SECONDS), "and hid the message until later"
        stack.aws.advance(7)  # the schedule's first wait
        assert _until(lambda: outage.served > first_try, ARRIVAL_SECONDS), "and tried again"
        # The try ends (its own retries of SSM spent) before SSM is back: the clock jumps below would
        # otherwise also reveal a message still in flight, as SQS would once its visibility timeout ran out.
        assert _until(lambda: _hidden(stack) > hidden_before + 1, ARRIVAL_SECONDS), "and hid it again"
    finally:
        stack.aws.clear_faults()  # two minutes in, SSM is back; the next try is the schedule's 5 minutes
    assert _delivery_item(stack, alert_id, destination["id"])["status"] == "pending"
    stack.aws.advance(361)
    (record,) = strategy.deliveries(alert_id, settled(1))
    assert (record["status"], record["attempts"]) == ("delivered", 1)
    assert len(receivers.at(strategy.path("webhook"))) == 1


def _hidden(stack: LocalStack) -> int:
    """How many times a lane message was hidden until its next attempt (ChangeMessageVisibility)."""
    return stack.aws.calls.get("ChangeMessageVisibility", 0)


def _advance_once_hidden(stack: LocalStack, hides: int, seconds: float) -> None:
    """Jump the SQS clock once the attempt in flight has ended by hiding its message (the `hides`-th
    time): a jump while it is still in flight would also reveal it, as SQS does once a visibility
    timeout runs out, and the attempt would be made twice."""
    assert _until(lambda: _hidden(stack) >= hides, ARRIVAL_SECONDS), "the attempt hid its message"
    stack.aws.advance(seconds)


def _until(check: Callable[[], int], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while not (found := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def _delivery_item(stack: LocalStack, alert_id: str, destination_id: str) -> dict[str, Any]:
    """Read from the table itself: the admin API's authorizer reads SSM too, which is down."""
    table = stack.template.physical_name("DeliveriesTable")
    item = dynamodb(stack.aws.endpoint).get_item(
        TableName=table, Key={"alert_id": {"S": alert_id}, "destination_id": {"S": destination_id}}
    )["Item"]
    return {name: next(iter(value.values())) for name, value in item.items()}


def test_a_destination_down_for_good_ends_failed_in_the_failure_queue(
    stack: LocalStack, strategy: Strategy, receivers: Receivers
) -> None:
    receivers.script(strategy.path("slack"), *[Scripted(503, "down")] * 8)
    destination = strategy.destination("slack")
    hidden = _hidden(stack)
    alert_id = strategy.send(stack)
    for attempt in range(1, 8):  # Svix's schedule, about 27 hours: the embedded SQS clock jumps each wait
        strategy.deliveries(alert_id, _attempted(attempt))
        _advance_once_hidden(stack, hidden + attempt, 12 * 3600)
    (record,) = strategy.deliveries(alert_id, settled(1))
    assert (record["status"], record["attempts"], record["last_error"]) == ("failed", 8, "HTTP 503: down")
    sqs = boto3.client("sqs", endpoint_url=stack.aws.endpoint, region_name=LOCAL_REGION)
    queue = sqs.get_queue_url(QueueName=stack.template.physical_name("DeliveryFailureQueue"))["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
    assert int(attributes["Attributes"]["ApproximateNumberOfMessages"]) >= 1, "the alarm's metric moves"
    reports = []
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        reports += [json.loads(message["Body"]) for message in messages]
    mine = [report for report in reports if report.get("alert_id") == alert_id]
    assert len(mine) == 1 and mine[0]["destination_id"] == destination["id"] and mine[0]["status"] == "failed"


def test_a_send_whose_record_cannot_be_written_is_sent_again_with_the_same_webhook_id(
    stack: LocalStack, strategy: Strategy, receivers: Receivers
) -> None:
    """The destination is sent to, then recording it fails (DynamoDB refuses past the SDK's retries): the
    lane retries the message on the schedule. It is sent again (at least once), with the same webhook-id,
    and then recorded; nothing is lost."""
    hook = strategy.destination("webhook", name=f"b-{strategy.tag}", url=f"{receivers.url}/hook/b-{strategy.tag}")
    crashed: list[bool] = []

    def crash_when_sent(received: Any) -> None:
        if received.path.startswith(f"/hook/b-{strategy.tag}") and not crashed:
            crashed.append(True)
            stack.aws.inject("PutItem", error="InternalServerError", status=500, times=3)

    receivers.on_receive = crash_when_sent
    try:
        hidden = _hidden(stack)
        alert_id = strategy.send(stack)
        receivers.wait_for(f"/hook/b-{strategy.tag}", 1)
        _advance_once_hidden(stack, hidden + 1, 10)  # the schedule's first wait (5 s, jittered)
        records = strategy.deliveries(alert_id, settled(1))
    finally:
        receivers.on_receive = None
    assert crashed and {item["destination_id"]: item["status"] for item in records} == {hook["id"]: "delivered"}
    repeats = receivers.at(f"/hook/b-{strategy.tag}")
    assert len(repeats) == 2 and len({item.headers["webhook-id"] for item in repeats}) == 1
    assert repeats[0].body == repeats[1].body, "the same payload: a receiver's dedupe sees one message"


def test_hostile_alert_content_cannot_ping_or_break_formatting(
    stack: LocalStack, strategy: Strategy, receivers: Receivers
) -> None:
    strategy.destination("discord", template="{ticker} {comment}")
    strategy.destination("telegram", template="<b>{ticker}</b> {comment}")
    comment = "@everyone <b>**bold**</b> <@&123> [x](https://evil.test)"
    alert_id = strategy.send(stack, ticker="<i>X</i>", comment=comment)
    strategy.deliveries(alert_id, settled(2))
    content = receivers.at(strategy.path("discord"))[0].json()
    assert content["allowed_mentions"] == {"parse": []}
    assert "@everyone" not in content["content"] and "<@&123>" not in content["content"]
    assert "\\*\\*bold\\*\\*" in content["content"] and "\\[x\\]" in content["content"]
    text = receivers.at(strategy.path("telegram"))[0].json()["text"]
    assert (
        text
        == "<b>&lt;I&gt;X&lt;/I&gt;</b> @everyone &lt;b&gt;**bold**&lt;/b&gt; &lt;@&amp;123&gt; [x](https://evil.test)"
    )


def test_other_strategies_and_disabled_destinations_get_nothing(
    stack: LocalStack, strategy: Strategy, admin: httpx.Client, receivers: Receivers
) -> None:
    other = Strategy(admin, receivers)
    strategy.destination("slack")
    disabled = other.destination("discord")
    assert admin.patch(f"/destinations/{disabled['id']}", json={"enabled": False}).status_code == 200
    strategy.deliveries(strategy.send(stack), settled(1))
    assert other.deliveries(other.send(stack), lambda found: True) == []
    assert receivers.at(other.path("discord")) == []


def test_email_goes_through_the_alert_email_topic(stack: LocalStack, strategy: Strategy) -> None:
    strategy.destination("email")
    (record,) = strategy.deliveries(strategy.send(stack), settled(1))
    assert (record["kind"], record["status"]) == ("email", "delivered")


def test_the_event_bus_gets_an_alert_stored_event_matching_the_schema(stack: LocalStack, strategy: Strategy) -> None:
    events = boto3.client("events", endpoint_url=stack.aws.endpoint, region_name=LOCAL_REGION)
    sqs = boto3.client("sqs", endpoint_url=stack.aws.endpoint, region_name=LOCAL_REGION)
    queue = sqs.create_queue(QueueName=f"rule-target-{strategy.tag}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = f"{stack.template.stack_name}-alerts"
    rule = f"mine-{strategy.tag}"
    pattern = {"source": ["arrowhook"], "detail-type": ["Alert Stored"], "detail": {"strategy": [strategy.name]}}
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])

    alert_id = strategy.send(stack, ticker="SOLUSDT")
    test_id = strategy.send(stack, ticker="ARROWHOOK-TEST", test=True)
    deadline = time.monotonic() + ARRIVAL_SECONDS
    received: list[dict[str, Any]] = []
    while len(received) < 2 and time.monotonic() < deadline:
        received += sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", [])
    events = {event["detail"]["alert_id"]: event for event in (json.loads(message["Body"]) for message in received)}
    assert sorted(events) == sorted([alert_id, test_id])
    schema = json.loads((PROJECT_ROOT / "docs/schemas/alert-stored.schema.json").read_text())
    for event in events.values():
        jsonschema.validate(event, schema)
    assert events[alert_id]["detail"]["alert"]["ticker"] == {"S": "SOLUSDT"}
    assert "test" not in events[alert_id]["detail"]["alert"]
    assert events[test_id]["detail"]["alert"]["test"] == {"BOOL": True}, "a rule can keep test alerts from a bot"
    readme_rule = re.search(r"EventPattern: (\{.*\})$", (PROJECT_ROOT / "README.md").read_text(), re.MULTILINE)
    assert readme_rule is not None
    pattern = yaml.safe_load(readme_rule.group(1))
    pattern["detail"]["strategy"] = [strategy.name]
    matcher = EventPattern.load(json.dumps(pattern))
    assert matcher.matches_event(events[alert_id]) and not matcher.matches_event(events[test_id]), "README's rule"


def test_destination_secrets_never_reach_a_log_line(
    stack: LocalStack,
    strategy: Strategy,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    strategy.destination("discord")
    strategy.destination("telegram")
    strategy.deliveries(strategy.send(stack), settled(2))
    printed = capfd.readouterr()
    logged = [json.dumps(record.__dict__, default=str) for record in caplog.records]
    assert any('"destination_id"' in line for line in logged), "the delivery function's log lines were captured"
    assert strategy.tag not in printed.out + printed.err + "".join(logged), "URL and bot tokens stay out of logs"


def test_destination_api_validates_masks_and_tests(
    stack: LocalStack, strategy: Strategy, admin: httpx.Client, receivers: Receivers
) -> None:
    bad = admin.post("/destinations", json={"kind": "discord", "url": strategy.url("discord"), "template": "{x.y}"})
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_destination")
    unknown = admin.post("/destinations", json={"kind": "slack", "url": strategy.url("slack"), "strategies": ["nope"]})
    assert unknown.status_code == 400 and "nope" in unknown.json()["message"]
    created = strategy.destination("discord")
    listed = admin.get("/destinations").json()["items"]
    shown = json.dumps([created, admin.get(f"/destinations/{created['id']}").json(), listed])
    assert strategy.tag not in shown.replace(created["name"], ""), "the URL's token is never returned"
    tested = admin.post(f"/destinations/{created['id']}/test")
    assert tested.status_code == 200 and tested.json()["ok"] is True and tested.json()["status_code"] == 200
    assert "BTCUSDT" in receivers.at(strategy.path("discord"))[-1].json()["content"]
    receivers.script(strategy.path("discord"), Scripted(404, "<html>internal admin page: token=abc</html>"))
    refused = admin.post(f"/destinations/{created['id']}/test").json()
    assert refused == {"ok": False, "status_code": 404, "answer": "HTTP 404 Not Found"}, "a status, never the body"
    assert admin.delete(f"/destinations/{created['id']}").status_code == 204
    assert admin.get(f"/destinations/{created['id']}").status_code == 404
    assert admin.post(f"/destinations/{created['id']}/test").status_code == 404


def test_the_schema_file_is_valid_json_schema() -> None:
    schema = json.loads(Path(PROJECT_ROOT / "docs/schemas/alert-stored.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)


def test_a_changed_url_is_used_by_the_next_test_at_once(
    stack: LocalStack, strategy: Strategy, admin: httpx.Client, receivers: Receivers
) -> None:
    created = strategy.destination("webhook")
    assert admin.post(f"/destinations/{created['id']}/test").json()["ok"] is True
    moved = f"{receivers.url}/hook/moved-{strategy.tag}"
    assert admin.patch(f"/destinations/{created['id']}", json={"url": moved}).status_code == 200
    assert admin.post(f"/destinations/{created['id']}/test").json()["ok"] is True
    assert len(receivers.at(strategy.path("webhook"))) == 1 and len(receivers.at(f"/hook/moved-{strategy.tag}")) == 1


def test_a_rotated_signing_secret_signs_beside_the_old_one_during_its_grace(
    stack: LocalStack, strategy: Strategy, admin: httpx.Client, receivers: Receivers
) -> None:
    """A receiver verifying with either secret accepts every message while it switches (Standard Webhooks'
    multiple signatures); without a grace, only the new one signs."""
    created = strategy.destination("webhook")
    rotated = admin.post(f"/destinations/{created['id']}/rotate-secret", json={"grace_seconds": 3600})
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["signing_secret"]
    assert new_secret.startswith("whsec_") and new_secret != created["signing_secret"]
    assert new_secret not in admin.get(f"/destinations/{created['id']}").text, "shown once"
    strategy.send(stack, order_id=f"during-{strategy.tag}")
    (during,) = receivers.wait_for(strategy.path("webhook"), count=1, timeout=ARRIVAL_SECONDS)
    for secret in (created["signing_secret"], new_secret):
        assert Webhook(secret).verify(during.body, during.headers)["type"] == "alert.stored"
    assert admin.post(f"/destinations/{created['id']}/rotate-secret", json={"grace_seconds": 0}).status_code == 200
    newest = admin.post(f"/destinations/{created['id']}/rotate-secret", json={"grace_seconds": 0}).json()
    parameters.clear_caches()  # type: ignore[no-untyped-call]  # the delivery function's 60 s secret cache, run out
    strategy.send(stack, order_id=f"after-{strategy.tag}")
    after = receivers.wait_for(strategy.path("webhook"), count=2, timeout=ARRIVAL_SECONDS)[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    Webhook(newest["signing_secret"]).verify(after.body, after.headers)
    discord = strategy.destination("discord")
    assert admin.post(f"/destinations/{discord['id']}/rotate-secret").status_code == 400


def test_a_body_at_the_size_limit_is_forwarded_and_its_bus_event_fits(
    stack: LocalStack, strategy: Strategy, receivers: Receivers
) -> None:
    """Entries of 393,954 bytes went to PutEvents (its limit is 256 KB) and the Pipe had no dead-letter
    queue. A large body is kept once, compressed: the event carries it as `payload_gz`."""
    assert stack.api is not None
    strategy.destination("webhook")
    events = boto3.client("events", endpoint_url=stack.aws.endpoint, region_name=LOCAL_REGION)
    sqs = boto3.client("sqs", endpoint_url=stack.aws.endpoint, region_name=LOCAL_REGION)
    queue = sqs.create_queue(QueueName=f"big-{strategy.tag}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = f"{stack.template.stack_name}-alerts"
    pattern = {"source": ["arrowhook"], "detail": {"strategy": [strategy.name]}}
    events.put_rule(Name=f"big-{strategy.tag}", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=f"big-{strategy.tag}", EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}])
    head = json.loads(strategy_alert(strategy.secret))
    limit = int(stack.template.parameters["MaxBodyBytes"])
    filler = "\\u0001" * ((limit - len(json.dumps({**head, "note": ""}))) // 6)  # each escapes to 6 bytes again
    body = json.dumps({**head, "note": ""}).replace('"note": ""', f'"note": "{filler}"').encode()
    assert limit - 6 < len(body) <= limit
    answer = httpx.post(
        f"{stack.api.url}/webhook", content=body, headers={"Content-Type": "application/json"}, timeout=60
    )
    assert answer.status_code == 200, answer.text
    (forwarded,) = receivers.wait_for(strategy.path("webhook"), timeout=ARRIVAL_SECONDS)
    assert forwarded.json()["data"]["alert_id"] == answer.json()["alert_id"]
    deadline = time.monotonic() + ARRIVAL_SECONDS
    received: list[dict[str, Any]] = []
    while not received and time.monotonic() < deadline:
        received = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
    (message,) = received
    assert len(message["Body"].encode()) < 256 * 1024
    event = json.loads(message["Body"])
    jsonschema.validate(event, json.loads((PROJECT_ROOT / "docs/schemas/alert-stored.schema.json").read_text()))
    assert "payload_gz" in event["detail"]["alert"] and "payload" not in event["detail"]["alert"]


def test_a_redrive_from_the_failure_queue_sends_what_it_names_and_clears_it(
    stack: LocalStack, strategy: Strategy, admin: httpx.Client, receivers: Receivers
) -> None:
    """Last in the module: it takes every report of the module's failure queue. A 400 fails at once and is
    reported; the dry run lists it and removes nothing; the redrive sends it again, same message id, and
    removes the report."""
    receivers.script(strategy.path("webhook"), Scripted(400, "bad request"))
    destination = strategy.destination("webhook")
    alert_id = strategy.send(stack)
    (failed,) = strategy.deliveries(alert_id, settled(1))
    assert failed["status"] == "failed"
    mine = (alert_id, destination["id"])

    dry = admin.post("/deliveries/redrive", json={"failure_queue": True, "dry_run": True}).json()
    assert mine in {(item["alert_id"], item["destination_id"]) for item in dry["items"]}
    assert (dry["redriven"], dry["acknowledged"]) == (0, 0)
    both = admin.post("/deliveries/redrive", json={"failure_queue": True, "strategy": strategy.name})
    assert both.status_code == 400 and "failure_queue" in both.json()["message"]

    done = admin.post("/deliveries/redrive", json={"failure_queue": True}).json()
    assert mine in {(item["alert_id"], item["destination_id"]) for item in done["items"]}
    assert done["acknowledged"] >= 1
    (record,) = strategy.deliveries(alert_id, settled(1))
    assert record["status"] == "delivered"
    first, again = receivers.at(strategy.path("webhook"))
    assert first.headers["webhook-id"] == again.headers["webhook-id"]
    sqs = boto3.client("sqs", endpoint_url=stack.aws.endpoint, region_name=LOCAL_REGION)
    queue = sqs.get_queue_url(QueueName=stack.template.physical_name("DeliveryFailureQueue"))["QueueUrl"]
    stack.aws.advance(REPORT_HIDE_SECONDS + 1)  # a report read but not removed would be back by now
    left = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    assert not [message for message in left if alert_id in message["Body"]], "its report was removed"
