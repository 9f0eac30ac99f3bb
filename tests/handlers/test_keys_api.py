"""Keys admin API through Mangum with real payload-2.0 events, inside moto."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from arrowhook.core.models import KeyStatus
from arrowhook.keys.resolver import KeyResolver
from arrowhook.keys.store import KeyStore
from arrowhook_tools.local.template import PROJECT_ROOT, LocalTemplate
from arrowhook_tools.standins.gateway_routes import RouteTable
from tests.conftest import ApiResponse, all_items, call_route, load_module

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Call = Callable[..., ApiResponse]


@pytest.fixture
def keys_app(aws: DynamoDBClient, template: LocalTemplate, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    import boto3
    from aws_lambda_powertools.utilities import parameters

    from arrowhook_tools.standins.embedded_aws import provision_secure_parameters

    for name, value in template.function_spec("KeysFunction").environment.items():
        monkeypatch.setenv(name, value)
    provision_secure_parameters(template, boto3.client("ssm"))
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    return load_module(PROJECT_ROOT / "functions/keys/app.py", "keys_app_under_test")


@pytest.fixture
def api(keys_app: ModuleType, admin_routes: RouteTable) -> Call:
    def call(method: str, target: str, body: Any = None) -> ApiResponse:
        return call_route(keys_app, admin_routes, method, target, body)

    return call


@pytest.fixture
def resolver(template: LocalTemplate, aws: DynamoDBClient) -> KeyResolver:
    """The webhook's own lookup, uncached, to see what a secret authenticates as right now."""
    return KeyResolver(template.physical_name("KeysTable"), ttl_seconds=0)


def accepted(resolver: KeyResolver, secret: str, at: float | None = None) -> bool:
    auth = resolver.resolve(secret)
    return auth is not None and auth.accepts(time.time() if at is None else at)


def test_create_returns_the_secret_once(api: Call, resolver: KeyResolver) -> None:
    created = api("POST", "/keys", {"name": "ema-cross", "description": "BTC 15m"})
    assert created.status == 201
    body = created.body
    assert body["secret"].startswith("ahk_") and len(body["secret"]) >= 40
    assert body["secret_prefix"] == body["secret"][:10]
    assert (body["name"], body["description"], body["status"]) == ("ema-cross", "BTC 15m", "active")
    assert accepted(resolver, body["secret"])
    shown = api("GET", f"/keys/{body['id']}")
    assert shown.status == 200
    assert "secret" not in shown.body and "secret_hash" not in shown.body
    listed = api("GET", "/keys")
    assert body["secret"] not in json.dumps(listed.body)
    assert "hash" not in json.dumps(listed.body)


def test_security_headers_on_every_response(api: Call) -> None:
    for response in (
        api("POST", "/keys", {"name": "a"}),
        api("GET", "/keys"),
        api("GET", "/keys/nope"),
        api("POST", "/keys", {"bad": 1}),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"


def test_names_are_unique_case_insensitively(api: Call) -> None:
    assert api("POST", "/keys", {"name": "Alpha"}).status == 201
    clash = api("POST", "/keys", {"name": "alpha"})
    assert clash.status == 409
    assert (clash.body["error"], "already exists" in clash.body["message"]) == ("name_taken", True)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x" * 65},
        {"name": "bad/name"},
        {"name": " lead"},
        {"name": "ok", "extra": 1},
        {"name": 5},
    ],
)
def test_invalid_create_is_422(api: Call, body: Any) -> None:
    response = api("POST", "/keys", body)
    assert response.status == 422
    assert response.body["error"] == "invalid_request" and isinstance(response.body["details"], list)


@pytest.mark.parametrize("raw", [b"not json", b'{"name": "x",', b"\xff"])
@pytest.mark.parametrize(("method", "path"), [("POST", "/keys"), ("PATCH", "/keys/01X"), ("POST", "/keys/01X/rotate")])
def test_a_body_that_is_not_json_is_400_as_documented(api: Call, raw: bytes, method: str, path: str) -> None:
    response = api(method, path, raw)
    assert response.status == 400
    assert response.body["message"] in ("the body is not valid JSON", "There was an error parsing the body")
    assert response.headers["x-content-type-options"] == "nosniff"


def test_unknown_id_is_404(api: Call) -> None:
    for method, target, body in (
        ("GET", "/keys/nope", None),
        ("PATCH", "/keys/nope", {"enabled": False}),
        ("POST", "/keys/nope/rotate", None),
        ("DELETE", "/keys/nope", None),
    ):
        response = api(method, target, body)
        assert (response.status, response.body) == (404, {"error": "not_found", "message": "key not found"}), (
            method,
            target,
        )


def test_list_pages_by_name_without_gaps_or_duplicates(api: Call) -> None:
    names = [f"strategy-{number:02d}" for number in range(7)] + ["other"]
    for name in names:
        api("POST", "/keys", {"name": name})
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        target = "/keys?name=STRATEGY&limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = api("GET", target)
        assert page.status == 200
        seen.extend(item["name"] for item in page.body["items"])
        cursor = page.body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(name for name in names if name.startswith("strategy"))


def test_tampered_or_foreign_cursor_is_400(api: Call) -> None:
    for number in range(3):
        api("POST", "/keys", {"name": f"s{number}"})
    cursor = api("GET", "/keys?limit=1").body["next_cursor"]
    assert cursor
    assert api("GET", f"/keys?limit=1&cursor={cursor}").status == 200
    assert api("GET", f"/keys?name=s&limit=1&cursor={cursor}").status == 400, "a cursor of another query"
    assert api("GET", "/keys?cursor=garbage").status == 400
    # A well-formed but unsigned cursor (what the API used to issue, and anyone could forge):
    import base64

    forged_key = {"pk": {"S": "KEY#x"}, "entity": {"S": "key"}, "name_lower": {"S": "a"}}
    forged = base64.urlsafe_b64encode(json.dumps({"k": forged_key, "s": ""}).encode()).decode().rstrip("=")
    assert api("GET", f"/keys?limit=1&cursor={forged}").status == 400
    body, _, signature = cursor.partition(".")
    assert signature and api("GET", f"/keys?limit=1&cursor={body}.{signature[::-1]}").status == 400
    assert api("GET", f"/keys?cursor={cursor[:-4]}").status == 400


def test_disable_enable_and_rename(api: Call, resolver: KeyResolver) -> None:
    created = api("POST", "/keys", {"name": "one"}).body
    api("POST", "/keys", {"name": "two"})
    disabled = api("PATCH", f"/keys/{created['id']}", {"enabled": False})
    assert (disabled.status, disabled.body["status"]) == (200, "disabled")
    assert not accepted(resolver, created["secret"])
    assert api("PATCH", f"/keys/{created['id']}", {"name": "two"}).status == 409
    renamed = api("PATCH", f"/keys/{created['id']}", {"name": "uno", "description": "renamed", "enabled": True})
    assert (renamed.body["name"], renamed.body["description"], renamed.body["status"]) == ("uno", "renamed", "active")
    auth = resolver.resolve(created["secret"])
    assert auth is not None and (auth.name, auth.status) == ("uno", KeyStatus.ACTIVE)
    assert api("POST", "/keys", {"name": "one"}).status == 201, "the old name is free again"
    assert api("PATCH", f"/keys/{created['id']}", {"name": "UNO"}).body["name"] == "UNO", "case-only rename"


def test_rotate_without_grace_rejects_the_old_secret_at_once(api: Call, resolver: KeyResolver) -> None:
    created = api("POST", "/keys", {"name": "rot"}).body
    rotated = api("POST", f"/keys/{created['id']}/rotate")
    assert rotated.status == 200
    assert rotated.body["secret"] != created["secret"]
    assert accepted(resolver, rotated.body["secret"])
    assert not accepted(resolver, created["secret"])


def test_rotate_with_grace_keeps_the_old_secret_until_it_expires(api: Call, resolver: KeyResolver) -> None:
    created = api("POST", "/keys", {"name": "rot"}).body
    new = api("POST", f"/keys/{created['id']}/rotate", {"grace_seconds": 3600}).body["secret"]
    now = time.time()
    assert accepted(resolver, new) and accepted(resolver, created["secret"])
    assert not accepted(resolver, created["secret"], at=now + 3601)
    newest = api("POST", f"/keys/{created['id']}/rotate", {"grace_seconds": 60}).body["secret"]
    assert not accepted(resolver, created["secret"]), "only the last secret gets a grace period"
    assert accepted(resolver, new) and accepted(resolver, newest)
    api("PATCH", f"/keys/{created['id']}", {"enabled": False})
    assert not accepted(resolver, new), "disabling covers the secret in grace too"


def test_verify_tells_whether_a_secret_is_the_keys_own(api: Call) -> None:
    """What `arrowhook keys test` asks before it sends: another strategy's secret would have reached
    that strategy's destinations."""
    mine, other = api("POST", "/keys", {"name": "mine"}).body, api("POST", "/keys", {"name": "other"}).body

    def verify(key: dict[str, Any]) -> Callable[[str], ApiResponse]:
        return lambda secret: api("POST", f"/keys/{key['id']}/verify", {"secret": secret})

    assert verify(mine)(mine["secret"]).body == {"key_id": mine["id"], "matches": True, "active": True}
    assert verify(mine)(other["secret"]).body["matches"] is False
    assert verify(mine)("ahk_guess").body["matches"] is False
    rotated = api("POST", f"/keys/{mine['id']}/rotate", {"grace_seconds": 3600}).body
    assert verify(mine)(mine["secret"]).body["matches"] is True, "the old secret, inside its grace"
    assert verify(mine)(rotated["secret"]).body["matches"] is True
    api("PATCH", f"/keys/{mine['id']}", {"enabled": False})
    assert verify(mine)(rotated["secret"]).body == {"key_id": mine["id"], "matches": True, "active": False}
    assert api("POST", "/keys/nope/verify", {"secret": "x"}).status == 404
    assert api("POST", f"/keys/{mine['id']}/verify", {"secret": ""}).status == 422


def test_rotate_rejects_a_negative_grace(api: Call) -> None:
    created = api("POST", "/keys", {"name": "rot"}).body
    assert api("POST", f"/keys/{created['id']}/rotate", {"grace_seconds": -1}).status == 422


def test_delete_stops_authentication_and_keeps_alerts(
    api: Call,
    resolver: KeyResolver,
    aws: DynamoDBClient,
    template: LocalTemplate,
    cold_webhook: Callable[..., ModuleType],
    admin_routes: RouteTable,
) -> None:
    created = api("POST", "/keys", {"name": "gone"}).body
    old = created["secret"]
    api("POST", f"/keys/{created['id']}/rotate", {"grace_seconds": 600})
    webhook = cold_webhook()
    stored = call_route(webhook, admin_routes, "POST", "/webhook", {"key": old, "ticker": "X"})
    assert stored.status == 200
    assert api("DELETE", f"/keys/{created['id']}").status == 204
    assert not accepted(resolver, old)
    assert api("GET", f"/keys/{created['id']}").status == 404
    assert api("POST", "/keys", {"name": "gone"}).status == 201
    alerts = [
        item for item in all_items(aws, template.physical_name("AlertsTable")) if item["pk"]["S"].startswith("ALERT#")
    ]
    assert [item["alert_id"]["S"] for item in alerts] == [stored.body["alert_id"]]
    leftovers = [
        item["pk"]["S"]
        for item in all_items(aws, template.physical_name("KeysTable"))
        if item.get("key_id", {}).get("S") == created["id"] or item["pk"]["S"] == f"KEY#{created['id']}"
    ]
    assert leftovers == []


def test_store_outage_is_503(api: Call, keys_app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "Query")

    monkeypatch.setattr(keys_app.store._client, "query", fail)
    response = api("GET", "/keys")
    assert (response.status, response.body) == (
        503,
        {"error": "unavailable", "message": "store temporarily unavailable, retry"},
    )


def test_a_rotation_that_loses_a_race_is_409_and_stores_nothing(
    api: Call, keys_app: ModuleType, monkeypatch: pytest.MonkeyPatch, resolver: KeyResolver
) -> None:
    """A change lands between the rotation's read and its write (as a second click's rotation would)."""
    created = api("POST", "/keys", {"name": "raced"}).body
    store = keys_app.store
    real_record = store._record
    someone_else = KeyStore(store.table_name, client=store._client)

    def read_then_someone_else_writes(key_id: str) -> Any:
        record = real_record(key_id)
        someone_else.update(key_id, name=None, description="changed meanwhile", status=None)
        return record

    monkeypatch.setattr(store, "_record", read_then_someone_else_writes)
    response = api("POST", f"/keys/{created['id']}/rotate", {"grace_seconds": 0})
    assert response.status == 409 and "changed meanwhile" in response.body["message"]
    monkeypatch.setattr(store, "_record", real_record)
    assert accepted(resolver, created["secret"]), "the losing rotation changed nothing"
    assert api("GET", f"/keys/{created['id']}").body["description"] == "changed meanwhile"


def test_secrets_never_logged(api: Call, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    created = api("POST", "/keys", {"name": "quiet"}).body
    rotated = api("POST", f"/keys/{created['id']}/rotate").body
    output = capfd.readouterr()
    records = " ".join(repr(record.__dict__) for record in caplog.records)
    assert "key created" in records and "key rotated" in records
    for secret in (created["secret"], rotated["secret"]):
        for text in (records, output.out, output.err):
            assert secret not in text


@pytest.mark.parametrize(
    ("method", "target", "body", "status", "code"),
    [
        ("GET", "/keys/01NOSUCHKEY0000000000000000", None, 404, "not_found"),
        ("POST", "/keys", b"{not json", 400, "invalid_json"),
        ("POST", "/keys", {"name": ""}, 422, "invalid_request"),
        ("PATCH", "/keys/01NOSUCHKEY0000000000000000", {"enabled": "sometimes"}, 422, "invalid_request"),
        ("GET", "/keys?limit=0", None, 422, "invalid_request"),
    ],
)
def test_every_admin_error_has_the_one_envelope(
    api: Call, method: str, target: str, body: Any, status: int, code: str
) -> None:
    """{"error", "message"} (+ "details" for a request that does not match the schema), as the webhook answers."""
    response = api(method, target, body)
    assert (response.status, response.body["error"]) == (status, code)
    assert set(response.body) <= {"error", "message", "details"} and response.body["message"]
    if code == "invalid_request":
        assert response.body["details"] and all(
            set(detail) == {"field", "problem"} for detail in response.body["details"]
        )


def test_every_call_the_keys_api_makes_is_granted_by_its_policy(
    api: Call, keys_app: ModuleType, template: LocalTemplate
) -> None:
    """Its writes are limited to KEY#, NAME# and SECRET# items (moto enforces no IAM: this does)."""
    from tests.conftest import assert_granted, dynamodb_grants_needed, policy_allows

    needed: list[tuple[str, str, str | None]] = []
    keys_app.store._client.meta.events.register(
        "provide-client-params.dynamodb",
        lambda model, params, **_: needed.extend(dynamodb_grants_needed(model.name, params)),
    )
    key = api("POST", "/keys", {"name": "granted"}).body
    api("PATCH", f"/keys/{key['id']}", {"name": "granted-too", "enabled": False})
    api("POST", f"/keys/{key['id']}/rotate", {"grace_seconds": 60})
    api("POST", f"/keys/{key['id']}/verify", {"secret": key["secret"]})
    api("GET", "/keys")
    api("DELETE", f"/keys/{key['id']}")
    assert {action for action, _, _ in needed} >= {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"}
    assert_granted(template, "KeysFunction", needed)
    assert not policy_allows(template, "KeysFunction", "dynamodb:PutItem", template.arn("KeysTable"), "DESTINATION#x")


def test_strategies_is_the_routes_one_name_and_keys_stays_an_alias(api: Call, resolver: KeyResolver) -> None:
    """`/strategies/{strategy}` takes an id or a name (as `/strategies/{strategy}/positions` does); `/keys`,
    the first spelling, answers the same for an id, and a name there is still no key."""
    created = api("POST", "/strategies", {"name": "ema-cross"})
    assert created.status == 201 and accepted(resolver, created.body["secret"])
    key_id = created.body["id"]
    assert api("GET", "/strategies/EMA-cross").body == api("GET", f"/keys/{key_id}").body
    assert api("GET", "/keys/ema-cross").status == 404
    assert [item["id"] for item in api("GET", "/strategies?name=ema").body["items"]] == [key_id]
    assert api("PATCH", "/strategies/ema-cross", {"name": "ema-fast"}).body["name"] == "ema-fast"
    rotated = api("POST", "/strategies/ema-fast/rotate", {"grace_seconds": 0})
    assert rotated.status == 200 and not accepted(resolver, created.body["secret"])
    assert api("POST", "/strategies/ema-fast/verify", {"secret": rotated.body["secret"]}).body["matches"] is True
    assert api("DELETE", "/strategies/ema-fast").status == 204
    assert api("GET", f"/keys/{key_id}").status == 404 and api("GET", "/strategies/ema-fast").status == 404
