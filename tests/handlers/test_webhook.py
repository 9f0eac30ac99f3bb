"""The webhook handler end to end inside moto: contract, every 4xx path, dedupe, secrecy."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from arrowhook.alerts.store import alert_from_item
from arrowhook.aws import health
from arrowhook.ingest.service import UNAUTHORIZED_MESSAGE
from arrowhook_tools.cli.samples import strategy_alert
from arrowhook_tools.local.stack import seed_demo_key
from arrowhook_tools.local.template import LocalTemplate
from arrowhook_tools.standins.gateway_routes import RouteTable
from tests.conftest import (
    SAMPLE_EVENT_STATUS,
    ApiResponse,
    Invoke,
    Strategy,
    alert_items,
    all_items,
    assert_granted,
    call_route,
    dynamodb_grants_needed,
    policy_allows,
    respond,
    sample_event,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def alert_event(secret: str, **overrides: Any) -> dict[str, Any]:
    """The sample strategy event of events/, carrying this secret (and field overrides) in its body."""
    event = sample_event("webhook-strategy-alert.json")
    event["body"] = strategy_alert(secret, **overrides)
    return event


def stored(aws: DynamoDBClient, template: LocalTemplate) -> list[Any]:
    return [alert_from_item(item) for item in alert_items(aws, template)]


def test_json_alert_is_stored_with_typed_fields(
    post: Invoke, strategy: Strategy, aws: DynamoDBClient, template: LocalTemplate
) -> None:
    response = post(strategy_alert(strategy.secret, comment="EMA cross"))
    assert response["status"] == 200
    assert response["json"]["status"] == "stored"
    assert response["json"]["duplicate"] is False
    [alert] = stored(aws, template)
    assert alert.alert_id == response["json"]["alert_id"]
    assert (alert.key_id, alert.strategy, alert.body_format) == (strategy.key.id, "ema-cross", "json")
    assert alert.fields.price == Decimal("65000.50")
    assert alert.fields.quantity == Decimal("0.015")
    assert alert.fields.side == "buy"
    assert alert.fields.comment == "EMA cross"
    assert alert.parse_issues == []
    assert alert.source_ip == "52.89.214.238"
    assert json.loads(alert.payload)["key"] == "***"


def test_plain_text_alert_with_path_token(
    post: Invoke, strategy: Strategy, aws: DynamoDBClient, template: LocalTemplate
) -> None:
    response = post("AAPL crossed 230.15", path=f"/webhook/{strategy.secret}", content_type="text/plain")
    assert response["status"] == 200
    [alert] = stored(aws, template)
    assert (alert.body_format, alert.payload, alert.parse_issues) == ("text", "AAPL crossed 230.15", [])


def test_path_token_with_json_body_parses_fields(
    post: Invoke, strategy: Strategy, aws: DynamoDBClient, template: LocalTemplate
) -> None:
    assert post('{"ticker": "ETHUSD", "action": "sell"}', path=f"/webhook/{strategy.secret}")["status"] == 200
    [alert] = stored(aws, template)
    assert (alert.fields.ticker, alert.fields.side) == ("ETHUSD", "sell")


@pytest.mark.parametrize("field", ["secret", "passphrase"])
def test_secret_aliases_authenticate(post: Invoke, strategy: Strategy, field: str) -> None:
    assert post(json.dumps({field: strategy.secret, "ticker": "X"}))["status"] == 200


def test_malformed_json_with_key_is_stored_raw_with_issue(
    post: Invoke, strategy: Strategy, aws: DynamoDBClient, template: LocalTemplate
) -> None:
    body = '{"key": "' + strategy.secret + '", "ticker": "BTCUSDT", "price": {{close}}, }'
    response = post(body, content_type="text/plain")
    assert response["status"] == 200
    [alert] = stored(aws, template)
    assert alert.body_format == "text"
    assert alert.payload == body.replace(strategy.secret, "***")
    assert alert.parse_issues[0].field == "body"
    assert "not valid JSON" in alert.parse_issues[0].problem


def test_placeholders_and_bad_values_stored_as_null_with_issues(
    post: Invoke, strategy: Strategy, aws: DynamoDBClient, template: LocalTemplate
) -> None:
    response = post(strategy_alert(strategy.secret, price="{{close}}", contracts="NaN", action=""))
    assert response["status"] == 200
    [alert] = stored(aws, template)
    assert (alert.fields.price, alert.fields.quantity, alert.fields.side) == (None, None, None)
    assert {issue.field for issue in alert.parse_issues} == {"price", "quantity", "side"}
    assert alert.fields.ticker == "BTCUSDT"


@pytest.mark.parametrize(
    "body",
    [
        '{"ticker": "BTCUSDT", "action": "buy"}',
        '{"key": "", "ticker": "BTCUSDT"}',
        '{"key": "ahk_not-a-real-key", "ticker": "BTCUSDT"}',
        '{"key": 12345}',
        "plain text without any key",
        json.dumps({"key": "k" * 5000}),
    ],
)
def test_missing_or_unknown_key_is_401_with_one_generic_message(
    post: Invoke, strategy: Strategy, body: str, aws: DynamoDBClient, template: LocalTemplate
) -> None:
    response = post(body)
    assert response["status"] == 401
    assert response["json"] == {"error": "unauthorized", "message": UNAUTHORIZED_MESSAGE}
    assert stored(aws, template) == []


def test_unknown_path_token_is_401(post: Invoke, strategy: Strategy) -> None:
    assert post("hello", path="/webhook/ahk_wrong", content_type="text/plain")["status"] == 401


def _set_auth(aws: DynamoDBClient, template: LocalTemplate, strategy: Strategy, **changes: Any) -> None:
    from arrowhook.keys.credentials import hash_secret

    table = template.physical_name("KeysTable")
    key = {"pk": {"S": f"SECRET#{hash_secret(strategy.secret)}"}}
    auth = json.loads(aws.get_item(TableName=table, Key=key)["Item"]["auth"]["S"])
    auth.update(changes)
    aws.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #auth = :a",
        ExpressionAttributeNames={"#auth": "auth"},
        ExpressionAttributeValues={":a": {"S": json.dumps(auth)}},
    )


def test_disabled_key_is_401(post: Invoke, strategy: Strategy, aws: DynamoDBClient, template: LocalTemplate) -> None:
    _set_auth(aws, template, strategy, status="disabled")
    response = post(strategy_alert(strategy.secret))
    assert (response["status"], response["json"]["message"]) == (401, UNAUTHORIZED_MESSAGE)


def test_rotated_out_secret_past_its_grace_is_401(
    post: Invoke, strategy: Strategy, aws: DynamoDBClient, template: LocalTemplate
) -> None:
    _set_auth(aws, template, strategy, expires_at=1)
    assert post(strategy_alert(strategy.secret))["status"] == 401


def test_disabling_takes_effect_after_the_cache_ttl(
    post: Invoke,
    strategy: Strategy,
    aws: DynamoDBClient,
    template: LocalTemplate,
    webhook: ModuleType,
) -> None:
    assert post(strategy_alert(strategy.secret, n=1))["status"] == 200
    _set_auth(aws, template, strategy, status="disabled")
    assert post(strategy_alert(strategy.secret, n=2))["status"] == 200, "cached inside the TTL"
    webhook.keys._provider.clear_cache()  # what the TTL's expiry does
    assert post(strategy_alert(strategy.secret, n=3))["status"] == 401


def test_zero_cache_ttl_rejects_a_disabled_key_at_once(
    strategy: Strategy, aws: DynamoDBClient, template: LocalTemplate, cold_webhook: Callable[..., ModuleType]
) -> None:
    module = cold_webhook(KEY_CACHE_TTL_SECONDS="0")
    event = alert_event(strategy.secret)
    assert respond(module, event)["status"] == 200
    _set_auth(aws, template, strategy, status="disabled")
    event["body"] = strategy_alert(strategy.secret, n=2)
    assert respond(module, event)["status"] == 401


def test_empty_body_is_400(post: Invoke, strategy: Strategy) -> None:
    for body in ("", "   \n"):
        response = post(body)
        assert response["status"] == 400
        assert response["json"]["error"] == "empty_body"


def test_body_over_the_limit_is_413(
    post: Invoke, strategy: Strategy, aws: DynamoDBClient, template: LocalTemplate
) -> None:
    response = post(strategy_alert(strategy.secret, comment="x" * 70_000))
    assert response["status"] == 413
    assert response["json"]["error"] == "payload_too_large"
    assert stored(aws, template) == []


def _rejections_printed(text: str) -> list[tuple[str, str]]:
    """(reason, service) of every WebhookRejections record in the embedded-metric lines printed."""
    found = []
    for line in text.splitlines():
        if line.startswith('{"_aws"') and "WebhookRejections" in line:
            record = json.loads(line)
            [declared] = record["_aws"]["CloudWatchMetrics"]
            assert declared["Dimensions"] == [["service", "reason"]]
            found.append((record["reason"], record["service"]))
    return found


def test_each_refusal_is_counted_by_its_reason_beside_the_totals(
    post: Invoke, strategy: Strategy, webhook: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    """The overview reads refusals back by reason; AuthFailures and RejectedRequests keep their one dimension."""
    capsys.readouterr()
    answers = [
        post('{"key": "ahk_wrong", "ticker": "X"}')["json"]["error"],
        post("")["json"]["error"],
        post(strategy_alert(strategy.secret, comment="x" * 70_000))["json"]["error"],
    ]
    unknown_route = sample_event("webhook-strategy-alert.json")
    unknown_route["rawPath"] = unknown_route["requestContext"]["http"]["path"] = "/nope"
    unknown_route["routeKey"] = unknown_route["requestContext"]["routeKey"] = "POST /nope"
    answers.append(respond(webhook, unknown_route)["json"]["error"])
    post(strategy_alert(strategy.secret))  # stored: no refusal
    printed = capsys.readouterr().out
    assert _rejections_printed(printed) == [(reason, "arrowhook") for reason in answers]
    assert answers == ["unauthorized", "empty_body", "payload_too_large", "not_found"]
    assert '"AuthFailures":[1.0]' in printed and '"Dimensions":[["service"]]' in printed


def test_base64_body_from_api_gateway_is_decoded(
    webhook: ModuleType, strategy: Strategy, template: LocalTemplate, aws: DynamoDBClient
) -> None:
    event = sample_event("webhook-strategy-alert.json")
    event["body"] = base64.b64encode(strategy_alert(strategy.secret).encode()).decode()
    event["isBase64Encoded"] = True
    assert respond(webhook, event)["status"] == 200
    assert stored(aws, template)[0].fields.ticker == "BTCUSDT"


def test_invalid_base64_is_400(webhook: ModuleType, strategy: Strategy) -> None:
    event = sample_event("webhook-strategy-alert.json")
    event["body"], event["isBase64Encoded"] = "!!!not base64!!!", True
    response = respond(webhook, event)
    assert (response["status"], response["json"]["error"]) == (400, "bad_encoding")


def test_invalid_utf8_is_stored_with_issue(
    post: Invoke, strategy: Strategy, aws: DynamoDBClient, template: LocalTemplate
) -> None:
    body = b'{"key": "%s", "ticker": "BTCUSDT", "comment": "caf\xe9"}' % strategy.secret.encode()
    assert post(body)["status"] == 200
    [alert] = stored(aws, template)
    assert any("UTF-8" in issue.problem for issue in alert.parse_issues)


def test_lone_surrogates_are_stored_replaced_with_an_issue_never_a_503_forever(
    post: Invoke, strategy: Strategy, aws: DynamoDBClient, template: LocalTemplate
) -> None:
    """`"ticker": "\\ud800"` used to answer 503 "retry" on every delivery while storing nothing."""
    body = (
        f'{{"key": "{strategy.secret}", "ticker": "\\ud800", "comment": "a\\udc00b", '
        '"\\ud801name": ["\\ud802", 1], "ok": "\\ud83d\\ude80"}'
    )
    assert post(body.encode())["status"] == 200
    [alert] = stored(aws, template)
    assert alert.fields.ticker == "\ufffd" and alert.fields.comment == "a\ufffdb"
    assert alert.extra == {"\ufffdname": ["\ufffd", 1], "ok": "\U0001f680"}, "a valid surrogate pair is kept"
    assert any("surrogate" in issue.problem for issue in alert.parse_issues)
    assert strategy.secret not in alert.payload


def test_duplicate_delivery_is_stored_once(
    post: Invoke, strategy: Strategy, aws: DynamoDBClient, template: LocalTemplate
) -> None:
    first = post(strategy_alert(strategy.secret))
    second = post(strategy_alert(strategy.secret))
    assert first["json"]["duplicate"] is False
    assert second["status"] == 200
    assert second["json"] == {"status": "stored", "alert_id": first["json"]["alert_id"], "duplicate": True}
    assert len(stored(aws, template)) == 1
    third = post(strategy_alert(strategy.secret, price="65001"))
    assert third["json"]["duplicate"] is False
    assert len(stored(aws, template)) == 2


def test_a_repeated_delivery_is_listed_on_the_first_alert(
    post: Invoke, strategy: Strategy, aws: DynamoDBClient, template: LocalTemplate
) -> None:
    first = post(strategy_alert(strategy.secret))
    for _ in range(2):
        assert post(strategy_alert(strategy.secret))["json"]["duplicate"] is True
    [alert] = stored(aws, template)
    assert alert.alert_id == first["json"]["alert_id"]
    assert len(alert.duplicates) == 2 and len({repeat.request_id for repeat in alert.duplicates}) == 2
    assert all(repeat.received_at >= alert.received_at for repeat in alert.duplicates)


def test_the_list_of_repeats_is_bounded_and_never_recreates_an_archived_alert(
    aws: DynamoDBClient, template: LocalTemplate, strategy: Strategy
) -> None:
    from arrowhook.alerts.store import MAX_LISTED_DUPLICATES, AlertStore

    store = AlertStore(template.physical_name("AlertsTable"), client=aws)
    assert store.record_duplicate("gone", "2026-01-01T00:00:00.000Z", "r") is False
    assert all_items(aws, template.physical_name("AlertsTable")) == []
    alert = _text_alert(strategy)
    store.put(alert, "body", 60)
    answers = [store.record_duplicate(alert.alert_id, "2026-01-01T00:00:00.000Z", f"r{n}") for n in range(60)]
    assert answers == [True] * MAX_LISTED_DUPLICATES + [False] * (60 - MAX_LISTED_DUPLICATES)
    assert store.record_duplicate(alert.alert_id, "2026-01-01T00:00:00.000Z", "r0") is False, "full"
    found = store.get(alert.alert_id)
    assert found is not None and len(found.duplicates) == MAX_LISTED_DUPLICATES


def test_a_repeat_is_listed_by_the_call_that_finds_its_first_alert_stored(
    aws: DynamoDBClient, template: LocalTemplate, strategy: Strategy
) -> None:
    """The duplicate answer makes two calls, as the transaction did (with its listing): the refused
    marker, and the listing on the first alert, whose condition (the alert exists) is the check that a
    marker's alert was stored. So the listing costs no extra time and is never skipped."""
    from datetime import UTC, datetime, timedelta

    from arrowhook.alerts.store import AlertStore
    from arrowhook.core.settings import WebhookSettings
    from arrowhook.ingest.service import IncomingAlert, ingest_alert
    from arrowhook.keys.resolver import KeyResolver

    store = AlertStore(template.physical_name("AlertsTable"), client=aws)
    settings = WebhookSettings.model_validate(
        {"KEYS_TABLE_NAME": template.physical_name("KeysTable"), "ALERTS_TABLE_NAME": store.table_name}
    )
    keys = KeyResolver(settings.keys_table_name, ttl_seconds=60)
    body, received = strategy_alert(strategy.secret).encode(), datetime(2026, 11, 23, tzinfo=UTC)
    first = ingest_alert(IncomingAlert(body=body, received_at=received, request_id="r0"), settings, keys, store)
    calls: list[str] = []
    aws.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    for number in (1, 2):
        repeat = IncomingAlert(body=body, received_at=received + timedelta(seconds=number), request_id=f"r{number}")
        again = ingest_alert(repeat, settings, keys, store)
        assert (again.alert_id, again.duplicate) == (first.alert_id, True)
    assert calls == ["PutItem", "UpdateItem"] * 2, "the marker refused, then the listing: no other call"
    found = store.get(first.alert_id)
    assert found is not None and [repeat.request_id for repeat in found.duplicates] == ["r1", "r2"]


def test_every_call_the_webhook_makes_is_granted_by_its_policy(
    post: Invoke, strategy: Strategy, webhook: ModuleType, template: LocalTemplate
) -> None:
    """moto does not enforce IAM: this does. A call the policy lacks fails only when deployed (the check
    after an unanswered write once had no GetItem on the alerts table)."""
    from arrowhook.alerts.store import AlertStore

    needed: list[tuple[str, str, str | None]] = []
    client = webhook.alerts._client
    client.meta.events.register(
        "provide-client-params.dynamodb",
        lambda model, params, **_: needed.extend(dynamodb_grants_needed(model.name, params)),
    )
    post(strategy_alert(strategy.secret))  # the key lookup, the marker and the alert
    post(strategy_alert(strategy.secret))  # the duplicate branch
    timed_out = AlertStore(webhook.alerts.table_name, client=_AppliedButTimedOut(client))  # type: ignore[arg-type]
    timed_out.put(_text_alert(strategy), "unanswered", 60)  # the reads after writes with no answer
    operations = {action for action, _, _ in needed}
    assert operations == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
    assert_granted(template, "WebhookFunction", needed)
    assert not policy_allows(
        template, "WebhookFunction", "dynamodb:UpdateItem", template.arn("AlertsTable"), "DEDUPE#x"
    )
    assert not policy_allows(template, "WebhookFunction", "dynamodb:Query", template.arn("AlertsTable"), None)


def test_same_body_from_another_strategy_is_not_a_duplicate(
    post: Invoke, make_strategy: Callable[[str], Strategy], aws: DynamoDBClient, template: LocalTemplate
) -> None:
    one, two = make_strategy("one"), make_strategy("two")
    body = '{"ticker": "X", "action": "buy"}'
    assert post(body, path=f"/webhook/{one.secret}")["json"]["duplicate"] is False
    assert post(body, path=f"/webhook/{two.secret}")["json"]["duplicate"] is False
    assert len(stored(aws, template)) == 2


def test_duplicate_after_the_window_is_stored_again(
    post: Invoke, strategy: Strategy, aws: DynamoDBClient, template: LocalTemplate
) -> None:
    post(strategy_alert(strategy.secret))
    table = template.physical_name("AlertsTable")
    for item in all_items(aws, table):
        if item["pk"]["S"].startswith("DEDUPE#"):
            aws.update_item(
                TableName=table,
                Key={"pk": item["pk"]},
                UpdateExpression="SET expires_at = :past",
                ExpressionAttributeValues={":past": {"N": "1"}},
            )
    assert post(strategy_alert(strategy.secret))["json"]["duplicate"] is False
    assert len(stored(aws, template)) == 2


def test_dedupe_window_zero_stores_every_delivery(
    strategy: Strategy, aws: DynamoDBClient, template: LocalTemplate, cold_webhook: Callable[..., ModuleType]
) -> None:
    module = cold_webhook(DEDUPE_WINDOW_SECONDS="0")
    event = alert_event(strategy.secret)
    assert [respond(module, event)["json"]["duplicate"] for _ in range(2)] == [False, False]
    assert len(stored(aws, template)) == 2


def test_source_ip_allowlist(strategy: Strategy, cold_webhook: Callable[..., ModuleType]) -> None:
    module = cold_webhook(ALLOWED_SOURCE_IPS="52.89.214.238, 34.212.75.30/32")
    event = alert_event(strategy.secret)
    assert respond(module, event)["status"] == 200
    event["requestContext"]["http"]["sourceIp"] = "203.0.113.9"
    response = respond(module, event)
    assert (response["status"], response["json"]["error"]) == (403, "forbidden")


def test_store_outage_is_503_not_500(
    post: Invoke, strategy: Strategy, webhook: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, "PutItem")

    monkeypatch.setattr(webhook.alerts._client, "put_item", fail)
    response = post(strategy_alert(strategy.secret))
    assert response["status"] == 503
    assert response["json"]["error"] == "unavailable"


def test_unknown_route_and_method_are_json_404(webhook: ModuleType) -> None:
    event = sample_event("webhook-strategy-alert.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/nope"
    event["routeKey"] = event["requestContext"]["routeKey"] = "POST /nope"
    response = respond(webhook, event)
    assert response["status"] == 404
    assert response["json"]["error"] == "not_found"


@pytest.mark.parametrize(("sample", "status"), SAMPLE_EVENT_STATUS)
def test_sample_events(
    webhook: ModuleType, aws: DynamoDBClient, template: LocalTemplate, sample: str, status: int
) -> None:
    seed_demo_key(template, aws)
    assert respond(webhook, sample_event(sample))["status"] == status


def test_secret_never_in_stored_items_or_logs(
    post: Invoke,
    strategy: Strategy,
    aws: DynamoDBClient,
    template: LocalTemplate,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = strategy.secret
    post(strategy_alert(secret, comment=f"copy-pasted {secret} by mistake", extra={"note": secret}))
    post(f"text alert mentioning {secret}", path=f"/webhook/{secret}", content_type="text/plain")
    post('{"key": "' + secret + '", "price": {{close}}', content_type="text/plain")
    post(strategy_alert(secret, price="x" * 100, ticker=secret))
    post(strategy_alert(secret + "-wrong"))
    dumped = json.dumps(all_items(aws, template.physical_name("AlertsTable")))
    assert len(stored(aws, template)) == 4
    assert secret not in dumped
    assert secret[8:40] not in dumped
    output = capfd.readouterr()
    records = " ".join(repr(record.__dict__) for record in caplog.records)
    assert sum(record.getMessage() == "alert stored" for record in caplog.records) == 4, "logs were captured"
    assert "unknown key" in records
    for text in (output.out, output.err, records):
        assert secret not in text
        assert secret[8:40] not in text


def test_warm_alert_costs_two_plain_writes(post: Invoke, strategy: Strategy, webhook: ModuleType) -> None:
    """The marker, then the alert: two round trips at 1 write unit each where one transaction billed 4
    (docs/architecture.md, "Decisions measured")."""
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    assert webhook.keys._provider._client is webhook.alerts._client, "one DynamoDB client, no boto3 resource"
    webhook.alerts._client.meta.events.register("before-call.dynamodb", record)
    post(strategy_alert(strategy.secret, n=1))
    assert calls == ["GetItem", "PutItem", "PutItem"]
    calls.clear()
    post(strategy_alert(strategy.secret, n=2))
    assert calls == ["PutItem", "PutItem"]


def test_every_sample_event_is_covered() -> None:
    """Each file in events/ has its function and promised answer (run by `make sam-local`, and by the tests:
    webhook samples here, the archive's in test_archive.py, the delivery's in test_delivery.py)."""
    from arrowhook_tools.cli.samples import SAMPLE_EVENTS
    from tests.conftest import EVENTS_DIR

    assert sorted(path.name for path in EVENTS_DIR.glob("*.json")) == sorted(sample.file for sample in SAMPLE_EVENTS)
    webhook_samples = sorted(path.name for path in EVENTS_DIR.glob("webhook-*.json"))
    assert webhook_samples == sorted(name for name, _ in SAMPLE_EVENT_STATUS)
    for sample in SAMPLE_EVENTS:
        assert sample.file.split("-")[0] == sample.function_id.removesuffix("Function").lower()


def test_the_development_guide_states_each_sample_answer() -> None:
    from arrowhook_tools.cli.samples import SAMPLE_EVENTS
    from arrowhook_tools.local.template import PROJECT_ROOT

    guide = (PROJECT_ROOT / "docs" / "development.md").read_text()
    for sample in SAMPLE_EVENTS:
        assert f"| `{sample.file}` | {sample.function_id} |" in guide
        assert f"| {sample.answer} |" in guide


def test_a_sample_answer_is_checked_field_by_field() -> None:
    from arrowhook_tools.cli.samples import SAMPLE_EVENTS

    by_file = {sample.file: sample for sample in SAMPLE_EVENTS}
    assert by_file["webhook-bad-key.json"].accepts({"statusCode": 401, "body": "{}"})
    assert not by_file["webhook-bad-key.json"].accepts({"statusCode": 200})
    watch = by_file["delivery-signal-watch.json"]
    assert watch.accepts({"watched": 3, "silent": [], "recovered": []})
    assert not watch.accepts({"watched": 3, "silent": ["k"]})
    assert not watch.accepts({"silent": []})
    assert not by_file["archive-dry-run.json"].accepts({"status": "complete", "would_archive": 0})
    assert not by_file["archive-dry-run.json"].accepts("error text")


def _text_alert(strategy: Strategy) -> Any:
    """A minimal stored alert, written straight to the store (no handler in between)."""
    from datetime import UTC, datetime

    from arrowhook.core.models import StoredAlert, new_id
    from arrowhook.core.tradingview import AlertFields

    return StoredAlert(
        alert_id=new_id(),
        key_id=strategy.key.id,
        strategy="s",
        received_at=datetime(2026, 11, 23, 12, tzinfo=UTC),
        body_format="text",
        fields=AlertFields(),
        payload="x",
    )


def test_a_retried_write_of_the_same_alert_is_not_reported_as_a_duplicate(
    aws: DynamoDBClient, template: LocalTemplate, strategy: Strategy
) -> None:
    """botocore retries a timed-out call that DynamoDB did apply: the retry must not call it a duplicate."""
    from arrowhook.alerts.store import AlertStore
    from arrowhook.core.models import new_id

    store = AlertStore(template.physical_name("AlertsTable"), client=aws)
    alert = _text_alert(strategy)
    assert store.put(alert, "same-body", 60) == (alert.alert_id, False)
    assert store.put(alert, "same-body", 60) == (alert.alert_id, False), "the same attempt, retried"
    again = alert.model_copy(update={"alert_id": new_id()})
    assert store.put(again, "same-body", 60) == (alert.alert_id, True), "a second delivery"
    assert len(stored(aws, template)) == 1


class _DiesBetweenTheWrites:
    """The function dies after the dedupe marker is written and before the alert is."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.puts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_item(self, **arguments: Any) -> Any:
        self.puts += 1
        if arguments["Item"]["pk"]["S"].startswith("ALERT#"):
            raise SystemExit("killed")
        return self._client.put_item(**arguments)


def test_a_marker_whose_alert_never_landed_is_completed_by_the_next_delivery(
    aws: DynamoDBClient, template: LocalTemplate, strategy: Strategy
) -> None:
    """Marker and alert are two writes (a transaction bills both twice): a delivery that died between
    them must not make the sender's retry a "duplicate" of nothing. The retry stores the alert under the
    marker's id, once; a delivery after that is a duplicate of it."""
    from arrowhook.alerts.store import AlertStore
    from arrowhook.core.models import new_id

    table = template.physical_name("AlertsTable")
    first = _text_alert(strategy)
    dying = _DiesBetweenTheWrites(aws)
    with pytest.raises(SystemExit):
        AlertStore(table, client=dying).put(first, "died-body", 60)  # type: ignore[arg-type]
    assert dying.puts == 2 and stored(aws, template) == [], "the marker landed, the alert did not"
    store = AlertStore(table, client=aws)
    retry = first.model_copy(update={"alert_id": new_id(), "request_id": "retry"})
    assert store.put(retry, "died-body", 60) == (first.alert_id, False), "stored, under the marker's id"
    [kept] = stored(aws, template)
    assert (kept.alert_id, kept.request_id) == (first.alert_id, "retry")
    third = first.model_copy(update={"alert_id": new_id(), "request_id": "third"})
    assert store.put(third, "died-body", 60) == (first.alert_id, True)
    assert len(stored(aws, template)) == 1


@pytest.mark.parametrize("taken", ["behind the watermark", "in the pending journal"])
def test_a_marker_whose_alert_the_archive_took_is_a_duplicate_not_a_second_copy(
    aws: DynamoDBClient, template: LocalTemplate, strategy: Strategy, taken: str
) -> None:
    """The archive deletes an alert once it is in a verified object; a later delivery inside the window
    (only possible when the retention is shorter than the window) must not store it again."""
    from arrowhook.alerts.archived import STATE_KEY
    from arrowhook.alerts.store import AlertStore, alert_sort_key
    from arrowhook.core.models import new_id

    table = template.physical_name("AlertsTable")
    store = AlertStore(table, client=aws)
    first = _text_alert(strategy)
    assert store.put(first, f"archived-{taken}", 60) == (first.alert_id, False)
    aws.delete_item(TableName=table, Key={"pk": {"S": f"ALERT#{first.alert_id}"}})  # archived
    state: dict[str, Any]
    if taken == "behind the watermark":
        state = {"watermark": {"S": alert_sort_key(first)}}
    else:
        state = {"pending": {"M": {"key": {"S": "k"}, "last_sort_key": {"S": "z"}, "alert_ids": {"S": first.alert_id}}}}
    aws.put_item(TableName=table, Item={**STATE_KEY, **state})
    try:
        again = first.model_copy(update={"alert_id": new_id(), "request_id": "again"})
        assert store.put(again, f"archived-{taken}", 60) == (first.alert_id, True)
        assert stored(aws, template) == [], "not stored a second time"
    finally:
        aws.delete_item(TableName=table, Key=STATE_KEY)


def test_two_deliveries_racing_for_one_marker_store_one_alert(
    aws: DynamoDBClient, template: LocalTemplate, strategy: Strategy
) -> None:
    """The second delivery finds the first's marker before the first's alert landed: it stores the alert
    under that id, and the first, arriving after it, is then the duplicate. One alert, one stream record."""
    from arrowhook.alerts.store import AlertStore
    from arrowhook.core.models import new_id

    table = template.physical_name("AlertsTable")
    store = AlertStore(table, client=aws)
    first = _text_alert(strategy)
    second = first.model_copy(update={"alert_id": new_id(), "request_id": "second"})
    assert store._mark(first, "raced-body", 60)["alert_id"] == first.alert_id  # the first, paused after its marker
    assert store.put(second, "raced-body", 60) == (first.alert_id, False)
    assert store.put(first, "raced-body", 60) == (first.alert_id, True)
    [kept] = stored(aws, template)
    assert (kept.alert_id, kept.request_id) == (first.alert_id, "second")


class _AppliedButTimedOut:
    """A DynamoDB client whose writes are applied and then time out, as on a busy stack: every attempt."""

    def __init__(self, client: Any, *, applied: bool = True) -> None:
        self._client = client
        self._applied = applied

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def _timed_out(self, operation: str, **arguments: Any) -> Any:
        from botocore.exceptions import ReadTimeoutError

        if self._applied:
            getattr(self._client, operation)(**arguments)
        raise ReadTimeoutError(endpoint_url="http://dynamodb")

    def put_item(self, **arguments: Any) -> Any:
        return self._timed_out("put_item", **arguments)


@pytest.mark.parametrize("window", [60, 0])
def test_a_write_that_timed_out_but_was_applied_answers_stored_not_503(
    aws: DynamoDBClient, template: LocalTemplate, strategy: Strategy, window: int
) -> None:
    """On a busy local stack, 320 of 320 writes answered 503 "retry" had been applied; a retry after the
    dedupe window then stored the alert twice. A consistent read now tells the two apart."""
    from arrowhook.alerts.store import AlertStore
    from arrowhook.core.errors import StoreUnavailableError
    from arrowhook.core.models import new_id

    table = template.physical_name("AlertsTable")
    alert = _text_alert(strategy)
    applied = AlertStore(table, client=_AppliedButTimedOut(aws))  # type: ignore[arg-type]
    assert applied.put(alert, f"body-{window}", window) == (alert.alert_id, False)
    assert [item.alert_id for item in stored(aws, template)] == [alert.alert_id]
    lost = AlertStore(table, client=_AppliedButTimedOut(aws, applied=False))  # type: ignore[arg-type]
    with pytest.raises(StoreUnavailableError):
        lost.put(alert.model_copy(update={"alert_id": new_id()}), f"other-{window}", window)
    assert len(stored(aws, template)) == 1, "a write that really failed is still a 503"


def _get(webhook: ModuleType, template: LocalTemplate, path: str) -> ApiResponse:
    return call_route(webhook, RouteTable(template.routes()), "GET", path)


def test_health_checks_the_store(webhook: ModuleType, template: LocalTemplate) -> None:
    health.build_info.cache_clear()
    response = _get(webhook, template, "/health")
    assert (response.status, response.body) == (200, {"status": "ok", "version": "0.2.0", "checks": {"store": "ok"}})


def test_health_is_503_when_the_store_is_unreachable(
    webhook: ModuleType, template: LocalTemplate, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{port}")  # nothing listens there
    health._probe_client.cache_clear()
    try:
        response = _get(webhook, template, "/health")
    finally:
        health._probe_client.cache_clear()
    assert response.status == 503
    assert response.body == {"status": "unavailable", "version": "0.2.0", "checks": {"store": "unreachable"}}


def test_version_reports_what_sam_build_stamped(
    webhook: ModuleType, template: LocalTemplate, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert _get(webhook, template, "/version").body == {"version": "0.2.0", "commit": "local", "built_at": "unknown"}
    (tmp_path / "build_info.json").write_text('{"commit": "a01a9cac0be2", "built_at": "2026-11-23T01:07:31Z"}')
    monkeypatch.setattr("importlib.resources.files", lambda _: tmp_path)
    health.build_info.cache_clear()
    try:
        stamped = _get(webhook, template, "/version")
    finally:
        health.build_info.cache_clear()
    assert stamped.body == {"version": "0.2.0", "commit": "a01a9cac0be2", "built_at": "2026-11-23T01:07:31Z"}


def test_a_flood_of_wrong_keys_costs_one_read_per_distinct_guess_per_ttl(
    aws: DynamoDBClient, template: LocalTemplate, strategy: Strategy
) -> None:
    from arrowhook.keys.resolver import KeyResolver

    now = [1000.0]
    resolver = KeyResolver(template.physical_name("KeysTable"), ttl_seconds=30, clock=lambda: now[0])
    reads: list[str] = []
    from arrowhook.aws.dynamodb import dynamodb_client

    lookups = dynamodb_client(bounded_read_timeout=0.8)  # the webhook's key lookups go through this client
    lookups.meta.events.register("before-call.dynamodb.GetItem", lambda **_: reads.append("r"))
    guess = "ahk_" + "guess" * 9
    assert all(resolver.resolve(guess) is None for _ in range(50))
    assert len(reads) == 1, "misses are remembered"
    now[0] += 31
    assert resolver.resolve(guess) is None and len(reads) == 2, "for the TTL only"
    assert resolver.resolve(strategy.secret) is not None, "a real key still authenticates"
    assert resolver.resolve("ahk_" + "other" * 9) is None and len(reads) == 4
