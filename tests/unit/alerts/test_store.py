"""The alerts table's item format at its limits: a large body kept once (compressed) and read back whole,
what can never be stored refused up front (413, never a 503), and the applied-write check after retries."""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from arrowhook.alerts.store import AlertStore, alert_from_item, alert_item
from arrowhook.archive.objects import archive_line
from arrowhook.aws.dynamodb import MAX_ITEM_BYTES, item_size
from arrowhook.core.errors import BodyTooLargeError
from arrowhook.core.models import StoredAlert
from arrowhook_tools.local.template import LocalTemplate
from arrowhook_tools.standins.gateway_events import build_event
from arrowhook_tools.standins.gateway_routes import RouteTable
from tests.conftest import Invoke, Strategy, alert_items, respond
from tests.fakes.alerts import stored_alert

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: The template's largest MaxBodyBytes.
LARGEST_BODY = 98_304


def _largest_body(secret: str, filler: Callable[[int], str]) -> bytes:
    head = '{"key": "' + secret + '", "ticker": "BTCUSDT", "action": "buy", "price": "1", "note": "'
    room = LARGEST_BODY - len(head.encode()) - 2
    return (head + filler(room) + '"}').encode()


def _noise(size: int) -> str:
    """Incompressible JSON string content, with control characters (escaped `\\u0001`: one character in
    the value, six bytes in any JSON that carries it again)."""
    chooser = random.Random(7)
    tokens = [*string.ascii_letters, *string.digits, "\\u0001", "\\u001f", "\\n"]
    out: list[str] = []
    length = 0
    while length < size - 6:
        token = chooser.choice(tokens)
        out.append(token)
        length += len(token)
    return "".join(out) + "x" * (size - length)


@pytest.fixture
def post_largest(cold_webhook: Callable[..., ModuleType], template: LocalTemplate) -> Invoke:
    """The webhook with MaxBodyBytes at the template's largest value."""
    module = cold_webhook(MAX_BODY_BYTES=str(LARGEST_BODY))
    matched = RouteTable(template.routes()).match("POST", "/webhook")
    assert matched is not None

    def send(body: bytes) -> dict[str, Any]:
        headers = [("content-type", "application/json")]
        event = build_event(
            method="POST", raw_path="/webhook", raw_query="", headers=headers, body=body,
            source_ip="52.89.214.238", matched=matched,
        )  # fmt: skip
        return respond(module, event)

    return send


@pytest.mark.parametrize("filler", [lambda size: "x" * size, _noise], ids=["plain", "incompressible"])
def test_the_largest_accepted_body_is_stored_once_and_read_back_whole(
    post_largest: Invoke, strategy: Strategy, aws: DynamoDBClient, template: LocalTemplate, filler: Callable[[int], str]
) -> None:
    """The item held the body twice (payload and extra_json): with MaxBodyBytes raised, a 210 KB alert
    got 503 on every retry (DynamoDB's 400 KB). Now it is kept once, compressed, and everything reads back."""
    assert str(LARGEST_BODY) == str(template.raw["Parameters"]["MaxBodyBytes"]["MaxValue"])
    body = _largest_body(strategy.secret, filler)
    assert len(body) == LARGEST_BODY
    response = post_largest(body)
    assert response["status"] == 200, response
    [item] = [item for item in alert_items(aws, template) if item["alert_id"]["S"] == response["json"]["alert_id"]]
    assert "payload_gz" in item and "payload" not in item and "extra_json" not in item, "the body, once"
    assert item_size(item) < MAX_ITEM_BYTES // 2
    stored = alert_from_item(item)
    assert stored.payload == body.decode().replace(strategy.secret, "***")
    assert stored.extra["note"] == json.loads(body)["note"] and stored.fields.ticker == "BTCUSDT"
    archived = json.loads(archive_line(stored))
    assert archived["payload"] == stored.payload and archived["extra"] == stored.extra, "archived whole"
    # The stream image as the Pipe carries it: typed JSON, binary as base64, every non-ASCII character escaped.
    event = json.dumps({"alert": item}, default=lambda value: base64.b64encode(value).decode())
    assert len(event.encode()) < 256 * 1024, "its bus event fits PutEvents"


def test_a_small_body_keeps_its_readable_payload() -> None:
    alert = _alert("{}", extra={"note": "hi"})
    item = alert_item(alert)
    assert item["payload"] == {"S": "{}"} and json.loads(item["extra_json"]["S"]) == {"note": "hi"}
    assert alert_from_item(item) == alert


def test_what_can_never_be_stored_is_refused_before_writing(aws: DynamoDBClient, template: LocalTemplate) -> None:
    """A 503 promises that a retry may succeed; an item over DynamoDB's limit never will (a 413)."""
    store = AlertStore(template.physical_name("AlertsTable"), client=aws)
    huge = _alert("x", fields={"comment": "c"}, extra={f"k{number}": "v" * 1000 for number in range(500)})
    huge = huge.model_copy(update={"payload": "".join(random.Random(1).choices(string.printable, k=500_000))})
    assert item_size(alert_item(huge)) > MAX_ITEM_BYTES
    with pytest.raises(BodyTooLargeError):
        store.put(huge, "hash", 60)


def test_item_size_follows_dynamodbs_rules() -> None:
    item = {
        "pk": {"S": "ALERT#1"},  # 2 + 7
        "price": {"N": "65000.50"},  # 5 + (7 digits + 1) // 2 + 1 = 5
        "test": {"BOOL": True},  # 4 + 1
        "blob": {"B": b"\x00" * 10},  # 4 + 10
        "tags": {"SS": ["a", "bc"]},  # 4 + 3
        "map": {"M": {"k": {"S": "v"}}},  # 3 + 3 + (1 + 1 + 1)
    }
    assert item_size(item) == 9 + 10 + 5 + 14 + 7 + 9


class _WriteAppliedThenThrottled:
    """The SDK's first attempt timed out after DynamoDB applied it; its retry was throttled. botocore
    raises the last error only (RetryAttempts says there were earlier ones)."""

    def __init__(self, alert_id: str) -> None:
        self.alert_id = alert_id
        self.reads = 0

    def put_item(self, **_: Any) -> None:
        answer: Any = {"Error": {"Code": "ThrottlingException"}, "ResponseMetadata": {"RetryAttempts": 1}}
        raise ClientError(answer, "PutItem")

    def get_item(self, Key: dict[str, Any], **_: Any) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.reads += 1
        if Key["pk"]["S"].startswith("DEDUPE#"):  # the marker names this alert: its write was applied
            return {"Item": {"pk": Key["pk"], "alert_id": {"S": self.alert_id}, "expires_at": {"N": "1"}}}
        return {"Item": {"pk": {"S": f"ALERT#{self.alert_id}"}}}


def test_a_throttled_retry_after_an_applied_write_answers_stored() -> None:
    """It answered 503 for alerts it had stored (7 of 16 in a mixed fault run), and a resend after the
    dedupe window stored the same body twice."""
    alert = _alert("{}")
    client = _WriteAppliedThenThrottled(alert.alert_id)
    store = AlertStore("alerts", client=client)  # type: ignore[arg-type]
    assert store.put(alert, "hash", 60) == (alert.alert_id, False)
    assert client.reads == 2, "looked at the marker and at the alert: earlier attempts may have been applied"


def _alert(payload: str, *, fields: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> StoredAlert:
    key = type("Key", (), {"id": "K", "name": "s"})()
    return stored_alert(key, 0, payload=payload, **(fields or {})).model_copy(update={"extra": extra or {}})
