"""Debian's Chromium, as the console's browser tests and benchmark launch it (a test tool's own browser
download cannot work here; `make test` installs Debian's package)."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("ARROWHOOK_CHROMIUM", "/usr/bin/chromium")
#: Chromium's own background traffic is off: this machine's network is closed, and nothing may leave.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
