"""`arrowhook live`'s client rules without a socket: each alert once, the last position kept, and before
any alert the first connection's moment (the pong's position) as where a reconnect resumes."""

from __future__ import annotations

from arrowhook_tools.cli.live import LiveFollower


def test_alerts_are_kept_once_and_the_resume_point_follows_them() -> None:
    follower = LiveFollower(lambda: {})
    assert follower._new({"type": "pong", "at": "t", "position": "2026-12-06T12:00:00.000Z#"}) is None
    assert follower.last == "2026-12-06T12:00:00.000Z#"
    first = {"type": "alert", "position": "2026-12-06T12:00:01.000Z#01A", "alert": {"alert_id": "01A"}}
    assert follower._new(first) == {"alert_id": "01A"}
    assert follower._new(first) is None, "pushed and resent: shown once"
    assert follower._new({"type": "pong", "at": "t", "position": "2026-12-06T12:05:00.000Z#"}) is None
    assert follower.last == "2026-12-06T12:00:01.000Z#01A", "a later pong never moves the resume point"
    assert follower._new({"type": "resumed", "count": 0, "complete": True}) is None
