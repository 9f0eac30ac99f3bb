"""`arrowhook destinations ...` and `arrowhook alerts show` against `arrowhook dev`, as an operator runs them."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from arrowhook_tools.cli.samples import strategy_alert
from arrowhook_tools.standins.receivers import Receivers, Scripted
from tests.integration.conftest import DevStack, own_strategy

T = TypeVar("T")


@pytest.fixture(scope="module")
def receivers() -> Iterator[Receivers]:
    fakes = Receivers().start()
    yield fakes
    fakes.stop()


def test_cli_adds_tests_lists_and_removes_a_destination_and_shows_deliveries(
    dev_stack: DevStack, client: httpx.Client, receivers: Receivers
) -> None:
    strategy = own_strategy(dev_stack, "dest-cli")
    path = f"/hook/{uuid.uuid4().hex[:8]}"
    added = dev_stack.cli("destinations", "add", "webhook", "--strategy", strategy.name, "--url", receivers.url + path)
    assert added.returncode == 0, added.stderr
    assert "whsec_" in added.stdout, "the signing secret is printed once"
    listed = json.loads(dev_stack.cli("destinations", "list", "--json").stdout)
    (destination,) = [item for item in listed if item["strategies"] == [strategy.key_id]]
    assert "whsec_" not in json.dumps(listed) and path not in json.dumps(listed)

    tested = dev_stack.cli("destinations", "test", destination["id"])
    assert (tested.returncode, "delivered (HTTP 204)" in tested.stdout + tested.stderr) == (0, True), tested.stderr
    assert receivers.wait_for(path, 1, timeout=30)[0].json()["data"]["strategy"] == "arrowhook-test"

    stored = client.post("/webhook", content=strategy_alert(strategy.secret).replace("65000.50", "65001.25"))
    alert_id = stored.json()["alert_id"]
    assert len(receivers.wait_for(path, 2, timeout=60)) == 2
    deadline = time.monotonic() + 60
    while "delivered" not in (shown := dev_stack.cli("alerts", "show", alert_id)).stdout:
        assert time.monotonic() < deadline, shown.stdout
        time.sleep(0.2)
    assert "deliveries" in shown.stdout and destination["name"] in shown.stdout

    removed = dev_stack.cli("destinations", "remove", destination["id"], "--yes")
    assert removed.returncode == 0
    assert all(
        item["id"] != destination["id"] for item in json.loads(dev_stack.cli("destinations", "list", "--json").stdout)
    )


def test_cli_refuses_an_unknown_placeholder_with_the_apis_message(dev_stack: DevStack, receivers: Receivers) -> None:
    result = dev_stack.cli("destinations", "add", "slack", "--url", receivers.url + "/slack/x", "--template", "{nope}")
    assert result.returncode != 0
    assert "unknown placeholder {nope}" in result.stdout + result.stderr


def test_an_email_destination_needs_the_stacks_alert_email_address(dev_stack: DevStack) -> None:
    result = dev_stack.cli("destinations", "add", "email")
    assert result.returncode != 0
    assert "no AlertEmail address" in result.stdout + result.stderr


def test_keys_test_reports_accepted_stored_and_delivered_with_timings(
    dev_stack: DevStack, receivers: Receivers
) -> None:
    mine = own_strategy(dev_stack, "keys-test")
    path = f"/hook/keys-test-{uuid.uuid4().hex[:8]}"
    added = dev_stack.cli(
        "destinations", "add", "webhook", "--strategy", mine.name, "--url", receivers.url + path, "--json"
    )
    destination = json.loads(added.stdout)
    try:
        result = dev_stack.cli("keys", "test", mine.name, "--secret", mine.secret)
        report = result.stdout + result.stderr
        assert result.returncode == 0, report
        for stage in ("accepted by the webhook", "stored", f"delivered to {destination['name']}"):
            assert re.search(rf"{re.escape(stage)}\s+ok\s+\d+\.\d\d s", report), report
        (received,) = receivers.at(path)
        assert received.json()["data"]["ticker"] == "ARROWHOOK-TEST"
        assert received.json()["data"]["test"] is True, "a bot can tell it from a real buy"
        wrong = dev_stack.cli("keys", "test", mine.name, "--secret", "ahk_wrong")
        assert wrong.returncode == 1 and "nothing was sent" in wrong.stdout + wrong.stderr
    finally:
        dev_stack.cli("destinations", "remove", destination["id"], "--yes")


def test_keys_test_refuses_another_strategys_secret_before_sending(dev_stack: DevStack, receivers: Receivers) -> None:
    """It sent the test to the other strategy's destinations, then said "no record in time" after 0.6 s."""
    mine, other = own_strategy(dev_stack, "keys-test-mine"), own_strategy(dev_stack, "keys-test-other")
    path = f"/hook/keys-test-other-{uuid.uuid4().hex[:8]}"
    added = dev_stack.cli(
        "destinations", "add", "webhook", "--strategy", other.name, "--url", receivers.url + path, "--json"
    )
    destination = json.loads(added.stdout)
    try:
        result = dev_stack.cli("keys", "test", mine.name, "--secret", other.secret)
        assert result.returncode == 1, result.stdout + result.stderr
        report = result.stdout + result.stderr
        assert f"this secret is not {mine.name}'s" in report and "nothing was sent" in report
        assert "accepted by the webhook" not in report
        fence = dev_stack.cli("keys", "test", other.name, "--secret", other.secret)  # the stream keeps order
        assert fence.returncode == 0, fence.stdout + fence.stderr
        assert len(receivers.at(path)) == 1, "only the fence reached the other strategy's destination"
    finally:
        dev_stack.cli("destinations", "remove", destination["id"], "--yes")


def _until(check: Callable[[], T], done: Callable[[T], bool], timeout: float = 60) -> T:
    deadline = time.monotonic() + timeout
    while not done(found := check()) and time.monotonic() < deadline:
        time.sleep(0.3)
    return found


def test_a_gone_destination_is_paused_and_resume_sends_what_it_missed_in_order(
    dev_stack: DevStack, client: httpx.Client, receivers: Receivers
) -> None:
    """A receiver answering 410 Gone is paused at once (its alert failed); the next alert waits, held.
    `destinations resume` switches it on and sends both again, oldest first, with their first message ids."""
    strategy = own_strategy(dev_stack, "gone")
    path = f"/hook/gone-{uuid.uuid4().hex[:8]}"
    receivers.script(path, Scripted(410, "this webhook was deleted"))
    added = dev_stack.cli(
        "destinations", "add", "webhook", "--strategy", strategy.name, "--url", receivers.url + path, "--json"
    )
    destination = json.loads(added.stdout)

    def mine() -> dict[str, Any]:
        listed = json.loads(dev_stack.cli("destinations", "list", "--json").stdout)
        return next(item for item in listed if item["id"] == destination["id"])

    def unsent() -> list[dict[str, Any]]:
        found = dev_stack.cli("deliveries", "unsent", "--destination", destination["id"], "--json")
        assert found.returncode == 0, found.stderr
        items: list[dict[str, Any]] = json.loads(found.stdout)
        return items

    first = client.post("/webhook", content=strategy_alert(strategy.secret).replace("65000.50", "1.5")).json()
    paused = _until(mine, lambda found: not found["enabled"])
    assert paused["paused_reason"] == "disabled: it answered 410 Gone", paused
    second = client.post("/webhook", content=strategy_alert(strategy.secret).replace("65000.50", "2.5")).json()
    missed = _until(unsent, lambda found: len(found) == 2)
    assert [(item["alert_id"], item["status"]) for item in missed] == [
        (first["alert_id"], "failed"),
        (second["alert_id"], "held"),
    ]
    table = dev_stack.cli("destinations", "list")
    assert "paused: disabled: it answered 410 Gone" in table.stdout, table.stdout
    assert len(receivers.at(path)) == 1, "nothing is sent to a paused destination"

    resumed = dev_stack.cli("destinations", "resume", destination["id"])
    assert resumed.returncode == 0 and "2 missed deliveries sent again" in resumed.stderr, resumed.stderr
    gone, *again = receivers.wait_for(path, 3)
    assert [item.json()["data"]["alert_id"] for item in again] == [first["alert_id"], second["alert_id"]]
    assert again[0].headers["webhook-id"] == gone.headers["webhook-id"], "a receiver that saw it can drop it"
    assert _until(unsent, lambda found: not found) == []
    assert mine()["enabled"] is True and mine()["paused_reason"] is None
    dev_stack.cli("destinations", "remove", destination["id"], "--yes")


def test_a_dry_run_only_lists_and_a_redrive_sends_again(
    dev_stack: DevStack, client: httpx.Client, receivers: Receivers
) -> None:
    strategy = own_strategy(dev_stack, "redrive")
    path = f"/hook/redrive-{uuid.uuid4().hex[:8]}"
    receivers.script(path, Scripted(400, "bad request"))  # not retried: failed at once
    added = dev_stack.cli(
        "destinations", "add", "webhook", "--strategy", strategy.name, "--url", receivers.url + path, "--json"
    )
    destination = json.loads(added.stdout)
    sent = client.post("/webhook", content=strategy_alert(strategy.secret)).json()
    listing = ["deliveries", "unsent", "--strategy", strategy.name, "--json"]
    failed = _until(lambda: json.loads(dev_stack.cli(*listing).stdout), bool)
    assert [(item["alert_id"], item["status"], item["last_error"]) for item in failed] == [
        (sent["alert_id"], "failed", "HTTP 400: bad request")
    ]
    dry = dev_stack.cli("deliveries", "redrive", "--strategy", strategy.name, "--dry-run")
    assert dry.returncode == 0 and sent["alert_id"] in dry.stdout and "dry run" in dry.stdout, dry.stdout
    redriven = dev_stack.cli("deliveries", "redrive", "--strategy", strategy.name, "--yes")
    assert redriven.returncode == 0 and "1 sent again" in redriven.stderr, redriven.stderr
    assert len(receivers.wait_for(path, 2)) == 2
    assert _until(lambda: json.loads(dev_stack.cli(*listing).stdout), lambda found: not found) == []
    dev_stack.cli("destinations", "remove", destination["id"], "--yes")
