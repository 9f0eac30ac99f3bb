"""`arrowhook live`: new alerts pushed over the live WebSocket API (docs/live.md), outbound only, so a bot
on a home machine behind NAT receives them without opening a port. Each alert once, in order, across
reconnects: a fresh ticket per connection, a resume from the last position after each, duplicates
dropped by id, a ping after five quiet minutes, and a growing pause between failed attempts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import typer

from arrowhook_tools.cli.common import ApiUrl, AsJson, Token, api_client, call, console, out
from arrowhook_tools.cli.render import shown

#: API Gateway closes a connection idle for ten minutes: ping after five.
PING_AFTER_SECONDS = 300.0
MAX_PAUSE_SECONDS = 30.0


class LiveFollower:
    """The client's part of the protocol, apart from the terminal: `alerts()` yields each alert once."""

    def __init__(
        self,
        ticket: Callable[[], dict[str, Any]],
        sleep: Callable[[float], None] = time.sleep,
        on_reconnect: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self.ticket = ticket
        self.sleep = sleep
        self.on_reconnect = on_reconnect
        self.last: str | None = None
        self._seen: set[str] = set()

    def alerts(self) -> Iterator[dict[str, Any]]:
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        pause = 1.0
        while True:
            try:
                issued = self.ticket()
                with connect(f"{issued['url']}?ticket={issued['ticket']}", open_timeout=30) as socket:
                    pause = 1.0
                    # Resume after the last alert shown; before the first one, after the moment of the
                    # first connection (the server's `pong` says it), so a drop before any alert loses none.
                    socket.send(
                        json.dumps({"action": "resume", "after": self.last} if self.last else {"action": "ping"})
                    )
                    while True:
                        try:
                            frame = json.loads(socket.recv(timeout=PING_AFTER_SECONDS))
                        except TimeoutError:
                            socket.send(json.dumps({"action": "ping"}))
                            continue
                        alert = self._new(frame)
                        if alert is not None:
                            yield alert
            except (WebSocketException, OSError) as error:  # refused (InvalidStatus), closed, network
                self.on_reconnect(f"{type(error).__name__}: reconnecting in {pause:.0f} s")
                self.sleep(pause)
                pause = min(pause * 2, MAX_PAUSE_SECONDS)

    def _new(self, frame: dict[str, Any]) -> dict[str, Any] | None:
        if frame.get("type") == "pong" and self.last is None:
            self.last = str(frame["position"])
        if frame.get("type") != "alert":
            return None
        alert: dict[str, Any] = frame["alert"]
        if alert["alert_id"] in self._seen:
            return None
        self._seen.add(alert["alert_id"])
        self.last = max(self.last or "", str(frame["position"]))
        return alert


def live(
    strategy: Annotated[
        list[str] | None,
        typer.Option("--strategy", "-s", help="Strategy name or key id; repeat for several; omit for all."),
    ] = None,
    count: Annotated[int | None, typer.Option(min=1, help="Stop after this many alerts (default: never).")] = None,
    as_json: AsJson = False,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Print each new alert as it is stored, pushed over the live WebSocket API: one JSON line each with
    --json (pipe it into a bot). Reconnects by itself; each alert once, in order."""
    client = api_client(api_url, token)
    body = {"strategies": strategy} if strategy else {}
    follower = LiveFollower(
        lambda: dict(call(client, "POST", "/live/tickets", json_body=body)),
        on_reconnect=lambda reason: console.print(f"[yellow]{shown(reason)}[/]"),
    )
    console.print("[dim]live: waiting for alerts (Ctrl-C stops)[/]")
    for number, alert in enumerate(follower.alerts(), start=1):
        if as_json:
            print(json.dumps(alert), flush=True)
        else:  # the same columns as `arrowhook alerts tail`
            out.print(
                f"{shown(alert['received_at'][:23].replace('T', ' '))}  {shown(alert['strategy']):<16} "
                f"{shown(alert.get('ticker') or '-'):<10} {shown(alert.get('side') or '-'):<5} "
                f"{shown(alert.get('price') or '-'):>14}  {shown(alert['alert_id'])}"
            )
        if count is not None and number >= count:
            return
