"""A ticket for the live WebSocket API, from the console's session (docs/live.md): the page asks for one
each time it connects; the session's connections are capped together (holder `console:<session>`)."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter

from arrowhook.admin.schemas import LiveTicketOut
from arrowhook.core.models import utc_now
from arrowhook.live.tickets import ticket_for, ticket_signer
from console_pages.wiring import Checked, keys, settings

router = APIRouter()


@router.post("/console/live/ticket")
async def live_ticket(session: Checked) -> dict[str, Any]:
    # Capped per session; named by a digest, so the ticket (readable by the page) never carries the id.
    holder = "console:" + hashlib.sha256(session.session_id.encode()).hexdigest()[:16]
    token, ticket = ticket_for(ticket_signer(settings.cursor_key_parameter), holder, None, keys, utc_now())
    return LiveTicketOut.of(token, ticket, settings.live_url).model_dump(mode="json")
