"""Live connections without AWS: a ticket opens one connection once, within its time, for its holder's
capped number; a new alert reaches the connections subscribed to its strategy; a gone one is forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from arrowhook.live.connections import LiveConnections, fan_out
from arrowhook.live.tickets import TICKET_SECONDS, TicketRefusedError, TicketSigner
from tests.fakes.live import InMemoryConnections, InMemoryRedemptions, RecordingPoster

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SIGNER = TicketSigner(b"k" * 32)


def live(at: datetime = NOW, max_per_holder: int = 5) -> LiveConnections:
    return LiveConnections(
        SIGNER, InMemoryConnections(), InMemoryRedemptions(), max_per_holder=max_per_holder, now=lambda: at
    )


def test_a_ticket_opens_one_connection_for_its_strategies() -> None:
    connections = live()
    token, _ = SIGNER.issue("admin", ("K1",), NOW)
    opened = connections.connect("c1", token)
    assert (opened.holder, opened.strategies, opened.receives("K1"), opened.receives("K2")) == (
        "admin",
        ("K1",),
        True,
        False,
    )
    with pytest.raises(TicketRefusedError, match="used before"):
        connections.connect("c2", token)


@pytest.mark.parametrize(
    "token",
    [None, "", "garbage", SIGNER.issue("admin", None, NOW)[0] + "x", TicketSigner(b"o" * 32).issue("a", None, NOW)[0]],
)
def test_a_missing_or_forged_ticket_is_refused(token: str | None) -> None:
    connections = live()
    with pytest.raises(TicketRefusedError, match="no valid ticket"):
        connections.connect("c1", token)
    assert connections.connections.all(NOW.timestamp()) == []


def test_an_expired_ticket_is_refused() -> None:
    token, _ = SIGNER.issue("admin", None, NOW)
    with pytest.raises(TicketRefusedError, match="expired"):
        live(NOW + timedelta(seconds=TICKET_SECONDS)).connect("c1", token)
    assert live(NOW + timedelta(seconds=TICKET_SECONDS - 1)).connect("c1", token).connection_id == "c1"


def test_a_holders_connections_are_capped_and_a_closed_one_frees_its_place() -> None:
    connections = live(max_per_holder=2)
    for number in range(2):
        connections.connect(f"c{number}", SIGNER.issue("admin", None, NOW)[0])
    with pytest.raises(TicketRefusedError, match="2 connections are open"):
        connections.connect("c2", SIGNER.issue("admin", None, NOW)[0])
    assert connections.connect("other", SIGNER.issue("console:s1", None, NOW)[0]).holder == "console:s1"
    connections.connections.delete("c0")  # $disconnect
    assert connections.connect("c2", SIGNER.issue("admin", None, NOW)[0]).connection_id == "c2"


def test_an_alert_reaches_its_strategys_connections_and_a_gone_one_is_forgotten() -> None:
    connections = live()
    connections.connect("all", SIGNER.issue("admin", None, NOW)[0])
    connections.connect("k1", SIGNER.issue("console:s1", ("K1",), NOW)[0])
    connections.connect("k2", SIGNER.issue("console:s2", ("K2",), NOW)[0])
    connections.connect("left", SIGNER.issue("console:s3", ("K1",), NOW)[0])
    poster = RecordingPoster(gone={"left"})
    opened = connections.connections.all(NOW.timestamp())
    assert fan_out(connections.connections, opened, "K1", b"{}", poster) == (2, 1)
    assert sorted(connection_id for connection_id, _ in poster.sent) == ["all", "k1"]
    assert sorted(one.connection_id for one in connections.connections.all(NOW.timestamp())) == ["all", "k1", "k2"]


def test_a_resume_sends_what_the_connection_missed_in_order_and_only_its_strategies() -> None:
    from arrowhook.live.connections import Connection
    from arrowhook.live.resume import missed, position
    from tests.fakes.alerts import InMemoryAlerts, stored_alert

    class Key:
        def __init__(self, key_id: str) -> None:
            self.id, self.name = key_id, key_id.lower()

    alerts = InMemoryAlerts()
    k1, k2 = Key("K1"), Key("K2")
    seen, *later = [stored_alert(k1, minute) for minute in range(4)]
    other = stored_alert(k2, 5)
    alerts.add(seen, *later, other)
    only_k1 = Connection("c", "admin", ("K1",), NOW, 0)
    assert missed(alerts, only_k1, position(seen)) == (later, True)
    everything = Connection("c", "admin", None, NOW, 0)
    assert missed(alerts, everything, position(seen), limit=3) == (later, False)
    assert missed(alerts, everything, position(later[-1])) == ([other], True)
    with pytest.raises(Exception, match="not a position"):
        missed(alerts, everything, "yesterday")
