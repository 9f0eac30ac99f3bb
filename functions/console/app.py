"""The web console at /console: server-rendered pages (Jinja2, autoescaped) enhanced by htmx, on the same
use cases and stores as the admin API. Signing in exchanges the admin token for a signed session cookie;
every state-changing request carries the session's CSRF token. Assets are served from this function,
never a CDN, under a Content-Security-Policy that allows no inline script or style."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Form, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from arrowhook.admin.app import lambda_entry, mapped_error
from arrowhook.admin.auth import token_matches
from arrowhook.admin.console_session import COOKIE_NAME, CSRF_FIELD, CSRF_HEADER, OpenSessions, Session, SessionSigner
from arrowhook.admin.tradingview_messages import indicator_message, strategy_message
from arrowhook.alerts.daily_counts import DailyCounts
from arrowhook.alerts.listing import AlertListing, FilterRequest
from arrowhook.alerts.overview import overview
from arrowhook.alerts.positions import positions
from arrowhook.alerts.query import AlertQuery
from arrowhook.alerts.rejection_metrics import RejectionCounts
from arrowhook.alerts.store import AlertStore
from arrowhook.aws.pagination import CursorSigner, cursor_signer
from arrowhook.aws.secure_parameters import secure_value
from arrowhook.core.errors import ArrowhookError, InvalidFilterError
from arrowhook.core.models import KeyStatus, StoredAlert, StrategyKey, iso, utc_now
from arrowhook.core.observability import Metric, MetricUnit, logger, metrics
from arrowhook.core.rejections import REASON_MEANINGS
from arrowhook.core.settings import ConsoleSettings
from arrowhook.core.signals import SequenceCheck, SignalExpectations, TradingHours, problems
from arrowhook.delivery.admin import Backlog
from arrowhook.delivery.channels import SqsLanes
from arrowhook.delivery.destinations_store import DestinationStore
from arrowhook.delivery.lanes import Dispatcher
from arrowhook.delivery.records_store import DeliveryStore
from arrowhook.keys import service as key_cases
from arrowhook.keys.store import KeyStore
from arrowhook.signals.checks import human

settings = ConsoleSettings.from_environment()
HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
keys = KeyStore(settings.keys_table_name)
alert_store = AlertStore(settings.alerts_table_name)
alert_query = AlertQuery(settings.alerts_table_name)
deliveries = DeliveryStore(settings.deliveries_table_name)
backlog = Backlog(
    destinations=DestinationStore(settings.keys_table_name),
    keys=keys,
    records=deliveries,
    dispatcher=Dispatcher(records=deliveries, lanes=SqsLanes(settings.delivery_queue_url)),
)
daily_counts = DailyCounts(settings.alerts_table_name)
rejection_counts = RejectionCounts(metrics.namespace or "Arrowhook", metrics.service or "arrowhook")
PAGE_SIZE = 50
#: The live view re-reads this far back each poll: a write that lands late (its received_at is taken
#: before DynamoDB confirms it, at most ~1.8 s later: dynamodb.worst_case_seconds) is still shown; the
#: page drops rows it already has, by id.
LIVE_OVERLAP = timedelta(seconds=5)
#: At most this many rows per poll (a burst beyond it shows on the next polls, oldest first).
LIVE_MAX_ROWS = 1000
#: Nothing leaves the origin, no inline script or style, no framing, forms post only here.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def signer() -> CursorSigner:
    return cursor_signer(settings.cursor_key_parameter)


listing = AlertListing(alert_query, keys, signer)
sessions = OpenSessions(settings.keys_table_name)
app = FastAPI(title="Arrowhook console", docs_url=None, redoc_url=None, openapi_url=None)


def session_signer() -> SessionSigner:
    return _signer_for(secure_value(settings.session_key_parameter, 3600))


@cache
def _signer_for(key: str) -> SessionSigner:
    """One signer per key (a replaced key, read again after the parameter cache expires, gets its own)."""
    return SessionSigner(key.encode(), settings.session_seconds)


class SignInRequiredError(Exception):
    """No session, or an expired or forged one: pages send the browser to sign in."""


class CsrfRefusedError(Exception):
    """A state-changing request without this session's CSRF token."""


#: How long a warm console trusts the admin token it read: a replaced token ends sessions within this.
ADMIN_TOKEN_CACHE_SECONDS = 30


def admin_token() -> str:
    return secure_value(settings.admin_token_parameter, ADMIN_TOKEN_CACHE_SECONDS)


def valid_session(request: Request) -> Session | None:
    """The cookie's session, if it is still open (not signed out) and was opened with today's admin token."""
    signer = session_signer()
    session = signer.load(request.cookies.get(COOKIE_NAME))
    if session is None or not signer.current(session, admin_token()) or not sessions.is_open(session):
        return None
    return session


def current_session(request: Request) -> Session:
    session = valid_session(request)
    if session is None:
        raise SignInRequiredError
    request.state.session = session  # the page it renders reuses it (one signature check per request)
    return session


def checked_session(
    request: Request,
    session: Annotated[Session, Depends(current_session)],
    csrf_token: Annotated[str | None, Form(alias=CSRF_FIELD, max_length=128)] = None,
) -> Session:
    """For POSTs: the session, and the CSRF token from the form (or the htmx header) must match it."""
    if not session.allows(request.headers.get(CSRF_HEADER) or csrf_token):
        raise CsrfRefusedError
    return session


SignedIn = Annotated[Session, Depends(current_session)]
Checked = Annotated[Session, Depends(checked_session)]


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
    return _page(request, "error.html", {"message": "This form expired or did not come from the console."}, 403)


@app.exception_handler(StarletteHTTPException)
async def http_error(request: Request, error: StarletteHTTPException) -> Response:
    return _page(request, "error.html", {"message": str(error.detail)}, error.status_code)


@app.exception_handler(ArrowhookError)
async def domain_error(request: Request, error: Exception) -> Response:
    """The admin API's mapping (admin_app.ERRORS), shown as a page."""
    status, _, message = mapped_error(error)
    return _page(request, "error.html", {"message": message}, status)


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    session: Session | None = getattr(request.state, "session", None)
    if session is None and COOKIE_NAME in request.cookies:
        try:  # a page outside SignedIn (sign-in, an error) shows the header only for a session still valid
            session = valid_session(request)
        except Exception:  # an error page must render even when SSM or DynamoDB does not answer
            logger.warning("session unavailable while rendering a page")
    base = {"request": request, "csrf_token": session.csrf_token if session else "", "signed_in": bool(session)}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


# -- signing in ----------------------------------------------------------------------------------------
@app.get("/console", include_in_schema=False)
async def home() -> RedirectResponse:
    return RedirectResponse("/console/alerts", status_code=303)


@app.get("/console/login", response_class=HTMLResponse)
async def login_page(request: Request) -> HTMLResponse:
    return _page(request, "login.html", {})


@app.post("/console/login", response_class=HTMLResponse)
async def login(request: Request, token: Annotated[str, Form(max_length=512)] = "") -> Response:
    """The admin token, once, for a session cookie; a wrong token says so and sets nothing."""
    current = admin_token()
    if not token_matches(token.strip() or None, current):
        logger.warning("console sign-in refused")
        metrics.add_metric(name=Metric.ADMIN_AUTH_FAILURES, unit=MetricUnit.Count, value=1)  # as the authorizer
        return _page(request, "login.html", {"error": "That is not the admin token."}, 401)
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


@app.post("/console/logout")
async def logout(session: Checked) -> RedirectResponse:
    """Ends the session here, not only in this browser: a copy of the cookie is refused from now on."""
    sessions.close(session)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/console")
    return response


# -- alerts --------------------------------------------------------------------------------------------
def _filters(  # noqa: PLR0917 - one query parameter each
    strategy: Annotated[str | None, Query(max_length=64)] = None,
    ticker: Annotated[str | None, Query(max_length=64)] = None,
    side: Annotated[str | None, Query(pattern="^(|buy|sell|close)$")] = None,
    since: Annotated[str | None, Query(max_length=64)] = None,
    until: Annotated[str | None, Query(max_length=64)] = None,
    issues: Annotated[bool, Query()] = False,
    contains: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    return {
        "strategy": strategy or "",
        "ticker": ticker or "",
        "side": side or "",
        "since": since or "",
        "until": until or "",
        "issues": issues,
        "contains": contains or "",
    }


Filters = Annotated[dict[str, Any], Depends(_filters)]


def _requested(filters: dict[str, Any], *, since: str | None = None, newest_first: bool = True) -> FilterRequest | None:
    return listing.request(
        strategy=filters["strategy"] or None,
        ticker=filters["ticker"] or None,
        side=filters["side"] or None,
        since=since or filters["since"] or None,
        until=filters["until"] or None,
        newest_first=newest_first,
        has_issues=filters["issues"],
        contains=filters["contains"] or None,
    )


def _query_string(filters: dict[str, Any], **extra: str) -> str:
    values = {name: value for name, value in filters.items() if value not in ("", False, None)}
    values = {name: "true" if value is True else value for name, value in values.items()}
    return urlencode({**values, **extra})


def _row(alert: StoredAlert) -> dict[str, Any]:
    fields = alert.fields
    return {
        "id": alert.alert_id,
        "sort_key": f"{iso(alert.received_at)}#{alert.alert_id}",
        "received_at": iso(alert.received_at),
        "strategy": alert.strategy,
        "side": fields.side or "",
        "ticker": fields.ticker or "",
        "price": "" if fields.price is None else str(fields.price),
        "quantity": "" if fields.quantity is None else str(fields.quantity),
        "text": alert.message or "",
        "issues": len(alert.parse_issues),
        "gap": alert.health is not None and alert.health.gap_before is not None,
        "late": alert.health is not None and alert.health.late,
        "test": alert.is_test,
    }


@app.get("/console/alerts", response_class=HTMLResponse)
async def alerts_page(
    request: Request, _: SignedIn, filters: Filters, cursor: Annotated[str | None, Query(max_length=4096)] = None
) -> HTMLResponse:
    found, next_cursor = listing.page(_requested(filters), PAGE_SIZE, cursor)
    context = {
        "filters": filters,
        "rows": [_row(alert) for alert in found],
        "next_url": f"/console/alerts?{_query_string(filters, cursor=next_cursor)}" if next_cursor else None,
        "more_url": f"/console/alerts/rows?{_query_string(filters, cursor=next_cursor)}" if next_cursor else None,
        "live_url": None if cursor else f"/console/alerts/live?{_query_string(filters)}",
        "newest": iso(found[0].received_at) if found else iso(utc_now() - LIVE_OVERLAP),
        "strategies": sorted(key.name for key in keys.all()),
    }
    return _page(request, "alerts.html", context)


@app.get("/console/alerts/rows", response_class=HTMLResponse)
async def more_rows(
    request: Request, _: SignedIn, filters: Filters, cursor: Annotated[str | None, Query(max_length=4096)] = None
) -> HTMLResponse:
    """The next page's rows, for htmx's "load more" (the plain link loads the whole next page)."""
    found, next_cursor = listing.page(_requested(filters), PAGE_SIZE, cursor)
    more_url = f"/console/alerts/rows?{_query_string(filters, cursor=next_cursor)}" if next_cursor else None
    return _page(request, "alert_rows.html", {"rows": [_row(alert) for alert in found], "more_url": more_url})


@app.get("/console/alerts/live", response_class=HTMLResponse)
async def live_rows(
    request: Request, _: SignedIn, filters: Filters, after: Annotated[str, Query(max_length=64)]
) -> HTMLResponse:
    """Alerts received since `after` (less a margin), oldest first: the page adds those it lacks."""
    try:
        since = datetime.fromisoformat(after.replace("Z", "+00:00")).astimezone(UTC) - LIVE_OVERLAP
    except ValueError:
        raise InvalidFilterError("after: not an ISO 8601 time") from None
    requested = _requested(filters, since=iso(since), newest_first=False)
    found: list[StoredAlert] = []
    cursor: str | None = None
    while len(found) < LIVE_MAX_ROWS:  # every page of the margin: a burst must not hide the newest
        page, cursor = listing.page(requested, LIVE_MAX_ROWS - len(found), cursor)
        found.extend(page)
        if cursor is None:
            break
    return _page(request, "alert_rows.html", {"rows": [_row(alert) for alert in found], "more_url": None})


@app.get("/console/alerts/{alert_id}", response_class=HTMLResponse)
async def alert_page(request: Request, _: SignedIn, alert_id: str) -> HTMLResponse:
    alert = alert_store.get(alert_id)
    if alert is None:
        raise StarletteHTTPException(status_code=404, detail="No alert has this id (archived alerts are in S3).")
    fields = [(name, value) for name, value in alert.fields.model_dump().items() if value is not None]
    lag = alert.health.lag_ms if alert.health else None
    context = {
        "alert": alert,
        "fields": fields,
        "deliveries": deliveries.for_alert(alert_id),
        "row": _row(alert),
        "lag": f"{lag / 1000:.1f} s" if lag is not None and lag < 120_000 else human(timedelta(milliseconds=lag or 0)),
    }
    return _page(request, "alert.html", context)


# -- overview ------------------------------------------------------------------------------------------
@app.get("/console/overview", response_class=HTMLResponse)
async def overview_page(request: Request, _: SignedIn) -> HTMLResponse:
    """Alerts per hour and per day by strategy (charts drawn by uPlot from a JSON block, no inline script)."""
    summary = overview(alert_query, daily_counts, utc_now(), rejection_counts)
    latest = {key.name: _last_alert(key) for key in keys.all()}
    context = {
        "summary": summary,
        "chart_data": summary.chart_data(),
        "latest": latest,
        "reason_meanings": REASON_MEANINGS,
    }
    return _page(request, "overview.html", context)


# -- strategies ----------------------------------------------------------------------------------------
def _last_alert(key: StrategyKey) -> str:
    """When the strategy's newest alert arrived ("" for none): one item read from its index."""
    latest, _ = alert_query.page(FilterRequest(key_id=key.id).resolve(utc_now()), 1)
    return iso(latest[0].received_at) if latest else ""


def _strategy_rows() -> list[dict[str, Any]]:
    today = iso(utc_now().replace(hour=0, minute=0, second=0, microsecond=0))
    return [
        {
            "key": key,
            "last_alert": _last_alert(key),
            "today": alert_query.count(FilterRequest(key_id=key.id, since=today).resolve(utc_now())),
        }
        for key in keys.all()
    ]


@app.get("/console/strategies/{key_id}/positions", response_class=HTMLResponse)
async def positions_page(request: Request, _: SignedIn, key_id: str) -> HTMLResponse:
    key = key_cases.get_key(keys, key_id)
    found, read, complete = positions(alert_query, key.id)
    context = {"key": key, "positions": found, "alerts_read": read, "complete": complete}
    return _page(request, "positions.html", context)


def _webhook_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}/webhook"


@app.get("/console/strategies", response_class=HTMLResponse)
async def strategies_page(request: Request, _: SignedIn) -> HTMLResponse:
    return _page(request, "strategies.html", {"rows": _strategy_rows(), "webhook_url": _webhook_url(request)})


def _secret_page(request: Request, key: StrategyKey, secret: str, what: str) -> HTMLResponse:
    context = {
        "key": key,
        "secret": secret,
        "what": what,
        "webhook_url": _webhook_url(request),
        "strategy_message": strategy_message(secret),
        "indicator_message": indicator_message(secret),
    }
    return _page(request, "secret.html", context, 201 if what == "created" else 200)


@app.post("/console/strategies", response_class=HTMLResponse)
async def create_strategy(
    request: Request,
    _: Checked,
    name: Annotated[str, Form(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._\-]*$")],
    description: Annotated[str, Form(max_length=512)] = "",
) -> HTMLResponse:
    key, secret = key_cases.create_key(keys, name, description)
    logger.info("key created from the console", extra={"key_id": key.id})
    return _secret_page(request, key, secret, "created")


@app.post("/console/strategies/{key_id}/rotate", response_class=HTMLResponse)
async def rotate_strategy(
    request: Request, _: Checked, key_id: str, grace_seconds: Annotated[int, Form(ge=0, le=30 * 86_400)] = 0
) -> HTMLResponse:
    key, secret = key_cases.rotate_key(keys, key_id, grace_seconds)
    logger.info("key rotated from the console", extra={"key_id": key.id, "grace_seconds": grace_seconds})
    return _secret_page(request, key, secret, "rotated")


@app.post("/console/strategies/{key_id}/status")
async def set_status(_: Checked, key_id: str, enabled: Annotated[bool, Form()]) -> RedirectResponse:
    key_cases.update_key(keys, key_id, enabled=enabled)
    return RedirectResponse("/console/strategies", status_code=303)


@app.post("/console/strategies/{key_id}/rename")
async def rename_strategy(
    _: Checked,
    key_id: str,
    name: Annotated[str, Form(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._\-]*$")],
) -> RedirectResponse:
    key_cases.update_key(keys, key_id, name=name)
    return RedirectResponse("/console/strategies", status_code=303)


@app.post("/console/strategies/{key_id}/signals", response_model=None)
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
        return _page(request, "error.html", {"message": f"Signals not saved: {problems(error)}"}, 400)
    except ValueError as error:
        return _page(request, "error.html", {"message": f"Signals not saved: {error}"}, 400)
    key_cases.update_key(keys, key_id, signals=signals)
    return RedirectResponse("/console/strategies", status_code=303)


@app.post("/console/strategies/{key_id}/delete")
async def delete_strategy(
    request: Request, _: Checked, key_id: str, confirm: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    """Deleting needs the strategy's name typed again: a slip of the finger cannot stop a live strategy."""
    key = key_cases.get_key(keys, key_id)
    if confirm.strip().lower() != key.name.lower():
        return _page(request, "error.html", {"message": f"Type {key.name} to delete it."}, 400)
    key_cases.delete_key(keys, key_id)
    logger.info("key deleted from the console", extra={"key_id": key_id})
    return RedirectResponse("/console/strategies", status_code=303)


# -- deliveries -------------------------------------------------------------------------------------------
@app.get("/console/deliveries", response_class=HTMLResponse)
async def deliveries_page(
    request: Request, _: SignedIn, sent: Annotated[int | None, Query(ge=0, le=1_000_000)] = None
) -> HTMLResponse:
    """Each destination's lane (on, paused, off) and what did not reach it, oldest alert first."""
    unsent = backlog.unsent()
    waiting = Counter(record.lane for record in unsent)
    lanes = [{"destination": destination, "unsent": waiting[destination.id]} for destination in backlog.lanes()]
    return _page(request, "deliveries.html", {"lanes": lanes, "records": unsent, "sent": sent})


@app.post("/console/destinations/{destination_id}/resume")
async def resume_destination(_: Checked, destination_id: str) -> RedirectResponse:
    """On again, and what it missed sent again (the admin API's POST /destinations/{id}/resume)."""
    again = backlog.resume(destination_id)[1]
    logger.info("destination resumed from the console", extra={"destination_id": destination_id})
    return RedirectResponse(f"/console/deliveries?sent={len(again)}", status_code=303)


@app.post("/console/deliveries/redrive")
async def redrive_deliveries(
    _: Checked, destination_id: Annotated[str, Form(min_length=1, max_length=64)]
) -> RedirectResponse:
    again = backlog.redrive(backlog.unsent(destination_id=destination_id))
    logger.info("deliveries redriven from the console", extra={"destination_id": destination_id})
    return RedirectResponse(f"/console/deliveries?sent={len(again)}", status_code=303)


# -- assets ---------------------------------------------------------------------------------------------
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


templates.env.globals["KeyStatus"] = KeyStatus
lambda_handler = lambda_entry(app)
