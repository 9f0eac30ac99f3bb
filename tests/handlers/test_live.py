"""The live WebSocket API's function on the embedded AWS, with API Gateway's WebSocket event shapes: a
ticket opens one connection, a replayed or missing one is refused (401 refuses the upgrade), a ping is
answered, a resume sends what was missed then `resumed`, a disconnect forgets the connection."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from arrowhook.alerts.store import AlertStore
from arrowhook.aws.secure_parameters import secure_value
from arrowhook.live.resume import position
from arrowhook.live.tickets import TicketSigner
from arrowhook_tools.local.runtime import LocalContext
from arrowhook_tools.local.template import PROJECT_ROOT, LocalTemplate
from arrowhook_tools.standins.embedded_aws import provision_secure_parameters
from tests.conftest import load_module
from tests.fakes.alerts import stored_alert
from tests.fakes.live import RecordingPoster

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@pytest.fixture
def live_app(aws: DynamoDBClient, template: LocalTemplate, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    from aws_lambda_powertools.utilities import parameters

    for name, value in template.function_spec("LiveFunction").environment.items():
        monkeypatch.setenv(name, value)
    provision_secure_parameters(template, boto3.client("ssm"))
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    module = load_module(PROJECT_ROOT / "functions/live/app.py", "live_app_under_test")
    monkeypatch.setattr(module, "connections_api", RecordingPoster())
    return module


def ticket(module: ModuleType, strategies: tuple[str, ...] | None = None) -> str:
    key = secure_value(module.settings.cursor_key_parameter, 3600).encode()
    return TicketSigner(key).issue("admin", strategies, datetime.now(UTC))[0]


def event(kind: str, connection_id: str, **values: Any) -> dict[str, Any]:
    route = {"CONNECT": "$connect", "DISCONNECT": "$disconnect", "MESSAGE": "$default"}[kind]
    context = {"eventType": kind, "routeKey": route, "connectionId": connection_id, "stage": "live"}
    return {"requestContext": {**context, "domainName": "live.example", "requestId": "r1"}, **values}


def call(module: ModuleType, body: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = module.lambda_handler(body, LocalContext(function_name="LiveFunction"))
    return answer


def test_a_ticket_connects_once_and_nothing_else_does(live_app: ModuleType) -> None:
    token = ticket(live_app)
    assert call(live_app, event("CONNECT", "c1", queryStringParameters={"ticket": token}))["statusCode"] == 200
    assert live_app.connections.get("c1").holder == "admin"
    replayed = call(live_app, event("CONNECT", "c2", queryStringParameters={"ticket": token}))
    assert replayed["statusCode"] == 401 and "used before" in json.loads(replayed["body"])["error"]
    assert call(live_app, event("CONNECT", "c3"))["statusCode"] == 401
    assert live_app.connections.get("c2") is None and live_app.connections.get("c3") is None
    assert call(live_app, event("DISCONNECT", "c1"))["statusCode"] == 200
    assert live_app.connections.get("c1") is None


def test_a_ping_is_answered_and_a_resume_sends_what_was_missed(live_app: ModuleType, template: LocalTemplate) -> None:
    class Key:
        id, name = "01KEY", "ema-cross"

    store = AlertStore(template.physical_name("AlertsTable"))
    seen, *missed = [stored_alert(Key(), minute, ticker="BTCUSDT") for minute in range(3)]
    for number, alert in enumerate([seen, *missed]):
        store.put(alert, f"hash-{number}", 60)
    call(live_app, event("CONNECT", "c1", queryStringParameters={"ticket": ticket(live_app, ("01KEY",))}))
    call(live_app, event("MESSAGE", "c1", body='{"action": "ping"}'))
    call(live_app, event("MESSAGE", "c1", body=json.dumps({"action": "resume", "after": position(seen)})))
    call(live_app, event("MESSAGE", "c1", body='{"action": "subscribe"}'))
    frames = [json.loads(data) for connection_id, data in live_app.connections_api.sent if connection_id == "c1"]
    assert [frame["type"] for frame in frames] == ["pong", "alert", "alert", "resumed", "error"]
    assert [frame["alert"]["alert_id"] for frame in frames[1:3]] == [alert.alert_id for alert in missed]
    assert frames[3] == {"type": "resumed", "count": 2, "complete": True, "last": position(missed[-1])}


def test_a_connection_api_gateway_says_is_gone_is_forgotten(live_app: ModuleType) -> None:
    call(live_app, event("CONNECT", "gone", queryStringParameters={"ticket": ticket(live_app)}))
    live_app.connections_api.gone.add("gone")
    assert call(live_app, event("MESSAGE", "gone", body='{"action": "ping"}'))["statusCode"] == 200
    assert live_app.connections.get("gone") is None
