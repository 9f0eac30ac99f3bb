"""The destinations page: list, add (secrets entered once, never shown again; a webhook's signing secret
shown once), test (the destination's answer and its reason), switch on or off, edit the message template
with a live preview, delete; and one destination's recent deliveries and failures. The same use cases as
the destinations API (arrowhook.delivery.admin)."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from arrowhook.alerts.query import AlertFilter
from arrowhook.core.models import utc_now
from arrowhook.core.observability import logger
from arrowhook.delivery.admin import DestinationChanges, sample_alert
from arrowhook.delivery.destinations import PLACEHOLDERS, check_template, placeholder_values, render_within
from arrowhook.delivery.kinds.base import InvalidDestinationError
from arrowhook.delivery.kinds.registry import DestinationKind
from console_pages.wiring import (
    Checked,
    SignedIn,
    alert_query,
    backlog,
    deliveries,
    destination_admin,
    destination_sender,
    keys,
    page,
)

router = APIRouter()
BACK = "/console/destinations"
RECENT = 20
Text = Annotated[str, Form(max_length=2048)]
Secret = Annotated[str, Form(max_length=2048)]


def _context(notice: str | None = None, error: str | None = None) -> dict[str, object]:
    names = {key.id: key.name for key in keys.all()}
    return {
        "destinations": destination_admin.list(),
        "strategy_names": names,
        "kinds": list(DestinationKind),
        "placeholders": PLACEHOLDERS,
        "notice": notice,
        "error": error,
    }


@router.get("/console/destinations", response_class=HTMLResponse)
async def destinations_page(request: Request, _: SignedIn) -> HTMLResponse:
    return page(request, "destinations.html", _context())


@router.post("/console/destinations", response_class=HTMLResponse)
async def add_destination(  # noqa: PLR0917 - one form field each
    request: Request,
    _: Checked,
    kind: Annotated[DestinationKind, Form()],
    name: Annotated[str, Form(min_length=1, max_length=64)],
    strategies: Annotated[list[str] | None, Form()] = None,
    url: Secret = "",
    bot_token: Secret = "",
    chat_id: Annotated[str, Form(max_length=64)] = "",
    template: Text = "",
) -> HTMLResponse:
    changes = DestinationChanges(
        name=name, strategies=strategies or [], template=template or None, url=url or None,
        bot_token=bot_token or None, chat_id=chat_id or None,
    )  # fmt: skip
    try:
        destination, signing_secret = destination_admin.create(kind, changes)
    except InvalidDestinationError as error:
        return page(request, "destinations.html", _context(error=f"Not added: {error}"), 400)
    logger.info("destination created from the console", extra={"destination_id": destination.id})
    context = _context(notice=f"Added {destination.name}. Its secret is kept; it is never shown again.")
    return page(request, "destinations.html", {**context, "signing_secret": signing_secret, "created": destination})


@router.post("/console/destinations/preview", response_class=HTMLResponse)
async def preview_template(
    request: Request, _: Checked, kind: Annotated[DestinationKind, Form()], template: Text = ""
) -> HTMLResponse:
    """The template rendered with a sample alert, escaped as the destination's kind sends it (htmx)."""
    try:
        check_template(template, kind)
    except InvalidDestinationError as error:
        return HTMLResponse(f'<span class="error-text">{escape(str(error))}</span>')
    sample = sample_alert(utc_now())
    text = render_within(template, placeholder_values(sample), kind.rules.escape, kind.rules.limit)
    return HTMLResponse(f"<pre>{escape(text)}</pre>")


@router.post("/console/destinations/{destination_id}/test", response_class=HTMLResponse)
async def test_destination(request: Request, _: Checked, destination_id: str) -> HTMLResponse:
    answer = destination_admin.test(destination_id, destination_sender)
    logger.info("destination tested from the console", extra={"destination_id": destination_id})
    outcome = "answered OK" if answer.ok else "refused or failed"
    notice = f"Test sent to {destination_admin.get(destination_id).name}: {outcome} ({answer.reason()})."
    return page(request, "destinations.html", _context(notice=notice) | {"tested": destination_id})


@router.post("/console/destinations/{destination_id}/enabled")
async def switch_destination(_: Checked, destination_id: str, enabled: Annotated[bool, Form()]) -> RedirectResponse:
    destination_admin.update(destination_id, DestinationChanges(enabled=enabled))
    return RedirectResponse(BACK, status_code=303)


@router.post("/console/destinations/{destination_id}/template", response_class=HTMLResponse)
async def edit_template(request: Request, _: Checked, destination_id: str, template: Text) -> Response:
    try:
        destination_admin.update(destination_id, DestinationChanges(template=template))
    except InvalidDestinationError as error:
        return page(request, "destinations.html", _context(error=f"Template not saved: {error}"), 400)
    return RedirectResponse(BACK, status_code=303)


@router.post("/console/destinations/{destination_id}/delete", response_class=HTMLResponse)
async def delete_destination(
    request: Request, _: Checked, destination_id: str, confirm: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    destination = destination_admin.get(destination_id)
    if confirm != destination.name:
        return page(request, "destinations.html", _context(error=f"Type {destination.name} to delete it."), 400)
    destination_admin.delete(destination_id)
    logger.info("destination deleted from the console", extra={"destination_id": destination_id})
    return RedirectResponse(BACK, status_code=303)


@router.get("/console/destinations/{destination_id}", response_class=HTMLResponse)
async def destination_page(request: Request, _: SignedIn, destination_id: str) -> HTMLResponse:
    """Its recent deliveries (the newest alerts of its strategies, each alert's record for it) and what did
    not reach it (failed and held, from the deliveries' Unsent index)."""
    destination = destination_admin.get(destination_id)
    strategies = list(destination.strategies) or [key.id for key in keys.all()]
    newest = []
    for key_id in strategies:
        found, _more = alert_query.page(AlertFilter(key_id=key_id), RECENT)
        newest.extend(found)
    newest = sorted(newest, key=lambda alert: alert.received_at, reverse=True)[:RECENT]
    recent = [
        (alert, record)
        for alert in newest
        for record in deliveries.for_alert(alert.alert_id)
        if record.destination_id == destination_id
    ]
    context = {"destination": destination, "recent": recent, "failures": backlog.unsent(destination_id=destination_id)}
    return page(request, "destination.html", context)
