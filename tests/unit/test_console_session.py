"""Console sessions with an injected clock: they last max_age and not a second more; forged ones fail."""

from __future__ import annotations

from arrowhook.console_session import SessionSigner

KEY = b"k" * 48


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_lasts_its_max_age_then_is_refused() -> None:
    clock = Clock()
    signer = SessionSigner(KEY, max_age_seconds=3600, clock=clock)
    cookie, session = signer.issue()
    clock.now += 3600
    assert signer.load(cookie) == session
    clock.now += 1
    assert signer.load(cookie) is None


def test_forged_or_foreign_cookies_are_refused() -> None:
    cookie, _ = SessionSigner(KEY, 3600).issue()
    assert SessionSigner(b"other" * 10, 3600).load(cookie) is None
    assert SessionSigner(KEY, 3600).load(cookie[:-2] + "xx") is None
    assert SessionSigner(KEY, 3600).load("") is None
    assert SessionSigner(KEY, 3600).load("not.a.cookie") is None


def test_the_csrf_token_must_match_exactly() -> None:
    _, session = SessionSigner(KEY, 3600).issue()
    assert session.allows(session.csrf_token)
    assert not session.allows(None)
    assert not session.allows("")
    assert not session.allows(session.csrf_token + "x")
