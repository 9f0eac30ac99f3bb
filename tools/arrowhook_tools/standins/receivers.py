"""Local stand-ins for Discord, Slack, Telegram and a webhook receiver: they record what they get and
answer like the real services (or as a test scripts them). The integration tests point destinations at
them; `arrowhook sink` runs one to watch what `make dev` forwards.

  /discord/api/webhooks/<id>/<token>   Discord (answers the message as JSON: the sender asks ?wait=true)
  /slack/services/<path>               Slack incoming webhook (answers "ok")
  /telegram/bot<token>/sendMessage     Telegram Bot API (set TelegramApiUrl=<sink>/telegram)
  /hook/<anything>                     any webhook receiver (answers 204)
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from arrowhook_tools.standins.quiet_server import QuietHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    #: time.monotonic() when it arrived (tests compare two of them, never the wall clock).
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Scripted:
    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


#: Where each destination kind sent over HTTP is received, and how its service answers a message it took
#: (a test checks this against the layer's registry of kinds: a new kind needs its stand-in here).
STAND_INS: dict[str, tuple[str, Scripted]] = {
    "discord": (
        "/discord/api/webhooks/",
        Scripted(200, '{"id": "1", "type": 0}', {"Content-Type": "application/json"}),
    ),
    "slack": ("/slack/services/", Scripted(200, "ok", {"Content-Type": "text/plain"})),
    "telegram": (
        "/telegram/bot",
        Scripted(200, '{"ok": true, "result": {"message_id": 1}}', {"Content-Type": "application/json"}),
    ),
    "webhook": ("/hook/", Scripted(204)),
}


def _default_answer(path: str) -> Scripted:
    return next((answer for prefix, answer in STAND_INS.values() if path.startswith(prefix)), Scripted(204))


class Receivers:
    """One HTTP server on loopback for every fake service."""

    def __init__(self, port: int = 0, on_receive: Callable[[Received], None] | None = None) -> None:
        self.received: list[Received] = []
        self._scripts: dict[str, deque[Scripted]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.on_receive = on_receive
        receivers = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                answer = receivers._record(Received(self.path, dict(self.headers.items()), body, time.monotonic()))
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                payload = answer.body.encode()
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if payload:
                    self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: what arrived is in `received` (and printed by `arrowhook sink`)."""

        self._server = QuietHTTPServer(("127.0.0.1", port), Handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Receivers:
        self._thread = threading.Thread(target=self._server.serve_forever, name="receivers", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, path_prefix: str, *answers: Scripted) -> None:
        """The next requests under `path_prefix` get these answers, in order; then the default one."""
        with self._lock:
            self._scripts[path_prefix].extend(answers)

    def _record(self, received: Received) -> Scripted:
        with self._arrived:
            self.received.append(received)
            self._arrived.notify_all()
            path = received.path.split("?", 1)[0]
            answer = _default_answer(path)
            for prefix, queued in self._scripts.items():
                if path.startswith(prefix) and queued:
                    answer = queued.popleft()
                    break
        if self.on_receive is not None:
            self.on_receive(received)
        return answer

    def at(self, path_prefix: str) -> list[Received]:
        with self._lock:
            return [item for item in self.received if item.path.split("?", 1)[0].startswith(path_prefix)]

    def wait_for(self, path_prefix: str, count: int = 1, timeout: float = 60.0) -> list[Received]:
        """The first `count` requests under the prefix, waiting up to `timeout` seconds for them."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = [item for item in self.received if item.path.split("?", 1)[0].startswith(path_prefix)]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    return found
                self._arrived.wait(remaining)


class Silent:
    """A receiver that accepts connections and never answers: a destination that hangs. It notes when each
    connection came and when the sender gave up on it (closed it), so a test can order other arrivals
    against that without measuring time."""

    def __init__(self) -> None:
        import socket

        self._listener = socket.create_server(("127.0.0.1", 0))
        self._lock = threading.Lock()
        #: (accepted, closed) per connection, time.monotonic(); closed is None while it is held open.
        self.connections: list[list[float | None]] = []
        self._open: list[Any] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def start(self) -> Silent:
        threading.Thread(target=self._accept, name="silent-receiver", daemon=True).start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # stopped
                return
            with self._lock:
                times: list[float | None] = [time.monotonic(), None]
                self.connections.append(times)
                self._open.append(connection)
            threading.Thread(target=self._hold, args=(connection, times), daemon=True).start()

    def _hold(self, connection: Any, times: list[float | None]) -> None:
        """Read and drop whatever comes, until the other side closes: that moment is noted."""
        try:
            while connection.recv(65536):
                pass
        except OSError:
            pass
        with self._lock:
            times[1] = time.monotonic()

    def wait_for_connection(self, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while not self.connections and time.monotonic() < deadline:
            time.sleep(0.05)
        return bool(self.connections)

    def stop(self) -> None:
        self._listener.close()
        with self._lock:
            for connection in self._open:
                connection.close()
