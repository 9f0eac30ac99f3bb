"""Live alerts end to end over real HTTP and a real WebSocket on the local stack: a ticket from the admin
API, a connection to the local WebSocket API (template routes, API Gateway's event shapes, its
`@connections` endpoint), an alert posted to the webhook pushed to it; a replayed ticket refused; and a
burst across a server-side close, resumed with nothing missed or doubled."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from arrowhook_tools.local.stack import LocalStack
from arrowhook_tools.standins.receivers import Receivers
from tests.integration.conftest import ARRIVAL_SECONDS, Strategy, in_process_stack


@pytest.fixture(scope="module")
def running() -> Iterator[LocalStack]:
    with in_process_stack() as stack:
        yield stack


def _ticket(admin: httpx.Client, strategy: Strategy) -> dict[str, Any]:
    issued = admin.post("/live/tickets", json={"strategies": [strategy.name]})
    assert issued.status_code == 201, issued.text
    return dict(issued.json())


def _open(admin: httpx.Client, strategy: Strategy) -> ClientConnection:
    issued = _ticket(admin, strategy)
    return connect(f"{issued['url']}?ticket={issued['ticket']}", open_timeout=ARRIVAL_SECONDS)


def _frames(socket: ClientConnection, until: int, kind: str = "alert") -> list[dict[str, Any]]:
    """Frames of `kind` until `until` of them arrived (or the emulator's patience ran out)."""
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + ARRIVAL_SECONDS
    while len(found) < until and time.monotonic() < deadline:
        try:
            frame = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        except TimeoutError:
            break
        if frame["type"] == kind:
            found.append(frame)
    return found


def test_an_alert_posted_to_the_webhook_is_pushed_to_its_strategys_connection(
    stack: LocalStack, admin: httpx.Client, receivers: Receivers
) -> None:
    strategy = Strategy(admin, receivers)
    with _open(admin, strategy) as socket:
        socket.send(json.dumps({"action": "ping"}))
        assert _frames(socket, 1, kind="pong"), "a ping is answered"
        alert_id = strategy.send(stack, ticker="SOLUSDT")
        (pushed,) = _frames(socket, 1)
        assert pushed["alert"]["alert_id"] == alert_id and pushed["alert"]["ticker"] == "SOLUSDT"
        assert strategy.secret not in json.dumps(pushed)


def test_a_ticket_opens_one_connection_once(admin: httpx.Client, receivers: Receivers) -> None:
    strategy = Strategy(admin, receivers)
    issued = _ticket(admin, strategy)
    with connect(f"{issued['url']}?ticket={issued['ticket']}", open_timeout=ARRIVAL_SECONDS):
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{issued['url']}?ticket={issued['ticket']}", open_timeout=ARRIVAL_SECONDS)
        assert refused.value.response.status_code == 401
    with pytest.raises(InvalidStatus):
        connect(issued["url"], open_timeout=ARRIVAL_SECONDS)


def test_a_burst_across_a_server_side_close_is_shown_once_and_in_order(
    stack: LocalStack, admin: httpx.Client, receivers: Receivers
) -> None:
    """The client's part of docs/live.md: keep the last position, reconnect, resume, keep each alert once."""
    assert stack.websocket is not None
    strategy = Strategy(admin, receivers)
    sent = [strategy.send(stack, ticker="ADAUSDT", comment=str(number)) for number in range(3)]
    shown: dict[str, str] = {}
    with _open(admin, strategy) as socket:
        socket.send(json.dumps({"action": "resume", "after": "1970-01-01T00:00:00.000Z#"}))
        for frame in _frames(socket, 3):
            shown.setdefault(frame["alert"]["alert_id"], frame["position"])
        stack.websocket.drop()
        with pytest.raises(ConnectionClosed):
            while True:
                socket.recv(timeout=ARRIVAL_SECONDS)
    sent += [strategy.send(stack, ticker="ADAUSDT", comment=str(number)) for number in range(3, 6)]  # meanwhile
    with _open(admin, strategy) as socket:
        socket.send(json.dumps({"action": "resume", "after": max(shown.values())}))
        for frame in _frames(socket, 3):
            shown.setdefault(frame["alert"]["alert_id"], frame["position"])
    assert sorted(shown, key=shown.__getitem__) == sent


class CliInBackground:
    """An `arrowhook` command running in a thread (in-process, so the test can drop sockets meanwhile),
    started once the stack's WebSocket API holds its connection."""

    def __init__(self, stack: LocalStack, *arguments: str) -> None:
        from typer.testing import CliRunner

        from arrowhook_tools.cli import app

        assert stack.api is not None and stack.websocket is not None
        arguments += ("--api-url", stack.api.url, "--token", stack.admin_token)
        self._result: dict[str, Any] = {}
        invoke = lambda: self._result.update(out=CliRunner().invoke(app, list(arguments)))  # noqa: E731
        self._runner = threading.Thread(target=invoke, daemon=True)
        self._runner.start()
        deadline = time.monotonic() + ARRIVAL_SECONDS
        while not stack.websocket._open and time.monotonic() < deadline:
            time.sleep(0.05)

    def printed(self) -> list[dict[str, Any]]:
        """The alerts it printed, once it has ended. In-process functions print their logs to the same
        stdout the runner captures: the CLI's lines are the alerts (AlertOut's first field is alert_id)."""
        self._runner.join(timeout=ARRIVAL_SECONDS * 2)
        assert not self._runner.is_alive(), "every alert it waits for arrived"
        invoked = self._result["out"]
        assert invoked.exit_code == 0, invoked.output
        return [json.loads(line) for line in invoked.stdout.splitlines() if line.startswith('{"alert_id"')]


def test_arrowhook_live_prints_each_alert_once_in_order_across_a_server_side_close(
    stack: LocalStack, admin: httpx.Client, receivers: Receivers
) -> None:
    """`arrowhook live --json --count N`: JSON lines for a bot, through a reconnect (the server drops the
    socket mid-burst; the CLI asks for a new ticket, resumes, and drops what it already printed)."""
    assert stack.websocket is not None
    strategy = Strategy(admin, receivers)
    command = CliInBackground(stack, "live", "--json", "--count", "4", "-s", strategy.name)
    sent = [strategy.send(stack, ticker="XRPUSDT", comment=str(number)) for number in range(2)]
    time.sleep(0.5)
    stack.websocket.drop()
    sent += [strategy.send(stack, ticker="XRPUSDT", comment=str(number)) for number in range(2, 4)]
    assert [alert["alert_id"] for alert in command.printed()] == sent


def test_alerts_tail_follows_the_socket_with_its_filters_once_in_order_across_a_server_side_close(
    stack: LocalStack, admin: httpx.Client, receivers: Receivers
) -> None:
    """`arrowhook alerts tail --strategy S --ticker T --json --count N`: what arrived since --since first
    (resumed), then what is pushed, the other tickers sifted out, through a server-side close."""
    assert stack.websocket is not None
    strategy = Strategy(admin, receivers)
    before = strategy.send(stack, ticker="SOLUSDT", comment="before the tail")
    Strategy(admin, receivers).send(stack, ticker="SOLUSDT", comment="another strategy's")
    tail = ["alerts", "tail", "--json", "--count", "4", "--since", "10m", "--strategy", strategy.name]
    command = CliInBackground(stack, *tail, "--ticker", "solusdt")
    sent = [before, strategy.send(stack, ticker="SOLUSDT", comment="1")]
    strategy.send(stack, ticker="ETHUSDT", comment="another ticker")
    time.sleep(0.5)
    stack.websocket.drop()
    sent += [strategy.send(stack, ticker="SOLUSDT", comment=str(number)) for number in range(2, 4)]
    printed = command.printed()
    assert [alert["alert_id"] for alert in printed] == sent
    assert {alert["ticker"] for alert in printed} == {"SOLUSDT"}
