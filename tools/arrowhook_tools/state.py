"""Where a running `make dev` announces itself, and how token files are written: read by every CLI
command, so it imports nothing heavy (the local stack itself pulls in moto, which alone made each CLI
command a second slower)."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

_PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: Where a running `make dev` announces its endpoints to `arrowhook invoke` and `arrowhook keys`.
STATE_FILE = Path(os.environ.get("ARROWHOOK_STATE_FILE") or _PROJECT_ROOT / ".arrowhook" / "dev.json")


def read_state(path: Path | None = None) -> dict[str, Any] | None:
    """The running `make dev` stack, if its process is still alive."""
    try:
        state: dict[str, Any] = json.loads((path or STATE_FILE).read_text(encoding="utf-8"))
        os.kill(int(state["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return state


def write_private(path: Path, text: str) -> None:
    """Create the file 0600 (its directory 0700) from the start: it holds a token, never readable by others."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an older file may have been created with other bits
        handle.write(text)


def write_state(state: dict[str, Any], path: Path | None = None) -> None:
    write_private(path or STATE_FILE, json.dumps({"pid": os.getpid(), **state}))  # it holds the admin token


def remove_state_if_ours(path: Path | None = None) -> None:
    """On stop: remove the state file only if this process wrote it (never another stack's)."""
    target = path or STATE_FILE
    with contextlib.suppress(OSError, ValueError, KeyError):
        if int(json.loads(target.read_text(encoding="utf-8"))["pid"]) == os.getpid():
            target.unlink()
