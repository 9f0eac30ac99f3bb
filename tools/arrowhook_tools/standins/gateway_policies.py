"""The local API Gateway's policies before a route runs: throttling (token buckets) and CORS preflights."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from arrowhook_tools.local.template import CorsSpec, Throttle


class TokenBucket:
    """API Gateway's throttling model: `burst` requests at once, refilled at `rate` per second."""

    def __init__(self, throttle: Throttle, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = throttle.rate
        self.capacity = float(throttle.burst)
        self._clock = clock
        self._tokens = self.capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


Reply = tuple[int, dict[str, str], list[str], bytes]
JSON_HEADERS = {"content-type": "application/json"}


def header_value(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


def preflight(cors: CorsSpec, headers: list[tuple[str, str]]) -> Reply:
    """API Gateway answers CORS preflights itself, before routes, authorizers and throttling."""
    origin = header_value(headers, "origin") or ""
    if not cors.allows(origin):
        return 204, {}, [], b""
    return (
        204,
        {
            "access-control-allow-origin": "*" if "*" in cors.allow_origins else origin,
            "access-control-allow-methods": ",".join(cors.allow_methods),
            "access-control-allow-headers": ",".join(cors.allow_headers),
            "access-control-max-age": str(cors.max_age),
            "vary": "origin",
        },
        [],
        b"",
    )
