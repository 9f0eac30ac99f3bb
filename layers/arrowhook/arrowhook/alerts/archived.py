"""What the archive's state item (`ARCHIVE#state`, written by arrowhook.archive.state) says about one alert:
whether the archive has taken it. Read by the webhook's store before it completes a dedupe marker whose
alert is missing, so it lives below both (the archive's journal format is arrowhook.archive.protocol's)."""

from __future__ import annotations

from typing import Any

STATE_KEY = {"pk": {"S": "ARCHIVE#state"}}


def covers(state: dict[str, Any], alert_id: str, sort_key: str) -> bool:
    """Whether the archive has taken this alert, or is taking it (its journal lists the alert before any
    delete): read by the webhook, so a marker whose alert is gone is never completed with a second copy
    of an archived alert."""
    if sort_key <= str(state.get("watermark", {}).get("S", "")):
        return True
    pending = state.get("pending", {}).get("M")
    if not pending:
        return False
    listed = pending.get("alert_ids", {}).get("S")
    if listed is None:  # a journal of a version that did not list members: its range, conservatively
        return sort_key <= str(pending.get("last_sort_key", {}).get("S", ""))
    return alert_id in listed.split()
