"""The local runtime's reading of template.yaml: intrinsics, routes and payload-2.0 events."""

from __future__ import annotations

import base64
import json
import os
import random
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from arrowhook_tools.local.ports import PortInUseError, claim_port
from arrowhook_tools.local.runtime import LocalFunctions
from arrowhook_tools.local.stack import local_stack, remove_state_if_ours
from arrowhook_tools.local.template import LocalTemplate, ParameterError, Route, Throttle
from arrowhook_tools.standins.gateway import LocalHttpApi
from arrowhook_tools.standins.gateway_events import build_event
from arrowhook_tools.standins.gateway_routes import RouteTable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def test_parameters_conditions_and_intrinsics_resolve() -> None:
    template = LocalTemplate(parameter_overrides={"Tracing": "on", "DedupeWindowSeconds": "5"})
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
    assert {index["IndexName"] for index in alerts["GlobalSecondaryIndexes"]} == {"AlertsByStrategy", "AlertsByDay"}
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


def _local_api(overrides: dict[str, str], clock: Callable[[], float] = time.monotonic) -> LocalHttpApi:
    return LocalHttpApi(LocalFunctions(LocalTemplate(parameter_overrides=overrides), pool_size=1), port=0, clock=clock)


def test_routes_are_throttled_like_api_gateway(aws: DynamoDBClient) -> None:
    now = [1000.0]  # the buckets' clock stands still unless the test moves it
    throttles = {"WebhookRateLimit": "1", "WebhookBurstLimit": "2", "ApiRateLimit": "1", "ApiBurstLimit": "1"}
    api = _local_api(throttles, clock=lambda: now[0])
    try:
        webhook = [api.handle("POST", "/webhook", [], b"hello", "127.0.0.1") for _ in range(3)]
        assert [reply[0] for reply in webhook[:2]] == [401, 401], "the burst reaches the function (no key: 401)"
        assert (webhook[2][0], json.loads(webhook[2][3])) == (429, {"message": "Too Many Requests"})
        assert api.handle("POST", "/webhook/ahk_x", [], b"hi", "127.0.0.1")[0] == 401, "each route has its own bucket"
        health = [api.handle("GET", "/health", [], b"", "127.0.0.1")[0] for _ in range(2)]
        assert health == [200, 429], "the default route setting has its own bucket"
        now[0] += 1.0
        assert api.handle("GET", "/health", [], b"", "127.0.0.1")[0] == 200, "the bucket refills at the rate"
        assert api.handle("GET", "/health", [], b"", "127.0.0.1")[0] == 429, "one second, one request"
    finally:
        api.stop()


def test_throttles_and_cors_are_read_from_the_template() -> None:
    default, routes = LocalTemplate().throttles()
    assert default == Throttle(rate=10.0, burst=20)
    assert routes == {
        "POST /webhook": Throttle(rate=1000.0, burst=2000),
        "POST /webhook/{token}": Throttle(rate=1000.0, burst=2000),
    }
    assert LocalTemplate().cors() is None, "no browser origin is allowed unless the parameter names one"
    cors = LocalTemplate(parameter_overrides={"AdminCorsOrigins": "https://ops.example.com, https://b.example"}).cors()
    assert cors is not None
    assert cors.allow_origins == ("https://ops.example.com", "https://b.example")
    assert cors.allow_headers == ("authorization", "content-type")


PREFLIGHT = [("Origin", "https://ops.example.com"), ("Access-Control-Request-Method", "GET")]


def test_without_cors_a_preflight_is_just_an_unknown_route(aws: DynamoDBClient) -> None:
    api = _local_api({})
    try:
        assert api.handle("OPTIONS", "/keys", PREFLIGHT, b"", "127.0.0.1")[0] == 404
        _, headers, _, _ = api.handle("GET", "/health", [("Origin", "https://ops.example.com")], b"", "127.0.0.1")
        assert "access-control-allow-origin" not in headers
    finally:
        api.stop()


def test_cors_answers_preflights_for_allowed_origins_only(aws: DynamoDBClient) -> None:
    api = _local_api({"AdminCorsOrigins": "https://ops.example.com"})
    try:
        status, headers, _, _ = api.handle("OPTIONS", "/keys", PREFLIGHT, b"", "127.0.0.1")
        assert status == 204
        assert headers["access-control-allow-origin"] == "https://ops.example.com"
        assert "authorization" in headers["access-control-allow-headers"]
        assert set(headers["access-control-allow-methods"].split(",")) == {"GET", "POST", "PATCH", "DELETE"}
        status, headers, _, _ = api.handle(
            "OPTIONS", "/keys", [("Origin", "https://evil.example"), PREFLIGHT[1]], b"", "127.0.0.1"
        )
        assert status == 204 and "access-control-allow-origin" not in headers
        _, headers, _, _ = api.handle("GET", "/health", [("Origin", "https://ops.example.com")], b"", "127.0.0.1")
        assert headers["access-control-allow-origin"] == "https://ops.example.com"
        _, headers, _, _ = api.handle("GET", "/health", [("Origin", "https://evil.example")], b"", "127.0.0.1")
        assert "access-control-allow-origin" not in headers
    finally:
        api.stop()


# -- starting and restarting the local stack -----------------------------------------------------------


def _listener() -> socket.socket:
    """A listening socket as our servers open theirs (http.server and werkzeug set SO_REUSEADDR)."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server


def test_a_port_left_in_time_wait_by_a_stopped_stack_can_be_claimed_at_once() -> None:
    server = _listener()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first, so its end of the connection sits in TIME_WAIT
    client.close()
    server.close()
    claim_port("127.0.0.1", port, grace_seconds=0)


def test_a_stopping_listener_is_waited_for() -> None:
    server = _listener()
    port = server.getsockname()[1]
    naps: list[float] = []

    def nap(seconds: float) -> None:  # the previous stack finishes stopping during our first wait
        naps.append(seconds)
        server.close()

    claim_port("127.0.0.1", port, grace_seconds=10, sleep=nap)
    assert len(naps) == 1


def test_a_port_really_taken_names_its_holder() -> None:
    server = _listener()
    port = server.getsockname()[1]
    clock = iter([0.0, 5.0, 11.0])
    try:
        with pytest.raises(PortInUseError) as taken:
            claim_port("127.0.0.1", port, grace_seconds=10, clock=lambda: next(clock), sleep=lambda _: None)
    finally:
        server.close()
    assert f"port {port} on 127.0.0.1 is in use by pid {os.getpid()}" in str(taken.value)


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ({"NoSuchParameter": "1"}, "unknown parameter 'NoSuchParameter'"),
        ({"MaxBodyBytes": "10"}, "must be at least 1024"),
        ({"MaxBodyBytes": "big"}, "must be a number"),
        ({"DedupeWindowSeconds": "86401"}, "must be at most 86400"),
        ({"LogLevel": "TRACE"}, "must be one of DEBUG"),
        ({"LogRetentionDays": "2"}, "must be one of 1, 3"),
        ({"CertificateArn": "not-an-arn"}, "must match"),
    ],
)
def test_parameter_overrides_are_refused_as_cloudformation_would(override: dict[str, str], problem: str) -> None:
    with pytest.raises(ParameterError, match=re.escape(problem)):
        LocalTemplate(parameter_overrides=override)


def test_valid_parameter_overrides_are_taken() -> None:
    template = LocalTemplate(parameter_overrides={"MaxBodyBytes": "1024", "LogLevel": "DEBUG", "LogRetentionDays": "7"})
    assert (template.parameters["MaxBodyBytes"], template.parameters["LogRetentionDays"]) == ("1024", "7")


def test_the_local_stack_gives_the_webhook_a_timeout_that_fits_the_emulator() -> None:
    deployed = LocalTemplate().parameters["WebhookStoreTimeoutSeconds"]
    with local_stack(api_port=None) as stack:
        assert stack.template.parameters["WebhookStoreTimeoutSeconds"] == "5" != deployed
    with local_stack(api_port=None, parameter_overrides={"WebhookStoreTimeoutSeconds": "0.8"}) as stack:
        assert stack.template.parameters["WebhookStoreTimeoutSeconds"] == "0.8", "an explicit override wins"


def test_a_stopping_stack_removes_only_its_own_state_file(tmp_path: Path) -> None:
    mine, theirs = tmp_path / "mine.json", tmp_path / "theirs.json"
    mine.write_text(json.dumps({"pid": os.getpid()}))
    theirs.write_text(json.dumps({"pid": os.getpid() + 1}))
    remove_state_if_ours(mine)
    remove_state_if_ours(theirs)
    assert not mine.exists() and theirs.exists()


def test_a_retired_pool_runs_the_new_code_on_the_next_event(tmp_path: Path) -> None:
    from arrowhook_tools.local.runtime import FunctionPool
    from arrowhook_tools.local.template import FunctionSpec

    handler = tmp_path / "app.py"
    handler.write_text("def handler(event, context):\n    return 'old'\n")
    pool = FunctionPool(FunctionSpec("Probe", tmp_path, "app.handler"), size=2)
    assert pool.invoke({}) == "old"
    handler.write_text("def handler(event, context):\n    return 'new'\n")
    assert pool.invoke({}) == "old", "a warm instance keeps the code it imported"
    pool.retire()
    assert pool.invoke({}) == "new"
    assert pool.invoke({}) == "new"


def test_a_handlers_own_modules_are_its_instances_own_and_reloaded_with_it(tmp_path: Path) -> None:
    """Lambda puts the handler's folder on the path: `import probe_pages.state` works there, and two
    sandboxes never share a module's globals. Locally each instance imports them afresh, and a retired
    pool's next instance reads them changed."""
    import sys

    from arrowhook_tools.local.runtime import FunctionPool
    from arrowhook_tools.local.template import FunctionSpec

    (tmp_path / "probe_pages").mkdir()
    (tmp_path / "probe_pages/__init__.py").write_text("")
    state = tmp_path / "probe_pages/state.py"
    state.write_text("seen = []\nVERSION = 'old'\n")
    (tmp_path / "app.py").write_text(
        "from probe_pages import state\n"
        "def handler(event, context):\n"
        "    state.seen.append(event['n'])\n"
        "    return state.VERSION, list(state.seen)\n"
    )
    pool = FunctionPool(FunctionSpec("Probe", tmp_path, "app.handler"), size=2)
    first, second = pool._acquire(), pool._acquire()  # two busy at once: two instances
    assert first.invoke({"n": 1}) == ("old", [1])
    assert second.invoke({"n": 2}) == ("old", [2]), "two instances never share a module's state"
    assert "probe_pages" not in sys.modules and "probe_pages.state" not in sys.modules
    state.write_text("seen = []\nVERSION = 'new'\n")
    pool.retire()
    assert pool.invoke({"n": 3}) == ("new", [3])


def test_the_code_watcher_reports_changed_added_and_removed_files(tmp_path: Path) -> None:
    import threading

    from arrowhook_tools.local.reload import CodeWatcher

    (tmp_path / "app.py").write_text("x = 1\n")
    (tmp_path / "old.py").write_text("")
    (tmp_path / "node_modules").mkdir()
    seen: list[list[Path]] = []
    changed = threading.Event()

    def record(paths: list[Path]) -> None:
        seen.append(paths)
        changed.set()

    watcher = CodeWatcher(record, roots=[tmp_path], poll_seconds=0.05).start()
    try:
        (tmp_path / "node_modules" / "ignored.js").write_text("")  # vendored code is not ours
        import os

        os.utime(tmp_path / "app.py", ns=(1, 1))
        (tmp_path / "old.py").unlink()
        (tmp_path / "added.html").write_text("")
        expected = {"app.py", "old.py", "added.html"}
        while not expected <= {path.name for batch in list(seen) for path in batch}:  # one poll or several
            assert changed.wait(30)
            changed.clear()
    finally:
        watcher.stop()
    assert {path.name for batch in seen for path in batch} == expected, "vendored files are not watched"


def test_the_local_pipe_refuses_what_putevents_would_and_keeps_it_in_its_dead_letter_queue() -> None:
    """The local stack put 393 KB entries on the bus; PutEvents refuses over 256 KB, and the Pipe then
    leaves the batch's place on the stream in its dead-letter queue (the template now gives it one)."""
    from typing import Any

    from arrowhook_tools.standins.streams import LocalStreams, pipes_to_buses

    template = LocalTemplate(parameter_overrides={"EventBus": "on"})
    (pipe,) = pipes_to_buses(template)
    assert pipe.dead_letter_arn is not None and pipe.dead_letter_arn.endswith("AlertEventDeadLetterQueue")
    sent: dict[str, list[Any]] = {"events": [], "sqs": []}

    class Fake:
        def __init__(self, name: str) -> None:
            self.name = name

        def put_events(self, Entries: list[Any]) -> None:  # noqa: N803 - boto3's argument name
            sent["events"].extend(Entries)

        def get_queue_url(self, QueueName: str) -> dict[str, str]:  # noqa: N803
            return {"QueueUrl": f"http://sqs/{QueueName}"}

        def send_message(self, QueueUrl: str, MessageBody: str) -> None:  # noqa: N803
            sent["sqs"].append((QueueUrl, json.loads(MessageBody)))

    streams = LocalStreams(template, LocalFunctions(template, pool_size=1), "http://127.0.0.1:1")
    streams._client = Fake  # type: ignore[method-assign,assignment]

    def record(size: int, sequence: str) -> dict[str, Any]:
        image = {"alert_id": {"S": "A"}, "key_id": {"S": "K"}, "note": {"S": "x" * size}}
        return {
            "eventName": "INSERT",
            "eventSourceARN": "arn:stream",
            "dynamodb": {"NewImage": image, "SequenceNumber": sequence},
        }

    streams._publish(pipe, [record(1_000, "1"), record(300_000, "2")])
    assert len(sent["events"]) == 1
    ((queue, message),) = sent["sqs"]
    assert queue.endswith("AlertEventDeadLetterQueue") and message["DDBStreamBatchInfo"]["startSequenceNumber"] == "2"


def _real_alerts_refused(throttle: Throttle, flood_per_second: float, seconds: int, real: int) -> int:
    """API Gateway's bucket for one webhook route, fed a flood of wrong keys at a steady rate and `real`
    alerts spread over the same time: how many real alerts it answers 429 (TradingView never retries)."""
    from arrowhook_tools.standins.gateway_policies import TokenBucket

    now = [0.0]
    bucket = TokenBucket(throttle, clock=lambda: now[0])
    chooser = random.Random(11)  # random callers: a Poisson stream, as a flood from many hosts arrives
    arrivals = [(chooser.uniform(0, seconds), False) for _ in range(int(flood_per_second * seconds))]
    arrivals += [((index + 0.5) * seconds / real, True) for index in range(real)]
    refused = 0
    for moment, is_real in sorted(arrivals):
        now[0] = moment
        taken = bucket.take()
        refused += is_real and not taken
    return refused


def test_a_flood_of_wrong_keys_does_not_spend_the_bucket_real_alerts_need() -> None:
    """~237 requests a second of random keys got 4 of 7 real alerts answered 429 with the old defaults."""
    _, routes = LocalTemplate().throttles()
    for route in ("POST /webhook", "POST /webhook/{token}"):
        assert _real_alerts_refused(routes[route], flood_per_second=237, seconds=60, real=7) == 0, route
        assert _real_alerts_refused(routes[route], flood_per_second=900, seconds=60, real=7) == 0, "up to the limit"
    assert _real_alerts_refused(Throttle(rate=50, burst=100), flood_per_second=237, seconds=60, real=7) >= 4


@pytest.mark.parametrize(
    "path", ["/console/static/%00", "/console/static/a%00.js", "/console/static/" + "x" * 5000 + ".js"]
)
def test_a_console_asset_path_the_file_system_refuses_is_a_404_not_a_traceback(aws: DynamoDBClient, path: str) -> None:
    """A NUL byte in the path was an unauthenticated 500 with a traceback."""
    api = _local_api({})
    try:
        status, _, _, body = api.handle("GET", path, [], b"", "127.0.0.1")
    finally:
        api.stop()
    assert status == 404 and b"Traceback" not in body and b"ValueError" not in body


def test_the_functions_reach_the_apis_the_local_stack_serves_itself() -> None:
    """The template builds the WebSocket API's URLs from its domain; locally they point at the stand-in,
    also for a function invoked against a running `make dev` (its state file carries them): nothing a
    local function sends ever leaves this machine."""
    from arrowhook_tools.local.stack import running_stack_functions

    template = LocalTemplate()
    domain = template.execute_api_domain("LiveApi")
    assert template.function_spec("LiveFunction").environment["LIVE_CONNECTIONS_URL"] == f"https://{domain}/live"
    served = {f"https://{domain}/": "http://127.0.0.1:9/", f"wss://{domain}/": "ws://127.0.0.1:8/"}
    template.local_endpoints.update(served)
    assert template.function_spec("DeliveryFunction").environment["LIVE_CONNECTIONS_URL"] == "http://127.0.0.1:9/live"
    assert template.function_spec("AlertsFunction").environment["LIVE_URL"] == "ws://127.0.0.1:8/live"
    invoked = running_stack_functions({"aws_endpoint": "http://127.0.0.1:1", "local_endpoints": served})
    assert (
        invoked.template.function_spec("LiveFunction")
        .environment["LIVE_CONNECTIONS_URL"]
        .startswith("http://127.0.0.1:9/")
    )
