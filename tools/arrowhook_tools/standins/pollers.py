"""Daemon threads that poll until stopped: the local stand-ins for Lambda's event source pollers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Pollers:
    def __init__(self) -> None:
        #: Set by stop(); a poller waits on it between polls, so stopping never waits a whole pause.
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def spawn(self, name: str, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self._threads:
            thread.join(timeout=10)
