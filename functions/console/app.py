"""The web console at /console: server-rendered pages (Jinja2, autoescaped) enhanced by htmx, on the same
use cases and stores as the admin API. Signing in exchanges the admin token for a signed session cookie;
every state-changing request carries the session's CSRF token. Assets are served from this function,
never a CDN, under a Content-Security-Policy that allows no inline script or style.

The pages live in console_pages/, one router per page (sign_in, alerts, strategies, deliveries), with
what they share in wiring.py and what they show in views.py; this module is the app around them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from arrowhook.admin.app import lambda_entry, mapped_error
from arrowhook.core.errors import ArrowhookError
from arrowhook.core.observability import logger
from console_pages import alerts, deliveries, destinations, export, ledger, live, sign_in, strategies
from console_pages.wiring import STATIC, CsrfRefusedError, SignInRequiredError, page, settings


def content_security_policy(live_url: str) -> str:
    """Nothing leaves the origin but the live socket (its API's origin only), no inline script or style,
    no framing, forms post only here."""
    live = urlsplit(live_url)
    return (
        f"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {live.scheme}://{live.netloc}; font-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


SECURITY_HEADERS = {
    "Content-Security-Policy": content_security_policy(settings.live_url),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}

app = FastAPI(title="Arrowhook console", docs_url=None, redoc_url=None, openapi_url=None)
for pages in (sign_in, export, alerts, strategies, ledger, destinations, deliveries, live):
    app.include_router(pages.router)


@app.middleware("http")
async def security_headers(request: Request, call_next: Callable[[Request], Any]) -> Response:
    response: Response = await call_next(request)
    response.headers.update(SECURITY_HEADERS)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@app.exception_handler(SignInRequiredError)
async def sign_in_first(request: Request, _: Exception) -> Response:
    if request.headers.get("HX-Request"):
        return Response(status_code=401, headers={"HX-Redirect": "/console/login"})
    return RedirectResponse("/console/login", status_code=303)


@app.exception_handler(CsrfRefusedError)
async def csrf_refused(request: Request, _: Exception) -> Response:
    logger.warning("console request without a valid CSRF token", extra={"path": request.url.path})
    return page(request, "error.html", {"message": "This form expired or did not come from the console."}, 403)


@app.exception_handler(StarletteHTTPException)
async def http_error(request: Request, error: StarletteHTTPException) -> Response:
    return page(request, "error.html", {"message": str(error.detail)}, error.status_code)


@app.exception_handler(ArrowhookError)
async def domain_error(request: Request, error: Exception) -> Response:
    """The admin API's mapping (admin_app.ERRORS), shown as a page."""
    status, _, message = mapped_error(error)
    return page(request, "error.html", {"message": message}, status)


_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}


@app.get("/console/static/{path:path}")
async def static(path: str) -> Response:
    """Files under static/ only (vendor/ is copied from npm packages pinned in package-lock.json)."""
    try:  # a NUL byte or an over-long name is an OSError or ValueError of the file system: not found
        target = (STATIC / path).resolve()
        found = target.is_relative_to(STATIC) and target.is_file() and target.suffix in _TYPES
    except (OSError, ValueError):
        found = False
    if not found:
        raise StarletteHTTPException(status_code=404, detail="Not found.")
    return FileResponse(target, media_type=_TYPES[target.suffix], headers={"Cache-Control": "public, max-age=3600"})


lambda_handler = lambda_entry(app)
