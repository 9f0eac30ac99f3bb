"""The delivery function's flows for one stored alert, in memory: what is dispatched, what is checked
now or once settled, what is written on the alert, and the gap notice."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from arrowhook.core.models import StoredAlert, StrategyKey
from arrowhook.core.signals import SequenceCheck, SignalExpectations
from arrowhook.core.tradingview import AlertFields
from arrowhook.delivery.sending import DeliveryStatus
from arrowhook.signals.flows import AlertFlows
from arrowhook.signals.watch import StreamChecks
from tests.fakes.alerts import InMemoryAlerts
from tests.fakes.delivery import NOW, DeliveryFakes, alert, destination

SETTLE = timedelta(seconds=5)


@dataclass
class CheckQueue:
    enqueued: list[str] = field(default_factory=list)

    def enqueue(self, alert_id: str) -> None:
        self.enqueued.append(alert_id)


@dataclass
class World:
    delivery: DeliveryFakes = field(default_factory=DeliveryFakes)
    alerts: InMemoryAlerts = field(default_factory=InMemoryAlerts)
    queue: CheckQueue = field(default_factory=CheckQueue)

    def flows(self) -> AlertFlows:
        def no_wait(seconds: float) -> None:
            pytest.fail(f"the alert had settled: no wait expected, asked {seconds} s")

        checks = StreamChecks(self.alerts, self.alerts, SETTLE, now=lambda: NOW + timedelta(minutes=1), sleep=no_wait)
        return AlertFlows(checks, self.delivery.dispatcher(), self.queue, self.alerts)


def strategy(**signals: Any) -> dict[str, StrategyKey]:
    key = StrategyKey.model_validate(
        {
            "id": "K1",
            "name": "ema-cross",
            "secret_prefix": "tv_abcd",
            "created_at": NOW,
            "updated_at": NOW,
            "signals": SignalExpectations.model_validate(signals),
        }
    )
    return {key.id: key}


def with_fields(base: StoredAlert, **fields: Any) -> StoredAlert:
    values = {**base.fields.model_dump(exclude_none=True), **fields}
    return base.model_copy(update={"fields": AlertFields.model_validate(values)})


def test_an_alert_of_a_strategy_declaring_nothing_is_dispatched_and_nothing_is_written() -> None:
    world = World()
    one = alert()
    world.alerts.add(one)
    records = world.flows().new_alert(one, list(world.delivery.destinations.values()), strategy())
    assert [(record.destination_id, record.status) for record in records] == [("D1", DeliveryStatus.PENDING)]
    assert [message.destination_id for message, _ in world.delivery.enqueued] == ["D1"]
    assert world.queue.enqueued == [] and world.alerts.health_writes == []


def test_a_late_alert_is_skipped_where_asked_and_its_verdict_written() -> None:
    world = World(delivery=DeliveryFakes(destinations={"D1": destination(1, skip_late=True), "D2": destination(2)}))
    late = with_fields(alert(), tv_timenow=(NOW - timedelta(minutes=3)).isoformat())
    world.alerts.add(late)
    records = world.flows().new_alert(late, list(world.delivery.destinations.values()), strategy(max_lag_seconds=60))
    assert [(record.destination_id, record.status) for record in records] == [
        ("D1", DeliveryStatus.SKIPPED),
        ("D2", DeliveryStatus.PENDING),
    ]
    ((alert_id, health),) = world.alerts.health_writes
    assert alert_id == late.alert_id and health.late and health.checked_at is not None


def test_an_alert_whose_sequence_is_checked_waits_in_the_queue_with_nothing_written_yet() -> None:
    world = World()
    one = with_fields(alert(), prev_market_position="flat", market_position="long")
    world.alerts.add(one)
    world.flows().new_alert(one, [], strategy(sequence=SequenceCheck.POSITIONS))
    assert world.queue.enqueued == [one.alert_id] and world.alerts.health_writes == []


def test_a_settled_alert_that_contradicts_the_one_before_is_flagged_and_notified() -> None:
    world = World()
    before = with_fields(alert(-60), market_position="long", prev_market_position="flat")
    after = with_fields(alert(), market_position="short", prev_market_position="flat")
    world.alerts.add(before, after)
    configured_reads: list[int] = []

    def configured() -> list[Any]:
        configured_reads.append(1)
        return list(world.delivery.destinations.values())

    gap = world.flows().settled(after.alert_id, strategy(sequence=SequenceCheck.POSITIONS), configured)
    assert gap is not None and gap.previous_alert_id == before.alert_id
    stored = world.alerts.get(after.alert_id)
    assert stored is not None and stored.health is not None and stored.health.gap_before == gap
    ((notice, _),) = world.delivery.enqueued
    assert notice.notice is not None and notice.notice.kind == "gap" and configured_reads == [1]


def test_a_settled_alert_in_sequence_reads_no_destination_and_one_archived_meanwhile_is_left_alone() -> None:
    world = World()
    before = with_fields(alert(-60), market_position="long", prev_market_position="flat")
    after = with_fields(alert(), market_position="flat", prev_market_position="long")
    world.alerts.add(before, after)
    flows = world.flows()

    def configured() -> list[Any]:
        raise AssertionError("destinations are read only for a notice")

    assert flows.settled(after.alert_id, strategy(sequence=SequenceCheck.POSITIONS), configured) is None
    assert [alert_id for alert_id, _ in world.alerts.health_writes] == [after.alert_id]
    assert flows.settled("01GONE", strategy(sequence=SequenceCheck.POSITIONS), configured) is None
    assert len(world.alerts.health_writes) == 1 and world.delivery.enqueued == []
