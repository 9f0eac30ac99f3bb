"""The archive protocol against in-memory fakes (no moto): a run killed at any step, however often, loses
nothing and leaves nothing both in the table and in S3 once the next runs have finished."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from arrowhook.alerts.store import alert_sort_key
from arrowhook.archive.objects import archive_body, read_archive
from arrowhook.archive.protocol import LEASE_SECONDS, Archiver, WrittenObject
from arrowhook.core.errors import ArchiveLeaseLostError
from arrowhook.core.models import StoredAlert, iso, new_id
from arrowhook.core.tradingview import AlertFields

START = datetime(2026, 8, 1, 22, tzinfo=UTC)
CUTOFF = datetime(2026, 8, 4, tzinfo=UTC)


class KilledError(Exception):
    """The process died here: nothing after this line of the run happens, not even its cleanup."""


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class FakeSource:
    """The alerts table as the protocol sees it: a ByDay index, consistent reads, batch deletes."""

    def __init__(self, alerts: list[StoredAlert], per_object: int) -> None:
        self.alerts = {alert.alert_id: alert for alert in alerts}
        self.per_object = per_object

    def _day(self, day: str) -> list[StoredAlert]:
        return sorted((a for a in self.alerts.values() if iso(a.received_at)[:10] == day), key=alert_sort_key)

    def days_with_alerts(self, last_day: str) -> list[str]:
        return sorted({iso(a.received_at)[:10] for a in self.alerts.values() if iso(a.received_at)[:10] <= last_day})

    def _between(self, watermark: str, cutoff_key: str, day: str) -> list[StoredAlert]:
        low = watermark + " " if watermark[:10] == day else day
        return [a for a in self._day(day) if low <= alert_sort_key(a) <= cutoff_key]

    def next_batch(self, watermark: str, cutoff_key: str, day: str) -> list[StoredAlert]:
        return self._between(watermark, cutoff_key, day)[: self.per_object]

    def listed_behind(self, day: str, watermark: str) -> list[str]:
        return [a.alert_id for a in self._day(day) if alert_sort_key(a) <= watermark][: self.per_object]

    def count(self, watermark: str, cutoff_key: str, day: str) -> int:
        return len(self._between(watermark, cutoff_key, day))

    def consistent(self, alert_ids: list[str]) -> list[StoredAlert]:
        return sorted((self.alerts[i] for i in alert_ids if i in self.alerts), key=alert_sort_key)

    def delete(self, alert_ids: list[str], before_each_call: Callable[[], None]) -> int:
        for start in range(0, len(alert_ids), 25):
            before_each_call()
            for alert_id in alert_ids[start : start + 25]:
                self.alerts.pop(alert_id, None)
        return 0


class FakeObjects:
    bucket = "fake-bucket"

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def write(self, key: str, alerts: list[StoredAlert]) -> WrittenObject:
        body = archive_body(alerts)
        self.objects[key] = body
        written = WrittenObject(None, hashlib.sha256(body).hexdigest(), len(body), len(alerts))
        assert self.verify(key, written) == [alert.alert_id for alert in alerts]
        return written

    def verify(self, key: str, written: WrittenObject) -> list[str]:
        body = self.objects[key]
        assert hashlib.sha256(body).hexdigest() == written.sha256 and len(body) == written.size
        return [line.alert_id for line in read_archive(body)]

    def archived_ids(self) -> list[str]:
        return [line.alert_id for body in self.objects.values() for line in read_archive(body)]


class FakeState:
    """The state item with DynamoDB's conditions: the lease is taken only when free or lapsed, and
    every later write only by its unexpired owner."""

    def __init__(self, clock: Clock) -> None:
        self.item: dict[str, Any] = {}
        self.clock = clock
        self.killed = False

    def read(self) -> dict[str, Any]:
        return dict(self.item)

    def acquire(self, owner: str) -> dict[str, Any] | None:
        until = self.item.get("lease_until")
        if until is not None and float(until["N"]) >= self.clock():
            return None
        self.item.update({"lease_owner": {"S": owner}, "lease_until": {"N": repr(self.clock() + LEASE_SECONDS)}})
        return dict(self.item)

    def fenced_update(
        self, owner: str, *, set_values: dict[str, Any] | None = None, remove: tuple[str, ...] = ()
    ) -> None:
        if self.item.get("lease_owner", {}).get("S") != owner or float(self.item["lease_until"]["N"]) < self.clock():
            raise ArchiveLeaseLostError("lease lost")
        self.item.update(set_values or {})
        for name in remove:
            self.item.pop(name, None)
        self.item["lease_until"] = {"N": repr(self.clock() + LEASE_SECONDS)}

    def release(self, owner: str) -> None:
        if self.killed:  # a killed process cleans nothing up: its lease lapses on its own
            return
        if self.item.get("lease_owner", {}).get("S") == owner:
            self.item.pop("lease_owner", None)
            self.item.pop("lease_until", None)


class Killer:
    """Wraps a collaborator; the `at`-th call across all of them kills the run just before it happens."""

    def __init__(self, at: int, state: FakeState) -> None:
        self.at = at
        self.calls = 0
        self.state = state

    def wrap(self, target: Any) -> Any:
        killer = self

        class Wrapped:
            def __getattr__(self, name: str) -> Any:
                attribute = getattr(target, name)
                if not callable(attribute):
                    return attribute

                def call(*args: Any, **kwargs: Any) -> Any:
                    killer.calls += 1
                    if killer.calls == killer.at:
                        killer.state.killed = True
                        raise KilledError(name)
                    return attribute(*args, **kwargs)

                return call

        return Wrapped()


def _alerts(count: int) -> list[StoredAlert]:
    """Alerts every 47 minutes from 22:00 on Aug 1: three days to archive, some after the cutoff."""
    alerts = []
    for number in range(count):
        received = START + timedelta(minutes=47 * number)
        alerts.append(
            StoredAlert(
                alert_id=new_id(int(received.timestamp() * 1000)),
                key_id="K1",
                strategy="s",
                received_at=received,
                body_format="json",
                payload="{}",
                fields=AlertFields(ticker="BTCUSDT", price=Decimal(number)),
            )
        )
    return alerts


def _archiver(killer: Killer, source: FakeSource, objects: FakeObjects, state: FakeState, clock: Clock) -> Archiver:
    """The protocol over the fakes, every call to them counted (and the chosen one killed)."""
    return Archiver(
        "table",
        "fake-bucket",
        alerts_per_object=7,
        source=killer.wrap(source),
        objects=killer.wrap(objects),
        state=killer.wrap(state),
        clock=clock,
    )


def _run_until_complete(
    source: FakeSource, objects: FakeObjects, state: FakeState, clock: Clock, kill_at: int | None
) -> int:
    """Runs (the first one killed at call `kill_at`) until one completes; returns how many were killed."""
    killed = 0
    for _ in range(20):
        killer = Killer(kill_at if killed == 0 and kill_at is not None else 0, state)
        state.killed = False
        try:
            report = _archiver(killer, source, objects, state, clock).run(CUTOFF)
        except KilledError:
            killed += 1
            clock.now += LEASE_SECONDS + 1  # the schedule's retry comes after the dead run's lease lapsed
            continue
        if report.status == "complete":
            return killed
        clock.now += LEASE_SECONDS + 1
    raise AssertionError("no run completed")


def _calls_in_a_clean_run() -> int:
    clock = Clock()
    state = FakeState(clock)
    killer = Killer(0, state)
    _archiver(killer, FakeSource(_alerts(100), 7), FakeObjects(), state, clock).run(CUTOFF)
    return killer.calls


@pytest.mark.parametrize("kill_at", [None, *range(1, _calls_in_a_clean_run() + 1)])
def test_a_run_killed_at_any_call_loses_nothing_and_duplicates_nothing(kill_at: int | None) -> None:
    clock = Clock()
    alerts = _alerts(100)
    old = {alert.alert_id for alert in alerts if alert.received_at <= CUTOFF}
    assert 40 < len(old) < 100, "some alerts are younger than the cutoff and must stay"
    source, objects, state = FakeSource(alerts, 7), FakeObjects(), FakeState(clock)
    killed = _run_until_complete(source, objects, state, clock, kill_at)
    assert killed == (0 if kill_at is None else 1)
    archived = objects.archived_ids()
    assert sorted(archived) == sorted(old), "every old alert is in exactly one object: none lost, none twice"
    assert set(source.alerts) == {alert.alert_id for alert in alerts} - old, "and none of them left in the table"
    assert "pending" not in state.item and "lease_owner" not in state.item
