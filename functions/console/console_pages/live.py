"""A ticket for the live WebSocket API, from the console's session (docs/live.md): the page asks for one
each time it connects; the session's connections are capped together (holder `console:<session>`)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from arrowhook.aws.secure_parameters import secure_value
from arrowhook.core.models import utc_now
from arrowhook.live.tickets import TicketSigner, ticket_for
from console_pages.wiring import Checked, keys, settings

router = APIRouter()


@router.post("/console/live/ticket")
async def live_ticket(session: Checked) -> dict[str, Any]:
    key = secure_value(settings.cursor_key_parameter, max_age_seconds=3600)  # signed under its own domain
    # Capped per session; named by a digest, so the ticket (readable by the page) never carries the id.
    holder = "console:" + hashlib.sha256(session.session_id.encode()).hexdigest()[:16]
    token, ticket = ticket_for(TicketSigner(key.encode()), holder, None, keys, utc_now())
    expires_at = datetime.fromtimestamp(ticket.expires_at, UTC).isoformat().replace("+00:00", "Z")
    return {"ticket": token, "url": settings.live_url, "expires_at": expires_at}
