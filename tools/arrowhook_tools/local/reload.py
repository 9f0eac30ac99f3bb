"""`make dev` picks up code changes without a restart: a watcher compares the functions' and the
layer's source files every second, and on a change the local runtime replaces its warm instances, so
the next event runs the new code (what `sam local start-api` does with warm containers off, without
paying a cold start on every request)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from arrowhook_tools.local.template import PROJECT_ROOT
from arrowhook_tools.standins.pollers import Pollers

WATCHED = (PROJECT_ROOT / "functions", PROJECT_ROOT / "layers" / "arrowhook" / "arrowhook")
_SUFFIXES = {".py", ".html", ".css", ".js", ".json"}
_SKIPPED = {"node_modules", "vendor", "__pycache__"}


def fingerprint(roots: Iterable[Path]) -> dict[Path, int]:
    """Every watched file and its modification time (ns); vendored folders are never walked (the
    console's node_modules alone holds thousands of files)."""
    found: dict[Path, int] = {}
    for root in roots:
        for folder, subfolders, files in os.walk(root):
            subfolders[:] = [name for name in subfolders if name not in _SKIPPED]
            for name in files:
                path = Path(folder) / name
                if path.suffix in _SUFFIXES:
                    with contextlib.suppress(OSError):  # removed between the listing and the stat
                        found[path] = path.stat().st_mtime_ns
    return found


class CodeWatcher:
    def __init__(
        self,
        on_change: Callable[[list[Path]], None],
        roots: Iterable[Path] = WATCHED,
        poll_seconds: float = 1.0,
    ) -> None:
        self.roots = tuple(roots)
        self.on_change = on_change
        self.poll_seconds = poll_seconds
        self._pollers = Pollers()

    def start(self) -> CodeWatcher:
        self._pollers.spawn("code-watcher", self._watch, fingerprint(self.roots))
        return self

    def stop(self) -> None:
        self._pollers.stop()

    def _watch(self, seen: dict[Path, int]) -> None:
        while not self._pollers.stopping.wait(self.poll_seconds):
            now = fingerprint(self.roots)
            changed = sorted({path for path in now.keys() | seen.keys() if now.get(path) != seen.get(path)})
            if changed:
                self.on_change(changed)
            seen = now
