"""`make dev`'s stack over real HTTP: TradingView-shaped requests, concurrency, the CLI."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from arrowhook.alerts.store import alert_from_item
from arrowhook_tools.cli.samples import strategy_alert
from arrowhook_tools.local.stack import DEMO_SECRET
from arrowhook_tools.local.template import PROJECT_ROOT, LocalTemplate
from tests.conftest import SAMPLE_EVENT_STATUS, alert_items
from tests.integration.conftest import DevStack

pytestmark = pytest.mark.integration
PARALLEL_POSTS = 200


def tradingview_body(**overrides: Any) -> str:
    return strategy_alert(DEMO_SECRET, nonce=uuid.uuid4().hex, **overrides)


def stored_ids(stack: DevStack) -> set[str]:
    return {item["alert_id"]["S"] for item in alert_items(stack.dynamodb, LocalTemplate())}


def post_json(
    client: httpx.Client, body: str, path: str = "/webhook", content_type: str = "application/json"
) -> httpx.Response:
    # TradingView's own request: POST, the alert message as the body, no custom headers.
    return client.post(
        path, content=body.encode(), headers={"Content-Type": content_type, "User-Agent": "Go-http-client/1.1"}
    )


def test_tradingview_json_alert_end_to_end(client: httpx.Client, dev_stack: DevStack) -> None:
    response = post_json(client, tradingview_body(comment="integration"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    payload = response.json()
    assert payload["status"] == "stored" and payload["duplicate"] is False
    item = dev_stack.dynamodb.get_item(
        TableName=LocalTemplate().physical_name("AlertsTable"), Key={"pk": {"S": f"ALERT#{payload['alert_id']}"}}
    )["Item"]
    alert = alert_from_item(item)
    assert (alert.strategy, alert.fields.ticker, str(alert.fields.price)) == ("demo", "BTCUSDT", "65000.50")
    assert alert.fields.comment == "integration"
    assert alert.source_ip == "127.0.0.1"
    assert DEMO_SECRET not in json.dumps(item)


def test_plain_text_alert_via_path_token(client: httpx.Client, dev_stack: DevStack) -> None:
    message = f"AAPL crossed 230.15 {uuid.uuid4().hex}"
    response = post_json(client, message, path=f"/webhook/{DEMO_SECRET}", content_type="text/plain; charset=utf-8")
    assert response.status_code == 200
    assert response.json()["alert_id"] in stored_ids(dev_stack)


@pytest.mark.parametrize(
    ("body", "path", "status", "error"),
    [
        ('{"key": "ahk_wrong", "ticker": "X"}', "/webhook", 401, "unauthorized"),
        ('{"ticker": "X"}', "/webhook", 401, "unauthorized"),
        ("", "/webhook", 400, "empty_body"),
        ("hello", "/webhook/ahk_wrong", 401, "unauthorized"),
    ],
)
def test_rejections_over_http(client: httpx.Client, body: str, path: str, status: int, error: str) -> None:
    response = post_json(client, body, path=path)
    assert response.status_code == status
    assert response.json()["error"] == error


def test_oversized_body_is_413(client: httpx.Client) -> None:
    response = post_json(client, tradingview_body(comment="x" * 70_000))
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_unknown_route_is_404(client: httpx.Client) -> None:
    assert client.get("/webhook").status_code == 404
    assert client.post("/nope", content=b"x").status_code == 404


def test_parallel_distinct_alerts_are_all_stored_exactly_once(dev_stack: DevStack) -> None:
    before = stored_ids(dev_stack)
    bodies = [tradingview_body(order_id=f"order-{number}") for number in range(PARALLEL_POSTS)]
    with httpx.Client(base_url=dev_stack.api_url, timeout=60) as http, ThreadPoolExecutor(64) as pool:
        responses = list(pool.map(lambda body: post_json(http, body), bodies))
    assert [response.status_code for response in responses] == [200] * PARALLEL_POSTS
    ids = [response.json()["alert_id"] for response in responses]
    assert len(set(ids)) == PARALLEL_POSTS
    assert not any(response.json()["duplicate"] for response in responses)
    assert stored_ids(dev_stack) - before == set(ids)


def test_parallel_identical_deliveries_are_stored_once(dev_stack: DevStack) -> None:
    before = stored_ids(dev_stack)
    body = tradingview_body()
    with httpx.Client(base_url=dev_stack.api_url, timeout=60) as http, ThreadPoolExecutor(64) as pool:
        responses = list(pool.map(lambda _: post_json(http, body), range(PARALLEL_POSTS)))
    assert {response.status_code for response in responses} == {200}
    results = [response.json() for response in responses]
    assert len({result["alert_id"] for result in results}) == 1
    assert sum(not result["duplicate"] for result in results) == 1
    assert stored_ids(dev_stack) - before == {results[0]["alert_id"]}


def test_cli_key_authenticates_webhooks(dev_stack: DevStack, client: httpx.Client) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    created = dev_stack.cli("keys", "create", "--name", name, "--json")
    assert created.returncode == 0, created.stderr
    secret = json.loads(created.stdout)["secret"]
    response = post_json(client, json.dumps({"key": secret, "ticker": "ETHUSD", "action": "sell"}))
    assert response.status_code == 200
    clash = dev_stack.cli("keys", "create", "--name", name.upper())
    assert clash.returncode == 1
    assert "already exists" in clash.stderr


@pytest.mark.parametrize(("sample", "status"), SAMPLE_EVENT_STATUS)
def test_invoke_sample_events_against_the_running_stack(dev_stack: DevStack, sample: str, status: int) -> None:
    result = dev_stack.cli("invoke", "WebhookFunction", "--event", str(PROJECT_ROOT / "events" / sample))
    assert result.returncode == 0, result.stderr
    assert "using the running local stack" in result.stderr
    assert json.loads(result.stdout)["statusCode"] == status


def test_invoke_without_a_running_stack_uses_a_temporary_one(tmp_path: Any) -> None:
    import os
    import subprocess

    from tests.integration.conftest import ARROWHOOK

    result = subprocess.run(
        [ARROWHOOK, "invoke", "WebhookFunction", "--event", "events/webhook-strategy-alert.json"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "ARROWHOOK_STATE_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "temporary embedded AWS" in result.stderr
    assert json.loads(json.loads(result.stdout)["body"])["status"] == "stored"
    unknown = subprocess.run(
        [ARROWHOOK, "invoke", "NoSuchFunction", "--event", "events/webhook-bad-key.json"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "ARROWHOOK_STATE_DIR": str(tmp_path)},
    )
    assert unknown.returncode == 2
    assert "WebhookFunction" in unknown.stderr


def test_a_second_dev_stack_on_the_same_state_file_is_refused_and_the_first_kept(dev_stack: DevStack) -> None:
    before = dev_stack.state_file.read_text()
    second = dev_stack.cli("dev", "--port", "0", "--aws-port", "0")
    assert second.returncode == 1
    assert "another `arrowhook dev`" in second.stderr and "ARROWHOOK_STATE_DIR" in second.stderr
    assert dev_stack.state_file.read_text() == before, "the running stack stays findable"


@pytest.mark.parametrize(
    ("override", "problem"),
    [("MaxBodyBytes=10", "must be at least 1024"), ("NoSuchThing=1", "unknown parameter 'NoSuchThing'")],
)
def test_dev_refuses_parameter_overrides_cloudformation_would_refuse(
    tmp_path: Any, override: str, problem: str
) -> None:
    import os
    import subprocess

    from tests.integration.conftest import ARROWHOOK

    result = subprocess.run(
        [ARROWHOOK, "dev", "--port", "0", "--aws-port", "0", "--parameter-overrides", override],
        env={
            **os.environ,
            "ARROWHOOK_STATE_DIR": str(tmp_path),
            "COLUMNS": "200",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert problem in result.stderr


def test_dev_keeps_keys_alerts_and_the_admin_token_across_restarts_unless_fresh(tmp_path: Any) -> None:
    from tests.integration.conftest import running_dev_stack

    workdir, config = tmp_path / "dev", tmp_path / "config"
    workdir.mkdir()
    config.mkdir()
    with running_dev_stack(workdir, config) as first:
        token = first.admin_token
        created = first.cli("keys", "create", "--name", "kept-across-restarts", "--json")
        assert created.returncode == 0, created.stderr
        secret, key_id = json.loads(created.stdout)["secret"], json.loads(created.stdout)["id"]
        stored = httpx.post(f"{first.api_url}/webhook", json={"key": secret, "ticker": "KEPT"}, timeout=30).json()
    kept = workdir / "state" / "snapshot.json"
    assert kept.exists()
    assert (kept.stat().st_mode & 0o777, kept.parent.stat().st_mode & 0o777) == (0o600, 0o700), "it holds tokens"
    with running_dev_stack(workdir, config) as second:
        assert second.admin_token == token, "a restart is never a surprise new admin token"
        assert second.cli("keys", "show", key_id).returncode == 0
        assert json.loads(second.cli("alerts", "show", stored["alert_id"], "--json").stdout)["ticker"] == "KEPT"
        again = httpx.post(f"{second.api_url}/webhook", json={"key": secret, "ticker": "KEPT2"}, timeout=30)
        assert again.status_code == 200, "the restored key still authenticates"
    with running_dev_stack(workdir, config, "--fresh") as clean:
        assert clean.admin_token != token
        assert clean.cli("keys", "show", key_id).returncode == 1


def test_make_dev_writes_the_env_vars_file_that_sam_local_reads(dev_stack: DevStack) -> None:
    """`sam local invoke --config-env local` runs functions against this stack through this file."""
    from arrowhook_tools.standins.embedded_aws import dynamodb

    written = json.loads(dev_stack.state_file.with_name("sam-env.json").read_text())
    webhook = written["WebhookFunction"]
    # On Docker's bridge where there is one (a container's view), else the host's loopback endpoint:
    # either way the stack's own tables are there.
    assert webhook["ALERTS_TABLE_NAME"] in dynamodb(webhook["AWS_ENDPOINT_URL"]).list_tables()["TableNames"]
    assert set(written) >= {"WebhookFunction", "DeliveryFunction", "ArchiveFunction", "AuthorizerFunction"}


def _wait(until: Any, what: str, seconds: float = 60) -> Any:
    import time

    deadline = time.monotonic() + seconds
    while not (found := until()):
        assert time.monotonic() < deadline, f"not in time: {what}"
        time.sleep(0.2)
    return found


def test_dev_keeps_its_data_through_a_stop_mid_delivery_and_a_crash(tmp_path: Any) -> None:
    """A stop while a delivery hung lost the whole session (the 15 s timer exited before saving; a deleted
    destination came back), restored alerts were forwarded again on every start, the failure queue was
    not kept, and `kill -9` lost everything since the last clean start."""
    from arrowhook_tools.standins.embedded_aws import client
    from arrowhook_tools.standins.receivers import Receivers, Scripted, Silent
    from tests.integration.conftest import running_dev_stack

    workdir, config = tmp_path / "dev", tmp_path / "config"
    workdir.mkdir()
    config.mkdir()
    receivers, silent = Receivers().start(), Silent().start()
    receivers.script("/hook/refuse", Scripted(400, "bad request"))  # not worth retrying: failed, reported
    snapshot = workdir / "state" / "snapshot.json"
    try:
        with running_dev_stack(workdir, config) as first:
            headers = {"Authorization": f"Bearer {first.admin_token}"}
            admin = httpx.Client(base_url=first.api_url, headers=headers, timeout=60)
            key = admin.post("/keys", json={"name": "kept"}).json()

            def destination(name: str, url: str, **values: Any) -> dict[str, Any]:
                body = {"kind": "webhook", "name": name, "url": url, "strategies": ["kept"], **values}
                created: dict[str, Any] = admin.post("/destinations", json=body).json()
                return created

            gone = destination("a-gone", f"{receivers.url}/hook/gone")
            assert admin.delete(f"/destinations/{gone['id']}").status_code == 204
            destination("b-count", f"{receivers.url}/hook/count")
            destination("c-refuse", f"{receivers.url}/hook/refuse")
            destination("d-silent", f"{silent.url}/hook", timeout_seconds=10)
            first_alert = httpx.post(
                f"{first.api_url}/webhook", json={"key": key["secret"], "ticker": "ONE"}, timeout=60
            ).json()
            receivers.wait_for("/hook/count", 1)
            receivers.wait_for("/hook/refuse", 1)
            _wait(lambda: silent.connections, "the delivery to the silent receiver is in flight")
        assert len(receivers.at("/hook/count")) == 1
        with running_dev_stack(workdir, config, crash=True) as second:
            headers = {"Authorization": f"Bearer {second.admin_token}"}
            admin = httpx.Client(base_url=second.api_url, headers=headers, timeout=60)
            names = sorted(item["name"] for item in admin.get("/destinations").json()["items"])
            assert names == ["b-count", "c-refuse", "d-silent"], "a deleted destination stays deleted"
            assert admin.get(f"/alerts/{first_alert['alert_id']}").status_code == 200
            sqs = client("sqs", second.aws_endpoint)
            queue = sqs.get_queue_url(QueueName="arrowhook-local-DeliveryFailureQueue")["QueueUrl"]
            reports = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            assert any(first_alert["alert_id"] in report["Body"] for report in reports), "the failure queue is kept"
            fence = httpx.post(
                f"{second.api_url}/webhook", json={"key": key["secret"], "ticker": "TWO"}, timeout=60
            ).json()
            counted = receivers.wait_for("/hook/count", 2)
            assert [item.json()["data"]["alert_id"] for item in counted] == [
                first_alert["alert_id"],
                fence["alert_id"],
            ], "the restored alert was not forwarded again"
            admin.post("/keys", json={"name": "made-before-the-crash"})
            _wait(lambda: "made-before-the-crash" in snapshot.read_text(), "kept within seconds")
        with running_dev_stack(workdir, config) as third:
            listed = third.cli("keys", "list", "--json")
            assert "made-before-the-crash" in listed.stdout, "kill -9 lost at most the last seconds"
    finally:
        receivers.stop()
        silent.stop()


def test_the_cli_names_strategies_as_the_api_does_and_shows_text_as_written(dev_stack: DevStack) -> None:
    """A mistyped --strategy looked like "no alerts" (tail waited forever); keys commands took only ids;
    `alerts show` turned a text alert's newlines into replacement characters."""
    from tests.integration.conftest import own_strategy

    mine = own_strategy(dev_stack, "cli-names")
    filtered = (["alerts", "list"], ["alerts", "stats"], ["alerts", "tail"], ["alerts", "export", "--out", "/dev/null"])
    for command in filtered:
        refused = dev_stack.cli(*command, "--strategy", "no-such-strategy", timeout=60)
        assert refused.returncode == 1 and "no strategy 'no-such-strategy'" in refused.stderr, command
    assert dev_stack.cli("alerts", "list", "--strategy", mine.name).returncode == 0
    assert json.loads(dev_stack.cli("keys", "disable", mine.name, "--json").stdout)["status"] == "disabled"
    assert json.loads(dev_stack.cli("keys", "enable", mine.name, "--json").stdout)["status"] == "active"
    assert json.loads(dev_stack.cli("keys", "show", mine.name, "--json").stdout)["id"] == mine.key_id
    text = "BUY BTCUSDT\nprice 65000\n\tsize 1"
    stored = httpx.post(f"{dev_stack.api_url}/webhook/{mine.secret}", content=text.encode(), timeout=30).json()
    shown = dev_stack.cli("alerts", "show", stored["alert_id"]).stdout
    assert "BUY BTCUSDT" in shown and "price 65000" in shown and "\ufffd" not in shown
    assert dev_stack.cli("keys", "delete", mine.name, "--yes").returncode == 0
    assert dev_stack.cli("keys", "show", mine.key_id).returncode == 1
