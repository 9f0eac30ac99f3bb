"""Where a running `make dev` keeps what it writes, and how those files are written: read by every CLI
command, so it imports nothing heavy (the local stack itself pulls in moto, which alone made each CLI
command a second slower).

One folder per stack (`ARROWHOOK_STATE_DIR`, default `.arrowhook/`): `dev.json` (a running stack's
endpoints and admin token, for the CLI), `sam-env.json` (for `sam local`), `state/snapshot.json` (its
data, kept across restarts). A second stack gets a folder of its own, so two never share a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

_PROJECT_ROOT = Path(__file__).resolve().parents[3]
STATE_DIR = Path(os.environ.get("ARROWHOOK_STATE_DIR") or _PROJECT_ROOT / ".arrowhook")
#: Where a running `make dev` announces its endpoints to `arrowhook invoke` and `arrowhook strategies`.
STATE_FILE = STATE_DIR / "dev.json"


def read_state(path: Path | None = None) -> dict[str, Any] | None:
    """The running `make dev` stack, if its process is still alive."""
    try:
        state: dict[str, Any] = json.loads((path or STATE_FILE).read_text(encoding="utf-8"))
        os.kill(int(state["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return state


def private_directory(path: Path) -> None:
    """The folder, 0700: created so, and an existing one of ours narrowed (it may hold tokens)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        path.chmod(0o700)


def write_private(path: Path, text: str) -> None:
    """Write the file 0600 in a 0700 folder, from its creation and atomically: a crash mid-write keeps
    the previous file whole, and no other user can read a token for even a moment."""
    private_directory(path.parent)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:  # mkstemp creates it 0600
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_state(state: dict[str, Any], path: Path | None = None) -> None:
    write_private(path or STATE_FILE, json.dumps({"pid": os.getpid(), **state}))  # it holds the admin token


def remove_state_if_ours(path: Path | None = None) -> None:
    """On stop: remove the state file only if this process wrote it (never another stack's)."""
    target = path or STATE_FILE
    with contextlib.suppress(OSError, ValueError, KeyError):
        if int(json.loads(target.read_text(encoding="utf-8"))["pid"]) == os.getpid():
            target.unlink()
