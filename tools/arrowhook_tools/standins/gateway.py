"""A local API Gateway HTTP API: template routes -> payload format 2.0 events -> the same handlers.

The server; routing, the event codec and the policies (throttling, CORS) are their own modules."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from arrowhook_tools.local.runtime import LocalFunctions
from arrowhook_tools.local.template import LOCAL_ACCOUNT
from arrowhook_tools.standins import meter as metering
from arrowhook_tools.standins.gateway_events import MAX_PAYLOAD_BYTES, build_event, normalize_response
from arrowhook_tools.standins.gateway_policies import JSON_HEADERS, Reply, TokenBucket, header_value, preflight
from arrowhook_tools.standins.gateway_routes import RouteTable


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # do not wait for idle keep-alive connections when stopping
    request_queue_size = 256  # the default backlog of 5 resets connections under a burst of webhooks


class LocalHttpApi:
    """Serves template.yaml's HttpApi routes on loopback. One thread per connection, like a real front door."""

    def __init__(
        self,
        functions: LocalFunctions,
        host: str = "127.0.0.1",
        port: int = 3000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.functions = functions
        self.routes = RouteTable(functions.template.routes())
        self.authorizers = functions.template.authorizers()
        self._auth_cache: dict[tuple[str, ...], tuple[float, bool, dict[str, Any]]] = {}
        self._auth_lock = threading.Lock()
        self._openapi: bytes | None = None
        self.cors = functions.template.cors()
        default_throttle, route_throttles = functions.template.throttles()
        self._buckets: dict[str, TokenBucket] = {}
        for route in functions.template.routes():
            throttle = route_throttles.get(route.route_key, default_throttle)
            if throttle is not None:
                self._buckets[route.route_key] = TokenBucket(throttle, clock)
        self.host = host
        self._server = _Server((host, port), self._handler_class())
        self.port = int(self._server.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalHttpApi:
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-http-api", daemon=True)
        self._thread.start()
        return self

    def serve_forever_until_interrupted(self) -> None:
        """Block the calling thread while the server thread serves; Ctrl-C raises KeyboardInterrupt here."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for a serve loop: only stop one that started
            self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def handle(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str) -> Reply:
        origin = header_value(headers, "origin")
        if (
            self.cors is not None
            and method == "OPTIONS"
            and origin
            and header_value(headers, "access-control-request-method")
        ):
            return preflight(self.cors, headers)
        path = urlsplit(target).path
        if method == "GET" and (path in ("/openapi.json", "/docs") or path.startswith("/docs/")):
            status, response_headers, cookies, payload = self._documentation(path)
        else:
            status, response_headers, cookies, payload = self._route(method, target, headers, body, source_ip)
        if self.cors is not None and origin and self.cors.allows(origin):
            response_headers["access-control-allow-origin"] = "*" if "*" in self.cors.allow_origins else origin
            response_headers["vary"] = "origin"
        meter = metering.active()
        if meter is not None:
            matched = self.routes.match(method, path or "/")
            meter.api_request(
                {
                    "requestId": "LgYb7jX0IAMEVmA=",  # API Gateway's are 16 characters
                    "routeKey": matched.route.route_key if matched else "-",
                    "status": str(status),
                    "responseLatency": "45",
                    "integrationLatency": "40",
                    "identity.sourceIp": source_ip,
                    "identity.userAgent": header_value(headers, "user-agent") or "-",
                    "requestTime": "06/Dec/2026:11:00:50 +0000",
                    "responseLength": str(len(payload)),
                    "integrationErrorMessage": "-",
                }
            )
        return status, response_headers, cookies, payload

    def _route(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str) -> Reply:
        parts = urlsplit(target)
        matched = self.routes.match(method, parts.path or "/")
        if matched is None:
            return 404, dict(JSON_HEADERS), [], b'{"message":"Not Found"}'
        bucket = self._buckets.get(matched.route.route_key)
        if bucket is not None and not bucket.take():
            return 429, dict(JSON_HEADERS), [], b'{"message":"Too Many Requests"}'
        event = build_event(
            method=method,
            raw_path=parts.path or "/",
            raw_query=parts.query,
            headers=headers,
            body=body,
            source_ip=source_ip,
            matched=matched,
        )
        if matched.route.authorizer is not None:
            denied = self._authorize(matched.route.authorizer, event)
            if denied is not None:
                return denied
        try:
            result = self.functions.invoke(matched.route.function_id, event)
        except Exception:  # a crashed handler is API Gateway's 500, never a dropped connection
            return 500, {"content-type": "application/json"}, [], b'{"message":"Internal Server Error"}'
        return normalize_response(result)

    def _documentation(self, path: str) -> Reply:
        """Local-only: the merged OpenAPI document and an interactive page for it (not deployed)."""
        from arrowhook_tools.generators import openapi

        if path == "/docs":
            return 200, {"content-type": "text/html; charset=utf-8"}, [], openapi.DOCS_PAGE.encode()
        if path.startswith("/docs/"):
            return self._docs_asset(path)
        try:
            with self._auth_lock:
                if self._openapi is None:
                    self._openapi = json.dumps(openapi.build(self.functions.template)).encode()
        except Exception:  # a broken document is a 500, never a dropped connection
            return 500, dict(JSON_HEADERS), [], b'{"message":"Internal Server Error"}'
        return 200, dict(JSON_HEADERS), [], self._openapi

    @staticmethod
    def _docs_asset(path: str) -> Reply:
        """Swagger UI's files from npm (functions/console/node_modules), and the page's own init script."""
        from arrowhook_tools.generators import openapi

        if path == "/docs/init.js":
            return 200, {"content-type": "text/javascript"}, [], openapi.DOCS_INIT.encode()
        if path not in openapi.DOCS_ASSETS:
            return 404, dict(JSON_HEADERS), [], b'{"message":"Not Found"}'
        asset = openapi.SWAGGER_UI / path.removeprefix("/docs/")
        if not asset.is_file():
            message = b"Swagger UI is not installed: run `make dev` (it runs npm ci in functions/console)"
            return 503, {"content-type": "text/plain"}, [], message
        return 200, {"content-type": openapi.DOCS_ASSETS[path]}, [], asset.read_bytes()

    def _authorize(self, name: str, event: dict[str, Any]) -> Reply | None:
        """HTTP API Lambda authorizer semantics: 401 without the identity header, 403 when denied, cached."""
        spec = self.authorizers[name]
        identity = [event["headers"].get(header) for header in spec.identity_headers]
        if not identity or any(not value for value in identity):
            return 401, {"content-type": "application/json"}, [], b'{"message":"Unauthorized"}'
        cache_key = (name, *[str(value) for value in identity])
        with self._auth_lock:
            cached = self._auth_cache.get(cache_key)
        if cached is not None and cached[0] > time.monotonic():
            _, allowed, context = cached
        else:
            auth_event = {key: value for key, value in event.items() if key not in ("body", "isBase64Encoded")}
            request = event["requestContext"]
            auth_event.update(
                {
                    "type": "REQUEST",
                    "identitySource": identity,
                    "routeArn": f"arn:aws:execute-api:us-east-1:{LOCAL_ACCOUNT}:{request['apiId']}/$default/"
                    f"{request['http']['method']}{event['rawPath']}",
                }
            )
            try:
                result = self.functions.invoke(spec.function_id, auth_event)
                allowed = bool(result["isAuthorized"]) if isinstance(result, dict) else False
                context = dict(result.get("context") or {}) if isinstance(result, dict) else {}
            except Exception:  # an authorizer crash is API Gateway's 500
                return 500, {"content-type": "application/json"}, [], b'{"message":"Internal Server Error"}'
            if spec.ttl_seconds > 0:
                with self._auth_lock:
                    self._auth_cache[cache_key] = (time.monotonic() + spec.ttl_seconds, allowed, context)
        if not allowed:
            return 403, {"content-type": "application/json"}, [], b'{"message":"Forbidden"}'
        event["requestContext"]["authorizer"] = {"lambda": context}
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "arrowhook-local"
            # Headers and body go out in two writes: with Nagle's algorithm the body waits for the
            # client's delayed ACK (40 ms per request on Linux).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                """Access log by route, never the raw path (it may hold a webhook token)."""

            def _serve(self) -> None:
                started = time.perf_counter()
                length = int(self.headers.get("content-length") or 0)
                if length > MAX_PAYLOAD_BYTES:
                    self._reply(
                        413, {"content-type": "application/json"}, [], b'{"message":"Request Entity Too Large"}'
                    )
                    self.close_connection = True
                    return
                body = self.rfile.read(length) if length else b""
                status, headers, cookies, payload = api.handle(
                    self.command, self.path, list(self.headers.items()), body, self.client_address[0]
                )
                self._reply(status, headers, cookies, payload)
                matched = api.routes.match(self.command, urlsplit(self.path).path)
                route = matched.route.route_key if matched else "-"
                elapsed = (time.perf_counter() - started) * 1000
                print(f"{self.command:6} {route:32} {status} {elapsed:7.1f} ms", flush=True)

            def _reply(self, status: int, headers: dict[str, str], cookies: list[str], payload: bytes) -> None:
                try:
                    self.send_response(
                        status, HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
                    )
                    for name, value in headers.items():
                        if name not in ("content-length", "connection", "transfer-encoding"):
                            self.send_header(name, value)
                    for cookie in cookies:
                        self.send_header("set-cookie", cookie)
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def __getattr__(self, name: str) -> Any:
                """Every method (even QUERY or TRACE) reaches route matching: API Gateway's 404, not a 501."""
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

        return Handler
