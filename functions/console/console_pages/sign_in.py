"""Signing in and out: the admin token, once, for a session cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from arrowhook.admin.auth import token_matches
from arrowhook.admin.console_session import COOKIE_NAME
from arrowhook.core.observability import Metric, MetricUnit, logger, metrics
from console_pages.wiring import Checked, admin_token, page, session_signer, sessions, settings

router = APIRouter()


@router.get("/console", include_in_schema=False)
async def home() -> RedirectResponse:
    return RedirectResponse("/console/alerts", status_code=303)


@router.get("/console/login", response_class=HTMLResponse)
async def login_page(request: Request) -> HTMLResponse:
    return page(request, "login.html", {})


@router.post("/console/login", response_class=HTMLResponse)
async def login(request: Request, token: Annotated[str, Form(max_length=512)] = "") -> Response:
    """The admin token, once, for a session cookie; a wrong token says so and sets nothing."""
    current = admin_token()
    if not token_matches(token.strip() or None, current):
        logger.warning("console sign-in refused")
        metrics.add_metric(name=Metric.ADMIN_AUTH_FAILURES, unit=MetricUnit.Count, value=1)  # as the authorizer
        return page(request, "login.html", {"error": "That is not the admin token."}, 401)
    cookie, session = session_signer().issue(current)
    sessions.open(session, settings.session_seconds)
    response = RedirectResponse("/console/alerts", status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        cookie,
        max_age=settings.session_seconds,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    logger.info("console signed in")
    return response


@router.post("/console/logout")
async def logout(session: Checked) -> RedirectResponse:
    """Ends the session here, not only in this browser: a copy of the cookie is refused from now on."""
    sessions.close(session)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/console")
    return response
