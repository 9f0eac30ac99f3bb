"""Console sessions with an injected clock: they last max_age and not a second more; forged ones fail."""

from __future__ import annotations

from arrowhook.admin.console_session import SessionSigner

KEY = b"k" * 48


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_lasts_its_max_age_then_is_refused() -> None:
    clock = Clock()
    signer = SessionSigner(KEY, max_age_seconds=3600, clock=clock)
    cookie, session = signer.issue("token")
    clock.now += 3600
    assert signer.load(cookie) == session
    clock.now += 1
    assert signer.load(cookie) is None


def test_forged_or_foreign_cookies_are_refused() -> None:
    cookie, _ = SessionSigner(KEY, 3600).issue("token")
    assert SessionSigner(b"other" * 10, 3600).load(cookie) is None
    assert SessionSigner(KEY, 3600).load(cookie[:-2] + "xx") is None
    assert SessionSigner(KEY, 3600).load("") is None
    assert SessionSigner(KEY, 3600).load("not.a.cookie") is None


def test_the_csrf_token_must_match_exactly() -> None:
    _, session = SessionSigner(KEY, 3600).issue("token")
    assert session.allows(session.csrf_token)
    assert not session.allows(None)
    assert not session.allows("")
    assert not session.allows(session.csrf_token + "x")


def test_a_session_belongs_to_the_admin_token_it_was_opened_with() -> None:
    signer = SessionSigner(KEY, 3600)
    cookie, session = signer.issue("token-one")
    loaded = signer.load(cookie)
    assert loaded == session and loaded.session_id and loaded.token_mark
    assert signer.current(loaded, "token-one")
    assert not signer.current(loaded, "token-two"), "replacing the admin token ends the session"
    assert "token-one" not in cookie and "token-one" not in loaded.token_mark


def test_a_cookie_from_before_server_side_sessions_is_refused() -> None:
    from itsdangerous import URLSafeTimedSerializer

    old = URLSafeTimedSerializer(KEY, salt="arrowhook-console-session").dumps({"csrf": "x"})
    assert SessionSigner(KEY, 3600).load(old) is None


def test_open_sessions_end_at_sign_out_and_at_their_time(aws: object, template: object) -> None:
    from arrowhook.admin.console_session import OpenSessions

    sessions = OpenSessions(template.physical_name("KeysTable"))  # type: ignore[attr-defined]
    _, session = SessionSigner(KEY, 3600).issue("t")
    assert not sessions.is_open(session)
    sessions.open(session, 3600, now=1_000.0)
    assert sessions.is_open(session, now=1_000.0) and not sessions.is_open(session, now=4_601.0)
    sessions.close(session)
    assert not sessions.is_open(session, now=1_000.0)
