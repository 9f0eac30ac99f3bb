"""Shared fixtures: an in-process moto account with the template's own tables, and the webhook handler."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from arrowhook_tools.local.template import PROJECT_ROOT, LocalTemplate

# Powertools reads its service name and namespace when Logger and Metrics are built (at import, as in
# Lambda's init phase), so the template's values must be in place before any arrowhook module loads.
os.environ.update(
    {
        name: value
        for name, value in LocalTemplate().function_spec("WebhookFunction").environment.items()
        if name.startswith("POWERTOOLS_")
    }
)

from aws_lambda_powertools.utilities import parameters

from arrowhook.aws import health, pagination
from arrowhook.aws.dynamodb import dynamodb_client
from arrowhook.core.models import StrategyKey, new_id, utc_now
from arrowhook.keys.credentials import display_prefix, generate_secret, hash_secret
from arrowhook.keys.store import KeyStore
from arrowhook_tools.cli.samples import SAMPLE_EVENTS
from arrowhook_tools.local.runtime import LocalContext
from arrowhook_tools.standins.embedded_aws import LOCAL_CREDENTIALS, provision, provision_buckets
from arrowhook_tools.standins.gateway_events import build_event
from arrowhook_tools.standins.gateway_routes import RouteTable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

EVENTS_DIR = PROJECT_ROOT / "events"
#: Every webhook sample in events/ and the status the webhook answers it with (they use the local demo key).
SAMPLE_EVENT_STATUS = [(sample.file, sample.status) for sample in SAMPLE_EVENTS if sample.status is not None]
_ENV_PREFIXES = ("AWS_", "POWERTOOLS_")


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees a developer's AWS credentials, endpoint overrides or a previous test's settings."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES):
            monkeypatch.delenv(name)
    for name, value in LOCAL_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    _clear_caches()
    yield
    _clear_caches()


def _clear_caches() -> None:
    dynamodb_client.cache_clear()
    health._probe_client.cache_clear()  # it keeps the endpoint it was built for
    health.build_info.cache_clear()
    pagination.cursor_signer.cache_clear()  # its key lives in one test's Parameter Store
    parameters.clear_caches()  # type: ignore[no-untyped-call]  # drops the providers, whose clients keep an old endpoint


@pytest.fixture
def template() -> LocalTemplate:
    return LocalTemplate()


@pytest.fixture
def aws(template: LocalTemplate, monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoDBClient]:
    """moto in-process, tables created from template.yaml, and the webhook's environment applied."""
    with mock_aws():
        for name, value in template.function_spec("WebhookFunction").environment.items():
            monkeypatch.setenv(name, value)
        client = dynamodb_client()
        provision(template, client)
        provision_buckets(template, boto3.client("s3"))
        yield client


@dataclass
class Strategy:
    key: StrategyKey
    secret: str


@pytest.fixture
def make_strategy(aws: DynamoDBClient, template: LocalTemplate) -> Callable[[str], Strategy]:
    def create(name: str) -> Strategy:
        secret = generate_secret()
        now = utc_now()
        key = StrategyKey(id=new_id(), name=name, secret_prefix=display_prefix(secret), created_at=now, updated_at=now)
        KeyStore(template.physical_name("KeysTable"), client=aws).create(key, hash_secret(secret))
        return Strategy(key, secret)

    return create


@pytest.fixture
def strategy(make_strategy: Callable[[str], Strategy]) -> Strategy:
    return make_strategy("ema-cross")


def load_module(path: Path, name: str) -> ModuleType:
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


Invoke = Callable[..., dict[str, Any]]


@pytest.fixture
def webhook(aws: DynamoDBClient, template: LocalTemplate) -> ModuleType:
    """A cold-started webhook module (fresh settings, clients and key cache) inside moto."""
    return load_module(PROJECT_ROOT / "functions/webhook/app.py", "webhook_app_under_test")


@pytest.fixture
def cold_webhook(aws: DynamoDBClient, monkeypatch: pytest.MonkeyPatch) -> Callable[..., ModuleType]:
    """A webhook cold-started with extra environment variables (as a template parameter would set them)."""
    count = 0

    def start(**environment: str) -> ModuleType:
        nonlocal count
        count += 1
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        return load_module(PROJECT_ROOT / "functions/webhook/app.py", f"webhook_app_variant_{count}")

    return start


@pytest.fixture
def post(webhook: ModuleType, template: LocalTemplate) -> Invoke:
    """POST a body to the webhook handler through a real payload-2.0 event; returns status and JSON body."""
    routes = RouteTable(template.routes())

    def send(
        body: str | bytes,
        *,
        path: str = "/webhook",
        content_type: str = "application/json",
        source_ip: str = "52.89.214.238",
        headers: list[tuple[str, str]] | None = None,
    ) -> dict[str, Any]:
        raw = body.encode() if isinstance(body, str) else body
        matched = routes.match("POST", path)
        assert matched is not None, path
        event = build_event(
            method="POST",
            raw_path=path,
            raw_query="",
            headers=[("content-type", content_type), *(headers or [])],
            body=raw,
            source_ip=source_ip,
            matched=matched,
        )
        return respond(webhook, event)

    return send


def respond(module: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = module.lambda_handler(event, LocalContext(function_name="WebhookFunction"))
    return {"status": response["statusCode"], "json": json.loads(response["body"]), "raw": response}


def sample_event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    return loaded


def all_items(client: DynamoDBClient, table: str) -> list[dict[str, Any]]:
    """Test-only full read of a table (the application itself never scans)."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def alert_items(client: DynamoDBClient, template: LocalTemplate) -> list[dict[str, Any]]:
    return [
        item
        for item in all_items(client, template.physical_name("AlertsTable"))
        if item["pk"]["S"].startswith("ALERT#")
    ]


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: Any


@pytest.fixture
def admin_routes(template: LocalTemplate) -> RouteTable:
    return RouteTable(template.routes())


def call_route(
    module: ModuleType,
    routes: RouteTable,
    method: str,
    target: str,
    body: Any = None,
    headers: list[tuple[str, str]] | None = None,
) -> ApiResponse:
    """Send one request to a function through the payload-2.0 event API Gateway would build."""
    path, _, query = target.partition("?")
    matched = routes.match(method, path)
    assert matched is not None, f"{method} {path} is not a template route"
    raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    event = build_event(
        method=method,
        raw_path=path,
        raw_query=query,
        body=raw,
        source_ip="127.0.0.1",
        headers=[("content-type", "application/json"), *(headers or [])],
        matched=matched,
    )
    event["requestContext"]["authorizer"] = {"lambda": {}}
    response: dict[str, Any] = module.lambda_handler(event, LocalContext(function_name=matched.route.function_id))
    text = response.get("body") or ""
    return ApiResponse(
        status=response["statusCode"],
        headers={name.lower(): value for name, value in (response.get("headers") or {}).items()},
        body=json.loads(text) if text else None,
    )


# -- IAM: what a function's calls need, checked against what its template policy grants ----------------
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def dynamodb_grants_needed(operation: str, params: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(IAM action, table or `table/index/<name>`, leading key) for one DynamoDB call: a transaction and a
    batch read are authorized item by item."""
    if operation == "TransactWriteItems":
        needed = []
        for entry in params["TransactItems"]:
            [(kind, request)] = entry.items()
            key = request.get("Item") or request.get("Key") or {}
            needed.append((f"dynamodb:{_TRANSACT_ACTIONS[kind]}", request["TableName"], key.get("pk", {}).get("S")))
        return needed
    if operation == "BatchGetItem":  # authorized per table, each key against its leading-key condition
        return [
            (f"dynamodb:{operation}", table_name, key.get("pk", {}).get("S"))
            for table_name, request in params["RequestItems"].items()
            for key in request["Keys"]
        ]
    key = params.get("Key") or params.get("Item") or {}
    table = params["TableName"] + (f"/index/{params['IndexName']}" if params.get("IndexName") else "")
    return [(f"dynamodb:{operation}", table, key.get("pk", {}).get("S"))]


def assert_granted(template: LocalTemplate, function: str, needed: list[tuple[str, str, str | None]]) -> None:
    """Every call recorded is allowed by the function's policy (moto enforces no IAM: this does)."""
    tables = {template.physical_name(name): name for name, _ in template.resources_of_type("AWS::DynamoDB::Table")}
    for action, target, leading_key in needed:
        table, _, index = target.partition("/index/")
        resource = template.arn(tables[table]) + (f"/index/{index}" if index else "")
        assert policy_allows(template, function, action, resource, leading_key), (function, action, target, leading_key)


def policy_allows(template: LocalTemplate, function: str, action: str, resource: str, leading_key: str | None) -> bool:
    """Whether one of the function's policy statements allows the action on the resource (and the item's
    leading key, where the statement has a dynamodb:LeadingKeys condition). Allow statements only, as ours."""
    import fnmatch

    for statement in template.raw["Resources"][function]["Properties"]["Policies"][0]["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = template.resolve(statement["Resource"])
        resources = resources if isinstance(resources, list) else [resources]
        if not any(fnmatch.fnmatchcase(action, pattern) for pattern in actions):
            continue
        if not any(fnmatch.fnmatchcase(resource, pattern) for pattern in resources):
            continue
        condition = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
        if condition is None or (
            leading_key is not None and any(fnmatch.fnmatchcase(leading_key, pattern) for pattern in condition)
        ):
            return True
    return False
