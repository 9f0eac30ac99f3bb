"""Hostile input: property tests for the parser, a fuzzer for the webhook's entry point, nasty cases.

Whatever arrives, the answer is a response (never an exception, never a stack trace), and a secret
is never echoed or stored.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrowhook.alerts.store import alert_from_item
from arrowhook.core.alert_body import decode_body, parse_fields
from arrowhook_tools.local.runtime import LocalContext
from arrowhook_tools.local.template import PROJECT_ROOT, LocalTemplate
from arrowhook_tools.standins.embedded_aws import provision_secure_parameters
from arrowhook_tools.standins.gateway_routes import RouteTable
from tests.conftest import ApiResponse, Invoke, Strategy, alert_items, call_route, load_module, sample_event

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SECRET = "ahk_" + "S3cr3t-Value_" * 3

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(["{{close}}", "NaN", "buy", "sell", "BINANCE:BTCUSDT", "1e400", "-0", ""]),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(
    ["ticker", "action", "side", "price", "contracts", "qty", "time", "strategy.order.action", "comment", "extra"]
)


# -- the parser: any bytes in, never an exception out ---------------------------------------------------


@FAST
@given(st.binary(max_size=2048))
def test_any_bytes_parse_without_an_exception(raw: bytes) -> None:
    body = decode_body(raw)  # the secret and its scrub candidates are found here too
    parsed = parse_fields(body)
    assert isinstance(body.text, str)
    assert body.secret is None or body.secret in body.secret_candidates
    assert all(issue.problem for issue in parsed.issues)
    parsed.fields.model_dump_json()  # always serializable, decimals included


@FAST
@given(st.dictionaries(field_names | st.text(max_size=12), json_values, max_size=8))
def test_any_json_object_parses_and_every_problem_is_listed(document: dict[str, Any]) -> None:
    body = decode_body(json.dumps(document).encode())
    parsed = parse_fields(body)
    assert body.document is not None
    for name, value in parsed.fields.model_dump(exclude_none=True).items():
        assert value is not None, name
    json.dumps(parsed.extra, default=str)


@FAST
@given(
    document=st.dictionaries(field_names, json_values, max_size=6),
    where=st.sampled_from(["key", "secret", "passphrase", "comment", "nested", "repeated"]),
)
def test_the_secret_is_a_scrub_candidate_wherever_it_sits(document: dict[str, Any], where: str) -> None:
    if where == "nested":
        document["meta"] = {"note": f"my key is {SECRET}"}
        text = json.dumps(document)
    elif where == "comment":
        document["comment"] = SECRET
        text = json.dumps(document)
    elif where == "repeated":
        text = (
            json.dumps(document)[:-1]
            + (", " if document else "")
            + f'"key": "{SECRET}", "key": "ahk_decoy-0000000000000000"}}'
        )
    else:
        document[where] = SECRET
        text = json.dumps(document)
    assert SECRET in decode_body(text.encode()).secret_candidates


# -- through the handler, with the secret never echoed or stored ------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    document=st.dictionaries(field_names, json_values, max_size=6),
    noise=st.text(max_size=30),
    as_text=st.booleans(),
)
def test_the_secret_is_never_echoed_or_stored(
    post: Invoke,
    strategy: Strategy,
    aws: DynamoDBClient,
    template: LocalTemplate,
    document: dict[str, Any],
    noise: str,
    as_text: bool,
) -> None:
    secret = strategy.secret
    document = {**document, "key": secret, "comment": f"{noise} {secret}"}
    body = f"BUY {noise} key {secret}" if as_text else json.dumps(document)
    response = post(body, path=f"/webhook/{secret}" if as_text else "/webhook")
    assert response["status"] == 200, response
    assert secret not in json.dumps(response["raw"])
    stored = [item for item in alert_items(aws, template) if item["alert_id"]["S"] == response["json"]["alert_id"]]
    assert stored and secret not in json.dumps(stored)


def test_duplicate_json_keys_are_noted_and_both_secrets_scrubbed(
    post: Invoke,
    strategy: Strategy,
    make_strategy: Callable[[str], Strategy],
    aws: DynamoDBClient,
    template: LocalTemplate,
) -> None:
    other = make_strategy("other")
    body = f'{{"key": "{other.secret}", "price": "1", "price": "2", "key": "{strategy.secret}"}}'
    response = post(body)
    assert response["status"] == 200
    [item] = [item for item in alert_items(aws, template) if item["alert_id"]["S"] == response["json"]["alert_id"]]
    alert = alert_from_item(item)
    assert alert.strategy == "ema-cross", "the last key wins, as in every JSON parser"
    assert str(alert.fields.price) == "2"
    assert {(issue.field, issue.problem) for issue in alert.parse_issues} >= {
        ("price", "key appears more than once; the last value is used"),
        ("key", "key appears more than once; the last value is used"),
    }
    assert other.secret not in json.dumps(item) and strategy.secret not in json.dumps(item)


@pytest.mark.parametrize("depth", [100, 5_000, 200_000])
def test_deeply_nested_json_is_stored_raw_with_an_issue(
    post: Invoke, strategy: Strategy, aws: DynamoDBClient, template: LocalTemplate, depth: int
) -> None:
    body = '{"key": "' + strategy.secret + '", "deep": ' + "[" * depth + "]" * depth + "}"
    response = post(body.encode()[:65_536])
    assert response["status"] in (200, 413), response
    if response["status"] == 200:
        [item] = [item for item in alert_items(aws, template) if item["alert_id"]["S"] == response["json"]["alert_id"]]
        stored = alert_from_item(item)  # a large body is kept compressed: read it back as the API would
        assert ("payload_gz" in item) == (depth == 200_000), "a large body is kept once, compressed"
        assert strategy.secret not in json.dumps(item, default=str) + stored.payload


# -- the entry point, fuzzed with arbitrary API Gateway events ----------------------------------------------

header_maps = st.dictionaries(
    st.text(min_size=1, max_size=20), st.text(max_size=30) | st.integers() | st.none(), max_size=5
) | st.sampled_from([{"content-type": "application/json", "x-huge": "h" * 20_000}, {"Content-Type": None}])
bodies = st.one_of(
    st.none(),
    st.text(max_size=300),
    st.integers(),
    st.sampled_from(["!!!not base64!!!", base64.b64encode(b"\xff\xfe\x00").decode(), "e30=", ""]),
    st.binary(max_size=50).map(lambda raw: base64.b64encode(raw).decode()),
)
request_contexts = st.one_of(
    st.none(),
    st.integers(),
    st.fixed_dictionaries(
        {},
        optional={
            "requestId": st.text(max_size=10) | st.none(),
            "stage": st.sampled_from(["$default", "prod", ""]) | st.integers(),
            "http": st.fixed_dictionaries(
                {},
                optional={
                    "method": st.sampled_from(["POST", "GET", "PUT", "", "post"]) | st.integers(),
                    "path": st.sampled_from(["/webhook", "/health", "/webhook/abc", "/../etc/passwd"]),
                    "sourceIp": st.sampled_from(["52.89.214.238", "not-an-ip", ""]) | st.none(),
                },
            ),
        },
    ),
)
events = st.fixed_dictionaries(
    {},
    optional={
        "version": st.sampled_from(["2.0", "1.0", ""]) | st.integers(),
        "routeKey": st.sampled_from(["POST /webhook", "POST /webhook/{token}", "GET /health", "$default"])
        | st.text(max_size=8),
        "rawPath": st.sampled_from(["/webhook", "/webhook/x", "/health", "/version", "", "/%2e%2e/keys"])
        | st.integers(),
        "rawQueryString": st.text(max_size=20),
        "headers": header_maps | st.none() | st.lists(st.text(max_size=3), max_size=2),
        "body": bodies,
        "isBase64Encoded": st.booleans() | st.sampled_from(["true", "no", None]),
        "pathParameters": st.none() | st.fixed_dictionaries({"token": st.text(max_size=40)}),
        "requestContext": request_contexts,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=events | st.none() | st.lists(st.integers(), max_size=3) | st.text(max_size=10))
def test_the_webhook_entry_point_answers_any_event(webhook: ModuleType, event: Any) -> None:
    response = webhook.lambda_handler(event, LocalContext(function_name="WebhookFunction"))
    assert isinstance(response, dict)
    assert 200 <= int(response["statusCode"]) < 600
    text = response.get("body") or ""
    assert "Traceback" not in text and 'File "' not in text
    assert isinstance(json.loads(text), dict)
    if int(response["statusCode"]) >= 500:
        assert int(response["statusCode"]) in (500, 503)


def test_an_event_without_a_stage_is_400_not_an_exception(webhook: ModuleType) -> None:
    """Found by the fuzzer above: the resolver reads requestContext.stage to strip it from the path."""
    event = sample_event("webhook-strategy-alert.json")
    del event["requestContext"]["stage"]
    response = webhook.lambda_handler(event, LocalContext(function_name="WebhookFunction"))
    assert response["statusCode"] == 400 and "Traceback" not in response["body"]


# -- the admin API: injection strings, traversal, foreign cursors ---------------------------------------------

INJECTIONS = [
    "' OR '1'='1",
    '"; DROP TABLE alerts; --',
    '{"$ne": null}',
    "#pk = :x OR attribute_exists(pk)",
    "ALERT#*",
    "../../etc/passwd",
    "%00",
    "\u202e\u0000",
    "a" * 5000,
]


@pytest.fixture
def admin(alerts_app: ModuleType, keys_app: ModuleType, template: LocalTemplate) -> Callable[[str], ApiResponse]:
    routes = RouteTable(template.routes())

    def call(target: str) -> ApiResponse:
        module = keys_app if target.startswith("/keys") else alerts_app
        return call_route(module, routes, "GET", target)

    return call


@pytest.mark.parametrize("value", INJECTIONS)
@pytest.mark.parametrize(
    "parameter", ["strategy", "key_id", "ticker", "side", "since", "until", "cursor", "order", "limit"]
)
def test_injection_strings_in_every_alerts_filter_are_refused_or_find_nothing(
    admin: Callable[[str], ApiResponse], parameter: str, value: str
) -> None:
    from urllib.parse import quote

    response = admin(f"/alerts?{parameter}={quote(value, safe='')}")
    assert response.status in (200, 400, 422), response
    if response.status == 200:
        assert response.body["items"] == []
    else:
        assert "Traceback" not in json.dumps(response.body)


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_strings_in_the_key_name_filter(admin: Callable[[str], ApiResponse], value: str) -> None:
    from urllib.parse import quote

    response = admin(f"/keys?name={quote(value, safe='')}")
    assert response.status in (200, 400, 422)
    if response.status == 200:
        assert response.body["items"] == []


@pytest.mark.parametrize(
    "identifier", ["..%2F..%2Fkeys", "%2E%2E", "ALERT%23x", "KEY%23x", "SECRET%23abc", "%00", "a" * 300]
)
def test_path_traversal_and_key_shaped_ids_are_not_found(admin: Callable[[str], ApiResponse], identifier: str) -> None:
    for path in (f"/alerts/{identifier}", f"/keys/{identifier}"):
        response = admin(path)
        assert response.status in (404, 422), (path, response)


@pytest.fixture
def keys_app(aws: DynamoDBClient, template: LocalTemplate, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    for name, value in template.function_spec("KeysFunction").environment.items():
        monkeypatch.setenv(name, value)
    return load_module(PROJECT_ROOT / "functions/keys/app.py", "keys_app_hostile")


@pytest.fixture
def alerts_app(aws: DynamoDBClient, template: LocalTemplate, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    from aws_lambda_powertools.utilities import parameters

    for name, value in template.function_spec("AlertsFunction").environment.items():
        monkeypatch.setenv(name, value)
    provision_secure_parameters(template, boto3.client("ssm"))
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    return load_module(PROJECT_ROOT / "functions/alerts/app.py", "alerts_app_hostile")
