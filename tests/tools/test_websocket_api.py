"""The local WebSocket API's `@connections` endpoint as API Gateway's: concurrent PostToConnection calls to
one connection (the delivery function's instances fanning out at once) all arrive, each once, and a post
to a closed connection is 410 GoneException."""

from __future__ import annotations

import threading
from typing import Any

import httpx
from websockets.sync.client import connect

from arrowhook_tools.local.template import LocalTemplate
from arrowhook_tools.standins.websocket_api import LocalWebSocketApi

SENDERS, FRAMES = 8, 25


def test_concurrent_posts_to_one_connection_all_arrive_and_a_gone_one_is_410(template: LocalTemplate) -> None:
    connected: list[str] = []

    def invoke(function_id: str, event: dict[str, Any]) -> dict[str, Any]:
        if event["requestContext"]["eventType"] == "CONNECT":
            connected.append(event["requestContext"]["connectionId"])
        return {"statusCode": 200}

    api = LocalWebSocketApi(template, invoke).start()
    try:
        with connect(api.url, open_timeout=30) as client:
            (connection_id,) = connected
            target = f"{api.connections_url}/@connections/{connection_id}"

            def post(sender: int) -> list[int]:
                with httpx.Client(timeout=30) as http:
                    return [http.post(target, content=f"{sender}-{n}").status_code for n in range(FRAMES)]

            answers: list[list[int]] = []
            threads = [threading.Thread(target=lambda s=s: answers.append(post(s))) for s in range(SENDERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert sorted(code for codes in answers for code in codes) == [200] * SENDERS * FRAMES
            received = {client.recv(timeout=30) for _ in range(SENDERS * FRAMES)}
            assert len(received) == SENDERS * FRAMES, "each frame once"
        gone = httpx.post(target, content="late", timeout=30)
        assert (gone.status_code, gone.headers["x-amzn-ErrorType"]) == (410, "GoneException")
    finally:
        api.stop()


def test_a_stand_in_servers_request_error_is_logged_not_printed(capfd: Any) -> None:
    """A client hanging up mid-request made socketserver print a traceback from the request's thread into
    whatever stderr was then: under pytest, a capture being swapped, and a worker crashed on it."""
    from arrowhook_tools.standins.quiet_server import QuietHTTPServer

    server = QuietHTTPServer(("127.0.0.1", 0), object)  # type: ignore[arg-type]
    try:
        try:
            raise BrokenPipeError("the client hung up")
        except BrokenPipeError:
            server.handle_error(None, ("127.0.0.1", 9))
    finally:
        server.server_close()
    assert capfd.readouterr().err == ""


def test_stopping_the_api_closes_each_connection_with_its_disconnect(template: LocalTemplate) -> None:
    """A connection still open when the local stack stops gets its `$disconnect`, as one API Gateway
    closes does: its record is forgotten, not left for the next stack of the same process to find."""
    events: list[str] = []

    def invoke(function_id: str, event: dict[str, Any]) -> dict[str, Any]:
        events.append(event["requestContext"]["eventType"])
        return {"statusCode": 200}

    api = LocalWebSocketApi(template, invoke).start()
    client = connect(api.url, open_timeout=30)
    try:
        api.stop()
        assert events == ["CONNECT", "DISCONNECT"]
    finally:
        client.close()
