"""A trader's and an operator's journey, end to end: only HTTP and the CLI (see conftest)."""

from __future__ import annotations

import json
import time
import uuid

import httpx

from tests.e2e.conftest import OwnStrategy, Target

#: A deployed webhook caches keys (KeyCacheTtlSeconds, 60 s by default): a change shows within it.
KEY_CACHE_WAIT_SECONDS = 90


def _alert(secret: str, **fields: str) -> dict[str, str]:
    return {
        "key": secret,
        "ticker": "E2EUSDT",
        "action": "buy",
        "price": "101.5",
        "comment": uuid.uuid4().hex,
        **fields,
    }


def test_the_stack_answers_its_health_check(target: Target) -> None:
    answer = httpx.get(f"{target.api_url}/health", timeout=30)
    assert answer.status_code == 200 and answer.json()["status"] == "ok"


def test_an_alert_is_stored_once_listed_and_shown_with_its_repeat(target: Target, strategy: OwnStrategy) -> None:
    body = _alert(strategy.secret)
    first = httpx.post(f"{target.api_url}/webhook", json=body, timeout=30)
    second = httpx.post(f"{target.api_url}/webhook", json=body, timeout=30)
    assert first.status_code == 200 and first.json()["duplicate"] is False
    assert second.json() == {**first.json(), "duplicate": True}
    alert_id = first.json()["alert_id"]
    listed = target.cli("alerts", "list", "--strategy", strategy.name, "--json")
    assert listed.returncode == 0, listed.stderr
    assert [item["alert_id"] for item in json.loads(listed.stdout)] == [alert_id]
    shown = json.loads(target.cli("alerts", "show", alert_id, "--json").stdout)
    assert (shown["ticker"], shown["price"], shown["side"]) == ("E2EUSDT", "101.5", "buy")
    assert json.loads(shown["payload"])["key"] == "***", "the secret is never stored"
    assert len(shown["duplicates"]) == 1


def test_a_forged_or_malformed_request_is_refused_with_a_json_error(target: Target) -> None:
    forged = httpx.post(f"{target.api_url}/webhook", json=_alert("ahk_forged"), timeout=30)
    assert forged.status_code == 401 and forged.json()["error"] == "unauthorized"
    empty = httpx.post(f"{target.api_url}/webhook", content=b"", timeout=30)
    assert empty.status_code == 400 and empty.json()["error"] == "empty_body"
    admin = httpx.get(f"{target.api_url}/keys", timeout=30)
    assert admin.status_code == 401, "the admin API needs the token"


def test_the_test_alert_reaches_every_stage(target: Target, strategy: OwnStrategy) -> None:
    tested = target.cli("keys", "test", strategy.name, "--secret", strategy.secret)
    said = tested.stdout + tested.stderr  # the stages are reported on the console (stderr)
    assert tested.returncode == 0, said
    assert "accepted" in said and "stored" in said


def test_signals_are_declared_and_a_late_alert_is_flagged(target: Target, strategy: OwnStrategy) -> None:
    declared = target.cli("signals", "set", strategy.name, "--max-lag", "60", "--json")
    assert declared.returncode == 0, declared.stderr
    fired = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 300))
    alert_id = httpx.post(f"{target.api_url}/webhook", json=_alert(strategy.secret, timenow=fired), timeout=30).json()[
        "alert_id"
    ]
    deadline = time.monotonic() + 60
    with target.admin() as admin:
        # Until then, the health is only the lag the alert carries (no `checked_at`).
        while not (health := admin.get(f"/alerts/{alert_id}").json().get("health") or {}).get("checked_at"):
            assert time.monotonic() < deadline, "the signal checks ran"
            time.sleep(0.5)
    assert health["late"] is True and health["lag_ms"] >= 300_000


def test_a_disabled_key_is_refused_and_a_deleted_one_too(target: Target, strategy: OwnStrategy) -> None:
    assert target.cli("keys", "disable", strategy.key_id).returncode == 0
    deadline = time.monotonic() + KEY_CACHE_WAIT_SECONDS
    while httpx.post(f"{target.api_url}/webhook", json=_alert(strategy.secret), timeout=30).status_code != 401:
        assert time.monotonic() < deadline, "a disabled key stops authenticating within the key cache TTL"
        time.sleep(2)
    assert target.cli("keys", "delete", strategy.key_id, "--yes").returncode == 0
    assert target.cli("keys", "show", strategy.key_id).returncode == 1
