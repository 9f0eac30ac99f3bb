"""Alert destinations end to end over real HTTP: an alert posted to the local webhook is stored, flows on
the alerts table's stream to the delivery function (the template's filter, batch and retry rules), and
reaches local fakes of Discord, Slack, Telegram and a webhook receiver; the EventBridge bus gets its
event. In-process, so tests can script the fakes' answers and inject AWS faults."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
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

from arrowhook_tools.local import LocalStack
from arrowhook_tools.receivers import Receivers, Scripted
from arrowhook_tools.samples import strategy_alert
from arrowhook_tools.template import LOCAL_REGION, PROJECT_ROOT
from tests.integration.conftest import ARRIVAL_SECONDS, Strategy, in_process_stack


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


def _settled(count: int) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda found: len(found) == count and all(item["status"] != "pending" for item in found)


def test_each_kind_receives_one_correctly_formatted_and_signed_message(
    stack: LocalStack, strategy: Strategy, receivers: Receivers
) -> None:
    strategy.destination("discord")
    strategy.destination("slack")
    strategy.destination("telegram")
    signing_secret = strategy.destination("webhook")["signing_secret"]
    alert_id = strategy.send(stack, ticker="ETHUSDT", price="3500.25")

    records = strategy.deliveries(alert_id, _settled(4))
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
    (record,) = strategy.deliveries(alert_id, _settled(1))
    assert (record["status"], record["attempts"], record["last_status_code"]) == ("delivered", 2, 204)
    first, second = receivers.at(strategy.path("webhook"))
    assert first.headers["webhook-id"] == second.headers["webhook-id"], "receivers can drop the repeat"


def test_a_429_with_retry_after_is_retried_after_the_delay(
    stack: LocalStack, strategy: Strategy, receivers: Receivers
) -> None:
    receivers.script(strategy.path("discord"), Scripted(429, '{"retry_after": 1.5}', {"Retry-After": "1.5"}))
    strategy.destination("discord")
    alert_id = strategy.send(stack)
    (record,) = strategy.deliveries(alert_id, _settled(1))
    assert (record["status"], record["attempts"]) == ("delivered", 2)
    first, second = receivers.at(strategy.path("discord"))
    assert second.at - first.at >= 1.5


def test_a_destination_down_for_good_ends_failed_in_the_failure_queue(
    stack: LocalStack, strategy: Strategy, receivers: Receivers
) -> None:
    receivers.script(strategy.path("slack"), *[Scripted(503, "down")] * 4)
    destination = strategy.destination("slack")
    alert_id = strategy.send(stack)
    (record,) = strategy.deliveries(alert_id, _settled(1))
    assert (record["status"], record["attempts"], record["last_error"]) == ("failed", 4, "HTTP 503: down")
    sqs = boto3.client("sqs", endpoint_url=stack.aws.endpoint, region_name=LOCAL_REGION)
    queue = sqs.get_queue_url(QueueName=stack.template.physical_name("DeliveryFailureQueue"))["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
    assert int(attributes["Attributes"]["ApproximateNumberOfMessages"]) >= 1, "the alarm's metric moves"
    reports = []
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        reports += [json.loads(message["Body"]) for message in messages]
    mine = [report for report in reports if report.get("alert_id") == alert_id]
    assert len(mine) == 1 and mine[0]["destination_id"] == destination["id"] and mine[0]["status"] == "failed"


def test_a_batch_retried_after_a_crash_resends_nothing_that_was_delivered(
    stack: LocalStack, strategy: Strategy, receivers: Receivers
) -> None:
    """The first destination is delivered and recorded; the second is sent, then recording it fails
    (DynamoDB refuses past the SDK's retries): the stream retries the alert. The first is not sent again;
    the second is (at least once), with the same webhook-id."""
    first = strategy.destination("webhook", name=f"a-{strategy.tag}", url=f"{receivers.url}/hook/a-{strategy.tag}")
    second = strategy.destination("webhook", name=f"b-{strategy.tag}", url=f"{receivers.url}/hook/b-{strategy.tag}")
    crashed: list[bool] = []

    def crash_when_second_is_sent(received: Any) -> None:
        if received.path.startswith(f"/hook/b-{strategy.tag}") and not crashed:
            crashed.append(True)
            stack.aws.inject("PutItem", error="InternalServerError", status=500, times=3)

    receivers.on_receive = crash_when_second_is_sent
    try:
        alert_id = strategy.send(stack)
        records = strategy.deliveries(alert_id, _settled(2))
    finally:
        receivers.on_receive = None
    assert crashed and {item["destination_id"]: item["status"] for item in records} == {
        first["id"]: "delivered",
        second["id"]: "delivered",
    }
    assert len(receivers.at(f"/hook/a-{strategy.tag}")) == 1, "delivered and recorded: never sent again"
    repeats = receivers.at(f"/hook/b-{strategy.tag}")
    assert len(repeats) == 2 and len({item.headers["webhook-id"] for item in repeats}) == 1


def test_hostile_alert_content_cannot_ping_or_break_formatting(
    stack: LocalStack, strategy: Strategy, receivers: Receivers
) -> None:
    strategy.destination("discord", template="{ticker} {comment}")
    strategy.destination("telegram", template="<b>{ticker}</b> {comment}")
    comment = "@everyone <b>**bold**</b> <@&123> [x](https://evil.test)"
    alert_id = strategy.send(stack, ticker="<i>X</i>", comment=comment)
    strategy.deliveries(alert_id, _settled(2))
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
    strategy.deliveries(strategy.send(stack), _settled(1))
    assert other.deliveries(other.send(stack), lambda found: True) == []
    assert receivers.at(other.path("discord")) == []


def test_email_goes_through_the_alert_email_topic(stack: LocalStack, strategy: Strategy) -> None:
    strategy.destination("email")
    (record,) = strategy.deliveries(strategy.send(stack), _settled(1))
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
    strategy.deliveries(strategy.send(stack), _settled(2))
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
