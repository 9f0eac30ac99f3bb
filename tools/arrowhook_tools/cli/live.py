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

from arrowhook_tools.cli.common import ApiUrl, AsJson, Token, api_client, api_errors, console, out
from arrowhook_tools.cli.render import shown

#: API Gateway closes a connection idle for ten minutes: ping after five.
PING_AFTER_SECONDS = 300.0
MAX_PAUSE_SECONDS = 30.0


class LiveFollower:
    """The client's part of the protocol, apart from the terminal: `alerts()` yields each alert once.

    `after` is where the first connection resumes (a position, `<time>#` for "from that moment"); without
    it, from the first connection's moment. While a resume is being answered, alerts are held and given
    out in position order, so the resent backlog and alerts pushed meanwhile come out in order."""

    def __init__(
        self,
        ticket: Callable[[], dict[str, Any]],
        sleep: Callable[[float], None] = time.sleep,
        on_reconnect: Callable[[str], None] = lambda reason: None,
        after: str | None = None,
    ) -> None:
        self.ticket = ticket
        self.sleep = sleep
        self.on_reconnect = on_reconnect
        self.last = after
        self._seen: set[str] = set()
        #: Alerts heard while a resume is answered, by id: (position, alert); None when not resuming.
        self._held: dict[str, tuple[str, dict[str, Any]]] | None = None

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
                    socket.send(json.dumps(self.opening()))
                    while True:
                        try:
                            frame = json.loads(socket.recv(timeout=PING_AFTER_SECONDS))
                        except TimeoutError:
                            socket.send(json.dumps({"action": "ping"}))
                            continue
                        alerts, reply = self.heard(frame)
                        yield from alerts
                        if reply is not None:
                            socket.send(json.dumps(reply))
            except (WebSocketException, OSError) as error:  # refused (InvalidStatus), closed, network
                self.on_reconnect(f"{type(error).__name__}: reconnecting in {pause:.0f} s")
                self.sleep(pause)
                pause = min(pause * 2, MAX_PAUSE_SECONDS)

    def opening(self) -> dict[str, str]:
        """A connection's first frame: resume after the last position, or a ping that tells it."""
        if self.last is None:
            self._held = None
            return {"action": "ping"}
        self._held = {}
        return {"action": "resume", "after": self.last}

    def heard(self, frame: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """The alerts to give out now, oldest first, and the frame to answer with (a further resume)."""
        kind = frame.get("type")
        if kind == "pong" and self.last is None:
            self.last = str(frame["position"])
        elif kind == "alert":
            alert: dict[str, Any] = frame["alert"]
            if self._held is None:
                return self._fresh([(str(frame["position"]), alert)]), None
            self._held[alert["alert_id"]] = (str(frame["position"]), alert)
        elif kind == "resumed" and self._held is not None:
            resent_to = frame.get("last") if not frame.get("complete", True) else None
            if resent_to is None:  # all resent: give out what was held, in order
                held, self._held = self._held, None
                return self._fresh(sorted(held.values(), key=lambda item: item[0])), None
            ready = sorted((item for item in self._held.values() if item[0] <= resent_to), key=lambda item: item[0])
            self._held = {alert["alert_id"]: (at, alert) for at, alert in self._held.values() if at > resent_to}
            return self._fresh(ready), {"action": "resume", "after": resent_to}
        return [], None

    def _fresh(self, heard: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        fresh = []
        for at, alert in heard:
            if alert["alert_id"] in self._seen:
                continue
            self._seen.add(alert["alert_id"])
            self.last = max(self.last or "", at)
            fresh.append(alert)
        return fresh


def tickets(client: Any, strategies: list[str] | None) -> Callable[[], dict[str, Any]]:
    """A ticket per connection from the admin API. An outage (unreachable, 429, 5xx) is an OSError, so the
    follower waits and tries again; a refusal (a bad token, an unknown strategy) ends the command."""
    from arrowhook_tools.cli.admin_client import AdminApiError

    body = {"strategies": strategies} if strategies else {}

    def ticket() -> dict[str, Any]:
        try:
            return dict(client.request("POST", "/live/tickets", json_body=body))
        except AdminApiError as error:
            if error.status in {0, 429} or error.status >= 500:
                raise OSError(error.detail) from None
            raise

    return ticket


def one_line(alert: dict[str, Any]) -> str:
    """An alert as one terminal line: time, strategy, ticker, side, price, id."""
    return (
        f"{shown(alert['received_at'][:23].replace('T', ' '))}  {shown(alert['strategy']):<16} "
        f"{shown(alert.get('ticker') or '-'):<10} {shown(alert.get('side') or '-'):<5} "
        f"{shown(alert.get('price') or '-'):>14}  {shown(alert['alert_id'])}"
    )


def follow(
    follower: LiveFollower,
    *,
    as_json: bool,
    count: int | None,
    wanted: Callable[[dict[str, Any]], bool] = lambda alert: True,
) -> None:
    """Print each wanted alert as it comes (a JSON line each with `as_json`), until `count` or Ctrl-C."""
    console.print("[dim]live: waiting for alerts (Ctrl-C stops)[/]")
    printed = 0
    try:
        with api_errors():
            for alert in follower.alerts():
                if not wanted(alert):
                    continue
                if as_json:
                    print(json.dumps(alert), flush=True)
                else:
                    out.print(one_line(alert))
                printed += 1
                if count is not None and printed >= count:
                    return
    except KeyboardInterrupt:
        console.print("stopped")


Count = Annotated[int | None, typer.Option(min=1, help="Stop after this many alerts (default: never).")]


def live(
    strategy: Annotated[
        list[str] | None,
        typer.Option("--strategy", "-s", help="Strategy name or key id; repeat for several; omit for all."),
    ] = None,
    count: Count = None,
    as_json: AsJson = False,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Print each new alert as it is stored, pushed over the live WebSocket API: one JSON line each with
    --json (pipe it into a bot). Reconnects by itself; each alert once, in order."""
    client = api_client(api_url, token)
    reconnecting = lambda reason: console.print(f"[yellow]{shown(reason)}[/]")  # noqa: E731
    follow(LiveFollower(tickets(client, strategy), on_reconnect=reconnecting), as_json=as_json, count=count)
