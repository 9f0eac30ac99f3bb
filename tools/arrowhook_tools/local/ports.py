"""Claiming the local stack's ports: a restart right after a stop works, a real clash names its holder."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

#: A stack that was just stopped may hold its listening sockets for a moment while its process exits.
RESTART_GRACE_SECONDS = 10.0
_LISTEN = "0A"


class PortInUseError(OSError):
    """The port is held by a listening socket that did not go away within the grace period."""


def claim_port(
    host: str,
    port: int,
    *,
    grace_seconds: float = RESTART_GRACE_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Return once `port` can be bound as our servers bind it (SO_REUSEADDR, so the TIME_WAIT connections
    a stopped stack leaves never count); wait up to `grace_seconds` for a listener that is going away."""
    deadline = clock() + grace_seconds
    while True:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
                return
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
        if clock() >= deadline:
            raise PortInUseError(errno.EADDRINUSE, f"port {port} on {host} is in use by {holder_of(port)}")
        sleep(0.25)


def holder_of(port: int, proc: Path = Path("/proc")) -> str:
    """Who listens on a TCP port, from /proc (Linux); 'another process' where that cannot be read."""
    inodes: set[str] = set()
    for table in ("net/tcp", "net/tcp6"):
        try:
            lines = (proc / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == _LISTEN and int(fields[1].rpartition(":")[2], 16) == port:
                inodes.add(fields[9])
    for entry in proc.iterdir() if inodes and proc.is_dir() else ():
        if not entry.name.isdigit():
            continue
        sockets: set[str] = set()
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):  # a descriptor may close while we look
                    sockets.add(os.readlink(fd))
        if any(f"socket:[{inode}]" in sockets for inode in inodes):
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                command = "?"
            return f"pid {entry.name} ({command[:120]})"
    return "another process"
