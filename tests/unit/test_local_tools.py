"""The local runtime's reading of template.yaml: intrinsics, routes and payload-2.0 events."""

from __future__ import annotations

import base64

import pytest

from arrowhook_tools.gateway import RouteTable, build_event
from arrowhook_tools.template import LocalTemplate, Route


def test_parameters_conditions_and_intrinsics_resolve() -> None:
    template = LocalTemplate(parameter_overrides={"WebhookTracing": "true", "DedupeWindowSeconds": "5"})
    env = template.function_spec("WebhookFunction").environment
    assert env["KEYS_TABLE_NAME"] == "arrowhook-local-KeysTable"
    assert env["ALERTS_TABLE_NAME"] == "arrowhook-local-AlertsTable"
    assert env["DEDUPE_WINDOW_SECONDS"] == "5"
    assert env["POWERTOOLS_TRACE_DISABLED"] == "false"
    assert LocalTemplate().function_spec("WebhookFunction").environment["POWERTOOLS_TRACE_DISABLED"] == "true"


def test_sub_and_getatt() -> None:
    template = LocalTemplate(
        template={"Parameters": {"Stage": {"Default": "dev"}}, "Resources": {"T": {"Type": "AWS::DynamoDB::Table"}}}
    )
    assert template.resolve({"Fn::Sub": "${AWS::Region}/${Stage}/${T}"}) == "us-east-1/dev/arrowhook-local-T"
    assert template.resolve({"Fn::GetAtt": ["T", "Arn"]}).endswith(":table/arrowhook-local-T")
    assert template.resolve({"Fn::Sub": ["${X}-${!Literal}", {"X": {"Ref": "Stage"}}]}) == "dev-${Literal}"
    assert template.resolve({"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]}) == "a-dev"


def test_tables_come_from_the_template() -> None:
    tables = LocalTemplate().tables()
    alerts = tables["arrowhook-local-AlertsTable"]
    assert {index["IndexName"] for index in alerts["GlobalSecondaryIndexes"]} == {"ByStrategy", "ByTicker", "ByDay"}
    assert alerts["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_routes_match_like_http_api() -> None:
    table = RouteTable(
        [
            Route("POST", "/webhook", "Webhook"),
            Route("POST", "/webhook/{token}", "Webhook"),
            Route("ANY", "/admin/{proxy+}", "Admin"),
            Route("GET", "/keys/{id}", "Keys"),
            Route("GET", "/keys/special", "Special"),
        ]
    )
    exact = table.match("POST", "/webhook")
    assert exact is not None and exact.path_parameters == {}
    token = table.match("POST", "/webhook/ahk_a%2Bb")
    assert token is not None and token.path_parameters == {"token": "ahk_a+b"}
    assert table.match("GET", "/webhook") is None
    assert table.match("POST", "/webhook/a/b") is None
    special = table.match("GET", "/keys/special")
    assert special is not None and special.route.function_id == "Special"
    greedy = table.match("DELETE", "/admin/a/b")
    assert greedy is not None and greedy.path_parameters == {"proxy": "a/b"}


@pytest.mark.parametrize(
    ("content_type", "encoded"),
    [("application/json", False), ("text/plain", False), ("application/octet-stream", True), ("", True)],
)
def test_event_body_encoding(content_type: str, encoded: bool) -> None:
    matched = RouteTable([Route("POST", "/webhook", "W")]).match("POST", "/webhook")
    assert matched is not None
    event = build_event(
        method="POST",
        raw_path="/webhook",
        raw_query="a=1&a=2",
        body=b'{"x": 1}',
        headers=[("Content-Type", content_type), ("X-Multi", "1"), ("x-multi", "2"), ("Cookie", "a=1; b=2")],
        source_ip="127.0.0.1",
        matched=matched,
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /webhook"
    assert event["isBase64Encoded"] is encoded
    body = base64.b64decode(event["body"]) if encoded else event["body"].encode()
    assert body == b'{"x": 1}'
    assert event["headers"]["x-multi"] == "1,2"
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["queryStringParameters"] == {"a": "1,2"}
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
