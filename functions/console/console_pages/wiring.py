"""What every console page shares: the settings, the stores and use cases it reads (built once per
instance), the session checks (`SignedIn` for pages, `Checked` for forms, which also checks the CSRF
token) and `page()`, which renders a template with the session's header."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from arrowhook.admin.console_session import COOKIE_NAME, CSRF_FIELD, CSRF_HEADER, OpenSessions, Session, SessionSigner
from arrowhook.alerts.daily_counts import DailyCounts
from arrowhook.alerts.listing import AlertListing
from arrowhook.alerts.query import AlertQuery
from arrowhook.alerts.rejection_metrics import RejectionCounts
from arrowhook.alerts.store import AlertStore
from arrowhook.aws.pagination import CursorSigner, cursor_signer
from arrowhook.aws.secure_parameters import secure_value
from arrowhook.core.models import KeyStatus
from arrowhook.core.observability import logger, metrics
from arrowhook.core.settings import ConsoleSettings
from arrowhook.delivery.admin import Backlog, destination_management
from arrowhook.delivery.channels import SqsLanes
from arrowhook.delivery.destinations_store import DestinationStore
from arrowhook.delivery.lanes import Dispatcher
from arrowhook.delivery.records_store import DeliveryStore
from arrowhook.keys.store import KeyStore
from arrowhook.signals.watch import SilenceStates

settings = ConsoleSettings.from_environment()
#: The function's folder: its templates/ and static/ ship beside app.py.
HERE = Path(__file__).resolve().parent.parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["KeyStatus"] = KeyStatus
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


def signer() -> CursorSigner:
    return cursor_signer(settings.cursor_key_parameter)


listing = AlertListing(alert_query, keys, signer)
sessions = OpenSessions(settings.keys_table_name)
#: The destinations page's use cases and the sender its tests use, as the destinations API has them.
destination_admin, destination_sender = destination_management(settings, keys)
#: Which strategies the signal watch has notified as silent (SIGNAL# items): read for the overview.
silences = SilenceStates(settings.keys_table_name)


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


def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    session: Session | None = getattr(request.state, "session", None)
    if session is None and COOKIE_NAME in request.cookies:
        try:  # a page outside SignedIn (sign-in, an error) shows the header only for a session still valid
            session = valid_session(request)
        except Exception:  # an error page must render even when SSM or DynamoDB does not answer
            logger.warning("session unavailable while rendering a page")
    base = {"request": request, "csrf_token": session.csrf_token if session else "", "signed_in": bool(session)}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
