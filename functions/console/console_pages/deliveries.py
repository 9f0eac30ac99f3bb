"""The deliveries page: each destination's lane and what did not reach it; resume and redrive."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from arrowhook.core.observability import logger
from console_pages.wiring import Checked, SignedIn, backlog, page

router = APIRouter()


@router.get("/console/deliveries", response_class=HTMLResponse)
async def deliveries_page(
    request: Request, _: SignedIn, sent: Annotated[int | None, Query(ge=0, le=1_000_000)] = None
) -> HTMLResponse:
    """Each destination's lane (on, paused, off) and what did not reach it, oldest alert first."""
    unsent = backlog.unsent()
    waiting = Counter(record.lane for record in unsent)
    lanes = [{"destination": destination, "unsent": waiting[destination.id]} for destination in backlog.lanes()]
    return page(request, "deliveries.html", {"lanes": lanes, "records": unsent, "sent": sent})


@router.post("/console/destinations/{destination_id}/resume")
async def resume_destination(_: Checked, destination_id: str) -> RedirectResponse:
    """On again, and what it missed sent again (the admin API's POST /destinations/{id}/resume)."""
    again = backlog.resume(destination_id)[1]
    logger.info("destination resumed from the console", extra={"destination_id": destination_id})
    return RedirectResponse(f"/console/deliveries?sent={len(again)}", status_code=303)


@router.post("/console/deliveries/redrive")
async def redrive_deliveries(
    _: Checked, destination_id: Annotated[str, Form(min_length=1, max_length=64)]
) -> RedirectResponse:
    again = backlog.redrive(backlog.unsent(destination_id=destination_id))
    logger.info("deliveries redriven from the console", extra={"destination_id": destination_id})
    return RedirectResponse(f"/console/deliveries?sent={len(again)}", status_code=303)
