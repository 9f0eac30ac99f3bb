"""Admin API and CLI through the local gateway: the authorizer as API Gateway runs it, key lifecycle."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from arrowhook_tools.cli.samples import strategy_alert
from tests.integration.conftest import DevStack, own_strategy

pytestmark = pytest.mark.integration


@pytest.fixture
def admin(dev_stack: DevStack) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {dev_stack.admin_token}"}
    with httpx.Client(base_url=dev_stack.api_url, headers=headers, timeout=30) as http:
        yield http


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def webhook_status(client: httpx.Client, secret: str) -> int:
    body = strategy_alert(secret, nonce=uuid.uuid4().hex)
    return client.post("/webhook", content=body, headers={"Content-Type": "application/json"}).status_code


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/keys"),
        ("POST", "/keys"),
        ("GET", "/keys/abc"),
        ("PATCH", "/keys/abc"),
        ("DELETE", "/keys/abc"),
        ("POST", "/keys/abc/rotate"),
    ],
)
def test_admin_routes_need_the_token(client: httpx.Client, method: str, path: str) -> None:
    missing = client.request(method, path)
    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})
    wrong = client.request(method, path, headers={"Authorization": "Bearer not-the-token"})
    assert (wrong.status_code, wrong.json()) == (403, {"message": "Forbidden"})
    assert client.request(method, path, headers={"Authorization": "Basic abc"}).status_code == 403


def test_health_and_version_stay_public(client: httpx.Client) -> None:
    health = client.get("/health")
    assert (health.status_code, health.json()) == (
        200,
        {"status": "ok", "version": "0.2.0", "checks": {"store": "ok"}},
    )
    version = client.get("/version")
    assert version.status_code == 200
    assert version.json() == {"version": "0.2.0", "commit": "local", "built_at": "unknown"}, "run from source"


def test_key_lifecycle_over_http(admin: httpx.Client, client: httpx.Client) -> None:
    created = admin.post("/keys", json={"name": unique("life"), "description": "integration"})
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    key: dict[str, Any] = created.json()
    secret = key["secret"]
    assert webhook_status(client, secret) == 200

    listed = admin.get("/keys", params={"name": key["name"]})
    assert [item["id"] for item in listed.json()["items"]] == [key["id"]]
    assert secret not in listed.text and secret not in admin.get(f"/keys/{key['id']}").text

    assert admin.patch(f"/keys/{key['id']}", json={"enabled": False}).json()["status"] == "disabled"
    assert webhook_status(client, secret) == 401
    assert admin.patch(f"/keys/{key['id']}", json={"enabled": True}).status_code == 200
    assert webhook_status(client, secret) == 200

    graced = admin.post(f"/keys/{key['id']}/rotate", json={"grace_seconds": 3600}).json()["secret"]
    assert webhook_status(client, secret) == 200, "old secret inside its grace period"
    assert webhook_status(client, graced) == 200
    newest = admin.post(f"/keys/{key['id']}/rotate", json={"grace_seconds": 0}).json()["secret"]
    assert webhook_status(client, graced) == 401, "rotated out with no grace"
    assert webhook_status(client, secret) == 401
    assert webhook_status(client, newest) == 200

    assert admin.delete(f"/keys/{key['id']}").status_code == 204
    assert webhook_status(client, newest) == 401
    assert admin.get(f"/keys/{key['id']}").status_code == 404


def test_name_clash_and_validation(admin: httpx.Client) -> None:
    name = unique("clash")
    assert admin.post("/keys", json={"name": name}).status_code == 201
    assert admin.post("/keys", json={"name": name.upper()}).status_code == 409
    invalid = admin.post("/keys", json={"name": ""})
    assert invalid.status_code == 422
    assert invalid.json()["details"][0]["field"] == "body.name"


def cli_json(dev_stack: DevStack, *args: str) -> Any:
    result = dev_stack.cli(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_cli_manages_keys_through_the_api(dev_stack: DevStack, client: httpx.Client) -> None:
    name = unique("cli")
    created = cli_json(dev_stack, "keys", "create", "--name", name, "--description", "from the CLI")
    assert webhook_status(client, created["secret"]) == 200
    assert [key["id"] for key in cli_json(dev_stack, "keys", "list", "--name", name)] == [created["id"]]
    assert cli_json(dev_stack, "keys", "show", created["id"])["description"] == "from the CLI"
    assert cli_json(dev_stack, "keys", "disable", created["id"])["status"] == "disabled"
    assert webhook_status(client, created["secret"]) == 401
    assert cli_json(dev_stack, "keys", "enable", created["id"])["status"] == "active"
    renamed = cli_json(dev_stack, "keys", "update", created["id"], "--name", name + "-x")
    assert renamed["name"] == name + "-x"
    rotated = cli_json(dev_stack, "keys", "rotate", created["id"], "--grace", "0")
    assert webhook_status(client, created["secret"]) == 401
    assert webhook_status(client, rotated["secret"]) == 200
    deleted = dev_stack.cli("keys", "delete", created["id"], "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert webhook_status(client, rotated["secret"]) == 401

    table = dev_stack.cli("keys", "list", "--name", "demo")
    assert table.returncode == 0
    assert "1 key(s)" in table.stdout and " demo " in table.stdout and "ahk_local-" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("keys", "show", "no-such-key"), "no strategy 'no-such-key'"),
        (("keys", "list", "--token", "wrong"), "not authorized"),
        (("keys", "rotate", "x", "--grace", "soon"), "invalid duration"),
        (("keys", "update", "x"), "nothing to update"),
    ],
)
def test_cli_errors_exit_non_zero_with_a_message(dev_stack: DevStack, args: tuple[str, ...], message: str) -> None:
    result = dev_stack.cli(*args)
    assert result.returncode != 0
    assert message in result.stderr


def test_a_rotated_secret_works_in_its_grace_and_not_after_the_next_rotation(
    admin: httpx.Client, client: httpx.Client
) -> None:
    """Over HTTP without waiting on the clock (a 1 s grace failed on a loaded machine before the first
    post); the expiry itself is tested with an injected clock (test_keys_api, test_webhook)."""
    key = admin.post("/keys", json={"name": unique("grace")}).json()
    second = admin.post(f"/keys/{key['id']}/rotate", json={"grace_seconds": 3600}).json()
    assert (webhook_status(client, key["secret"]), webhook_status(client, second["secret"])) == (200, 200)
    third = admin.post(f"/keys/{key['id']}/rotate", json={"grace_seconds": 3600}).json()
    assert webhook_status(client, key["secret"]) == 401, "only the last secret keeps a grace period"
    assert (webhook_status(client, second["secret"]), webhook_status(client, third["secret"])) == (200, 200)


def test_secrets_never_reach_the_local_stack_logs(
    admin: httpx.Client, client: httpx.Client, dev_stack: DevStack
) -> None:
    key = admin.post("/keys", json={"name": unique("logs")}).json()
    rotated = admin.post(f"/keys/{key['id']}/rotate").json()
    assert webhook_status(client, rotated["secret"]) == 200
    client.post(f"/webhook/{rotated['secret']}", content=b"token in the path")
    log = dev_stack.log_file.read_text().split("Ctrl-C to stop.", 1)[1]  # after the banner that prints the token
    assert "key rotated" in log and "alert stored" in log, "the function logs were captured"
    for secret in (key["secret"], rotated["secret"], dev_stack.admin_token):
        assert secret not in log


def test_cli_shows_the_positions_a_strategys_alerts_imply(dev_stack: DevStack, client: httpx.Client) -> None:
    mine = own_strategy(dev_stack, "positions")
    body = strategy_alert(mine.secret, ticker="LTCUSDT", market_position="long", market_position_size="3")
    assert client.post("/webhook", content=body).status_code == 200
    shown = dev_stack.cli("keys", "positions", mine.name)
    assert shown.returncode == 0, shown.stderr
    assert "LTCUSDT" in shown.stdout and "long" in shown.stdout
    as_json = json.loads(dev_stack.cli("keys", "positions", mine.key_id, "--json").stdout)
    assert {"ticker": "LTCUSDT", "position": "long", "size": "3"}.items() <= next(
        position for position in as_json["positions"] if position["ticker"] == "LTCUSDT"
    ).items()


def test_a_repeated_delivery_is_listed_by_the_api_and_the_cli(dev_stack: DevStack, client: httpx.Client) -> None:
    mine = own_strategy(dev_stack, "repeats")
    body = strategy_alert(mine.secret, comment="sent twice")
    first, second = (client.post("/webhook", content=body).json() for _ in range(2))
    assert (second["alert_id"], second["duplicate"]) == (first["alert_id"], True)
    headers = {"Authorization": f"Bearer {dev_stack.admin_token}"}
    [repeat] = client.get(f"/alerts/{first['alert_id']}", headers=headers).json()["duplicates"]
    assert repeat["request_id"] and repeat["received_at"]
    shown = dev_stack.cli("alerts", "show", first["alert_id"])
    assert shown.returncode == 0, shown.stderr
    assert "repeated deliveries" in shown.stdout and repeat["request_id"][:12] in shown.stdout


def test_cli_declares_a_strategys_signals_and_runs_the_silence_check(dev_stack: DevStack, client: httpx.Client) -> None:
    mine = own_strategy(dev_stack, "signals")
    hours = "Mon-Fri 09:30-16:00 America/New_York"
    declared = dev_stack.cli(
        "signals", "set", mine.name, "--max-lag", "90", "--every", "30", "--hours", hours, "--sequence", "alternating",
        "--json",
    )  # fmt: skip
    assert declared.returncode == 0, declared.stderr
    assert json.loads(declared.stdout)["signals"] == {
        "max_lag_seconds": 90,
        "sequence": "alternating",
        "expect_every_minutes": 30,
        "trading_hours": {
            "timezone": "America/New_York",
            "weekdays": [0, 1, 2, 3, 4],
            "start": "09:30:00",
            "end": "16:00:00",
        },
    }
    shown = dev_stack.cli("signals", "show", mine.key_id)
    assert shown.returncode == 0 and "mon,tue,wed,thu,fri 09:30-16:00 America/New_York" in shown.stdout
    kept = dev_stack.cli("signals", "set", mine.name, "--max-lag", "0", "--json")  # 0 turns one number off
    assert json.loads(kept.stdout)["signals"]["max_lag_seconds"] is None
    assert json.loads(kept.stdout)["signals"]["expect_every_minutes"] == 30, "the others are kept"
    refused = dev_stack.cli("signals", "set", mine.name, "--hours", "someday 9-5")
    assert refused.returncode == 2 and "trading hours" in refused.stderr
    checked = dev_stack.cli("signals", "check", "--json")
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["watched"] >= 1
