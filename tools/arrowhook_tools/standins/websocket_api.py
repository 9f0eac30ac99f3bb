"""API Gateway's WebSocket API on 127.0.0.1, from template.yaml: each `AWS::ApiGatewayV2::Api` with
`ProtocolType: WEBSOCKET`, its `$connect`, `$disconnect` and `$default` routes invoking their function with
API Gateway's event shapes, and its `@connections` management endpoint, which the functions reach through
their normal client (the local stack points their endpoint variable here: LocalTemplate.local_endpoints).

As API Gateway does: `$connect` answering anything but 200 refuses the upgrade with that status; a frame
is a `$default` MESSAGE event; a closed socket is one DISCONNECT; POST to a connection that is gone
answers 410 GoneException. `drop()` closes connections server-side (tests: a reconnect mid-burst)."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from arrowhook_tools.local.template import LocalTemplate
from arrowhook_tools.standins import meter as metering
from arrowhook_tools.standins.quiet_server import QuietHTTPServer

Invoke = Callable[[str, dict[str, Any]], Any]
#: An AWS_PROXY integration's `.../functions/${LiveFunction.Arn}/invocations`: the function it invokes.
_FUNCTION_ARN = re.compile(r"\$\{(\w+)\.Arn\}")


def _integrated_function(uri: dict[str, Any]) -> str:
    """The function an integration URI names: `${Function.Arn}` in it, or a variable that is
    `!Ref Function.Alias` (the local stack runs each function's latest code: its alias and it are one)."""
    sub = uri["Fn::Sub"]
    if isinstance(sub, list):
        for value in sub[1].values():
            if isinstance(value, dict) and str(value.get("Ref", "")).endswith(".Alias"):
                return str(value["Ref"]).removesuffix(".Alias")
        sub = sub[0]
    return str(_FUNCTION_ARN.findall(sub)[0])


def websocket_routes(template: LocalTemplate) -> tuple[str, str, dict[str, str]]:
    """(the API's logical id, its stage name, route key -> function logical id) of the template's one
    WebSocket API."""
    (api_id,) = [logical_id for logical_id, resource in template.resources_of_type("AWS::ApiGatewayV2::Api")
                 if resource["Properties"].get("ProtocolType") == "WEBSOCKET"]  # fmt: skip
    integrations = {
        logical_id: _integrated_function(resource["Properties"]["IntegrationUri"])
        for logical_id, resource in template.resources_of_type("AWS::ApiGatewayV2::Integration")
    }
    routes = {
        resource["Properties"]["RouteKey"]: integrations[
            resource["Properties"]["Target"]["Fn::Sub"].split("${")[1][:-1]
        ]
        for _, resource in template.resources_of_type("AWS::ApiGatewayV2::Route")
    }
    (stage,) = [
        resource["Properties"]["StageName"] for _, resource in template.resources_of_type("AWS::ApiGatewayV2::Stage")
    ]
    return api_id, stage, routes


class LocalWebSocketApi:
    def __init__(self, template: LocalTemplate, invoke: Invoke | None = None, port: int = 0) -> None:
        self.api_id, self.stage, self.routes = websocket_routes(template)
        self.domain = template.execute_api_domain(self.api_id)
        self.invoke = invoke
        self._port = port
        self._open: dict[str, ServerConnection] = {}
        self._opened_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._server: Server | None = None
        self._management: ThreadingHTTPServer | None = None
        self.url = self.connections_url = ""

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> Self:
        self._server = serve(self._session, "127.0.0.1", self._port, process_request=self._connect)
        threading.Thread(target=self._server.serve_forever, name="websocket-api", daemon=True).start()
        self._management = QuietHTTPServer(("127.0.0.1", 0), self._management_handler())
        threading.Thread(target=self._management.serve_forever, name="websocket-connections", daemon=True).start()
        #: Where clients connect (the template's `wss://<domain>/<stage>`, on this machine).
        self.url = f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/{self.stage}"
        #: The `@connections` endpoint (the template's `https://<domain>/<stage>`, on this machine).
        self.connections_url = f"http://127.0.0.1:{self._management.server_address[1]}/{self.stage}"
        return self

    def stop(self, patience_seconds: float = 10.0) -> None:
        """Close every open connection first, each with its `$disconnect` (as API Gateway does when it
        closes one), so no connection record outlives the stack; then the servers."""
        self.drop()
        deadline = time.monotonic() + patience_seconds
        while time.monotonic() < deadline:
            with self._lock:
                if not self._open:
                    break
            time.sleep(0.05)
        if self._server is not None:
            self._server.shutdown()
        if self._management is not None:
            self._management.shutdown()
            self._management.server_close()

    def serve_in(self, template: LocalTemplate) -> None:
        """Point the functions' variables built from this API's domain here."""
        template.local_endpoints[f"wss://{self.domain}/"] = self.url.removesuffix(self.stage)
        template.local_endpoints[f"https://{self.domain}/"] = self.connections_url.removesuffix(self.stage)

    def drop(self) -> int:
        """Close every open connection from the server's side (as API Gateway's two-hour limit or a
        deploy does); each gets its `$disconnect`. Returns how many were closed."""
        with self._lock:
            open_now = list(self._open.values())
        for connection in open_now:
            connection.close(1001, "going away")
        return len(open_now)

    # -- the API's side --------------------------------------------------------------------------------
    def _event(self, kind: str, route: str, connection_id: str, **values: Any) -> dict[str, Any]:
        now = datetime.now(UTC)
        context = {
            "routeKey": route,
            "eventType": kind,
            "connectionId": connection_id,
            "domainName": self.domain,
            "stage": self.stage,
            "apiId": self.api_id,
            "requestId": uuid.uuid4().hex,
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "messageDirection": "IN",
            "identity": {"sourceIp": "127.0.0.1"},
        }
        return {"requestContext": context, "isBase64Encoded": False, **values}

    def _call(self, route: str, event: dict[str, Any]) -> dict[str, Any]:
        if self.invoke is None:
            raise RuntimeError("the local stack sets invoke before clients connect")
        answer = self.invoke(self.routes[route], event)
        answer = answer if isinstance(answer, dict) else {}
        meter = metering.active()
        if meter is not None:  # the stage's access-log line for this request
            context = event["requestContext"]
            meter.websocket_route(
                {
                    "requestId": "LgYb7jX0IAMEVmA=",  # API Gateway's are 16 characters
                    "identity.sourceIp": "203.0.113.7",
                    "routeKey": route,
                    "status": str(answer.get("statusCode", 200)),
                    "connectionId": "LgYb7cAiIAMCKFw=",
                    "eventType": context["eventType"],
                    "error.messageString": "-",
                }
            )
        return answer

    def _connect(self, connection: ServerConnection, request: Request) -> Response | None:
        connection_id = str(connection.id)
        query = {name: values[-1] for name, values in parse_qs(urlsplit(request.path).query).items()}
        headers = {name.lower(): value for name, value in request.headers.raw_items()}
        event = self._event("CONNECT", "$connect", connection_id, queryStringParameters=query or None, headers=headers)
        answer = self._call("$connect", event)
        status = int(answer.get("statusCode", 200))
        if status != 200:
            return connection.respond(status, str(answer.get("body") or "Forbidden"))
        with self._lock:
            self._open[connection_id] = connection
            self._opened_at[connection_id] = time.monotonic()

        return None

    def _session(self, connection: ServerConnection) -> None:
        connection_id = str(connection.id)
        try:
            for message in connection:
                body = message if isinstance(message, str) else message.decode("utf-8", "replace")
                if (meter := metering.active()) is not None:
                    meter.websocket_message(len(body.encode()))
                self._call("$default", self._event("MESSAGE", "$default", connection_id, body=body))
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._open.pop(connection_id, None)
                opened_at = self._opened_at.pop(connection_id, None)
            if (meter := metering.active()) is not None and opened_at is not None:
                meter.websocket_connection(time.monotonic() - opened_at)
            self._call("$disconnect", self._event("DISCONNECT", "$disconnect", connection_id))

    def _management_handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _target(self) -> ServerConnection | None:
                prefix = f"/{api.stage}/@connections/"
                if not self.path.startswith(prefix):
                    return None
                with api._lock:
                    return api._open.get(self.path[len(prefix) :])

            def _answer(self, status: int, body: dict[str, Any] | None = None, error: str | None = None) -> None:
                payload = json.dumps(body or {}).encode()
                self.send_response(status)
                if error:
                    self.send_header("x-amzn-ErrorType", error)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = self._target()
                if target is None:
                    self._answer(410, {"message": "connection gone"}, "GoneException")
                    return
                try:
                    target.send(data.decode("utf-8", "replace"))
                except (ConnectionClosed, OSError):  # closed meanwhile: what API Gateway answers then
                    self._answer(410, {"message": "connection gone"}, "GoneException")
                    return
                if (meter := metering.active()) is not None:
                    meter.websocket_message(len(data))
                self._answer(200)

            def do_DELETE(self) -> None:
                target = self._target()
                if target is None:
                    self._answer(410, {"message": "connection gone"}, "GoneException")
                    return
                target.close()
                self._answer(204)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the functions log what they send."""

        return Handler
