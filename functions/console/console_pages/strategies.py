"""The strategies page and its forms: create (the secret shown once), rotate, switch on or off, rename,
declare signal expectations, delete; a strategy's positions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from arrowhook.alerts.positions import positions
from arrowhook.core.observability import logger
from arrowhook.core.signals import SequenceCheck, SignalExpectations, TradingHours, problems
from arrowhook.keys import service as key_cases
from console_pages.views import secret_context, strategy_rows, webhook_url
from console_pages.wiring import Checked, SignedIn, alert_query, keys, page

router = APIRouter()
StrategyName = Annotated[str, Form(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._\-]*$")]
BACK = "/console/strategies"


@router.get("/console/strategies", response_class=HTMLResponse)
async def strategies_page(request: Request, _: SignedIn) -> HTMLResponse:
    return page(request, "strategies.html", {"rows": strategy_rows(), "webhook_url": webhook_url(request)})


@router.get("/console/strategies/{key_id}/positions", response_class=HTMLResponse)
async def positions_page(request: Request, _: SignedIn, key_id: str) -> HTMLResponse:
    key = key_cases.get_key(keys, key_id)
    found, read, complete = positions(alert_query, key.id)
    context = {"key": key, "positions": found, "alerts_read": read, "complete": complete}
    return page(request, "positions.html", context)


@router.post("/console/strategies", response_class=HTMLResponse)
async def create_strategy(
    request: Request, _: Checked, name: StrategyName, description: Annotated[str, Form(max_length=512)] = ""
) -> HTMLResponse:
    key, secret = key_cases.create_key(keys, name, description)
    logger.info("key created from the console", extra={"key_id": key.id})
    return page(request, "secret.html", secret_context(request, key, secret, "created"), 201)


@router.post("/console/strategies/{key_id}/rotate", response_class=HTMLResponse)
async def rotate_strategy(
    request: Request, _: Checked, key_id: str, grace_seconds: Annotated[int, Form(ge=0, le=30 * 86_400)] = 0
) -> HTMLResponse:
    key, secret = key_cases.rotate_key(keys, key_id, grace_seconds)
    logger.info("key rotated from the console", extra={"key_id": key.id, "grace_seconds": grace_seconds})
    return page(request, "secret.html", secret_context(request, key, secret, "rotated"))


@router.post("/console/strategies/{key_id}/status")
async def set_status(_: Checked, key_id: str, enabled: Annotated[bool, Form()]) -> RedirectResponse:
    key_cases.update_key(keys, key_id, enabled=enabled)
    return RedirectResponse(BACK, status_code=303)


@router.post("/console/strategies/{key_id}/rename")
async def rename_strategy(_: Checked, key_id: str, name: StrategyName) -> RedirectResponse:
    key_cases.update_key(keys, key_id, name=name)
    return RedirectResponse(BACK, status_code=303)


@router.post("/console/strategies/{key_id}/signals", response_model=None)
async def set_signals(
    request: Request,
    _: Checked,
    key_id: str,
    *,
    max_lag_seconds: Annotated[str, Form(max_length=6)] = "",
    sequence: Annotated[SequenceCheck, Form()] = SequenceCheck.POSITIONS,
    expect_every_minutes: Annotated[str, Form(max_length=6)] = "",
    trading_hours: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """What the strategy declares about its alerts (docs/signal-health.md); an empty field turns it off."""
    try:
        signals = SignalExpectations(
            max_lag_seconds=int(max_lag_seconds) if max_lag_seconds.strip() else None,
            sequence=sequence,
            expect_every_minutes=int(expect_every_minutes) if expect_every_minutes.strip() else None,
            trading_hours=TradingHours.parse(trading_hours) if trading_hours.strip() else None,
        )
    except ValidationError as error:
        return page(request, "error.html", {"message": f"Signals not saved: {problems(error)}"}, 400)
    except ValueError as error:
        return page(request, "error.html", {"message": f"Signals not saved: {error}"}, 400)
    key_cases.update_key(keys, key_id, signals=signals)
    return RedirectResponse(BACK, status_code=303)


@router.post("/console/strategies/{key_id}/delete")
async def delete_strategy(
    request: Request, _: Checked, key_id: str, confirm: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    """Deleting needs the strategy's name typed again: a slip of the finger cannot stop a live strategy."""
    key = key_cases.get_key(keys, key_id)
    if confirm.strip().lower() != key.name.lower():
        return page(request, "error.html", {"message": f"Type {key.name} to delete it."}, 400)
    key_cases.delete_key(keys, key_id)
    logger.info("key deleted from the console", extra={"key_id": key_id})
    return RedirectResponse(BACK, status_code=303)
