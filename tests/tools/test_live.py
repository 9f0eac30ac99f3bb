"""The live client's rules without a socket (`arrowhook live`, `arrowhook alerts tail`): each alert once,
the last position kept, the first connection's moment (the pong's position) as where a reconnect resumes
before any alert, and a resume's backlog given out in order with the alerts pushed meanwhile."""

from __future__ import annotations

from typing import Any

from arrowhook_tools.cli.live import LiveFollower


def _alert(second: int, alert_id: str) -> dict[str, Any]:
    return {
        "type": "alert",
        "position": f"2026-12-06T12:00:{second:02d}.000Z#{alert_id}",
        "alert": {"alert_id": alert_id},
    }


def _ids(heard: tuple[list[dict[str, Any]], Any]) -> list[str]:
    return [alert["alert_id"] for alert in heard[0]]


def test_alerts_are_kept_once_and_the_resume_point_follows_them() -> None:
    follower = LiveFollower(lambda: {})
    assert follower.opening() == {"action": "ping"}, "no position yet: the pong tells the first one"
    assert follower.heard({"type": "pong", "at": "t", "position": "2026-12-06T12:00:00.000Z#"}) == ([], None)
    assert follower.last == "2026-12-06T12:00:00.000Z#"
    assert _ids(follower.heard(_alert(1, "01A"))) == ["01A"]
    assert _ids(follower.heard(_alert(1, "01A"))) == [], "pushed and resent: shown once"
    assert follower.heard({"type": "pong", "at": "t", "position": "2026-12-06T12:05:00.000Z#"}) == ([], None)
    assert follower.last == "2026-12-06T12:00:01.000Z#01A", "a later pong never moves the resume point"
    assert follower.opening() == {"action": "resume", "after": "2026-12-06T12:00:01.000Z#01A"}


def test_a_resume_gives_its_backlog_and_what_was_pushed_meanwhile_in_order_once() -> None:
    follower = LiveFollower(lambda: {}, after="2026-12-06T12:00:00.000Z#")
    assert follower.opening() == {"action": "resume", "after": "2026-12-06T12:00:00.000Z#"}
    assert _ids(follower.heard(_alert(1, "01A"))) == [], "held until the resume is answered"
    assert _ids(follower.heard(_alert(9, "01NEW"))) == [], "a push during the resume: held too"
    assert _ids(follower.heard(_alert(2, "01B"))) == []
    more = {"type": "resumed", "count": 2, "complete": False, "last": "2026-12-06T12:00:02.000Z#01B"}
    heard = follower.heard(more)
    assert _ids(heard) == ["01A", "01B"], "what the server has resent so far, in order"
    assert heard[1] == {"action": "resume", "after": "2026-12-06T12:00:02.000Z#01B"}, "not after the newer push"
    assert _ids(follower.heard(_alert(3, "01C"))) == []
    assert _ids(follower.heard(_alert(9, "01NEW"))) == [], "resent as well: still one"
    heard = follower.heard({"type": "resumed", "count": 2, "complete": True, "last": "2026-12-06T12:00:09.000Z#01NEW"})
    assert heard == ([{"alert_id": "01C"}, {"alert_id": "01NEW"}], None)
    assert _ids(follower.heard(_alert(10, "01D"))) == ["01D"], "after the resume: given out as pushed"
    assert follower.last == "2026-12-06T12:00:10.000Z#01D"
