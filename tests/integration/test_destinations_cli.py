"""`arrowhook destinations ...` and `arrowhook alerts show` against `arrowhook dev`, as an operator runs them."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from arrowhook_tools.receivers import Receivers
from arrowhook_tools.samples import strategy_alert
from tests.integration.conftest import DevStack, own_strategy


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
