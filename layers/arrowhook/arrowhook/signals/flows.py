"""What happens to a stored alert off the webhook's path, one alert at a time (the delivery function
batches them and reports partial failures; these are the use cases it calls):

- `new_alert`: from the stream, lag and lateness at once, then a `pending` delivery per destination in
  its lane (late alerts skipped where a destination asks); an alert whose sequence is checked goes to
  the signal-check queue, a declared lag check's verdict is written on the alert, otherwise nothing is
  (the alert carries its lag);
- `settled`: from the signal-check queue once the alert has settled, its sequence: flagged on the alert,
  counted, and a gap notice sent to the strategy's destinations;
- `watch_silence`: the schedule's run, strategies gone silent and those back, counted and logged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from arrowhook.core.models import StoredAlert, StrategyKey
from arrowhook.core.observability import Metric, MetricUnit, count_lag, logger, metrics
from arrowhook.core.signals import AlertHealth, GapBefore, SignalExpectations
from arrowhook.delivery.destinations import Destination
from arrowhook.delivery.lanes import Dispatcher, count_delivery
from arrowhook.delivery.sending import DeliveryRecord, DeliveryStatus
from arrowhook.signals.checks import needs_sequence_check
from arrowhook.signals.watch import SilenceWatch, StreamChecks, WatchResult, gap_notice, late_reason


class AlertReader(Protocol):
    def get(self, alert_id: str) -> StoredAlert | None: ...


class SequenceCheckQueue(Protocol):
    """Hands an alert back once it has settled (arrowhook.delivery.channels.SignalCheckQueue)."""

    def enqueue(self, alert_id: str) -> None: ...


@dataclass
class AlertFlows:
    checks: StreamChecks
    dispatcher: Dispatcher
    check_queue: SequenceCheckQueue
    alerts: AlertReader

    def new_alert(
        self, alert: StoredAlert, configured: list[Destination], strategies: Mapping[str, StrategyKey]
    ) -> list[DeliveryRecord]:
        """Dispatched to its strategy's destinations, its lag checked first (a late alert is skipped where
        a destination asks). `strategies` and `configured` are read once per batch by the caller."""
        expectations = _expectations(alert, strategies)
        health = self.checks.lag(alert, expectations)
        results = self.dispatcher.dispatch(alert, configured, late=late_reason(health, expectations))
        for result in results:
            _count(result)
        if needs_sequence_check(alert, expectations.sequence):
            self.check_queue.enqueue(alert.alert_id)  # checked once settled, with its lag (written then)
            return results
        if expectations.max_lag_seconds is not None:  # a declared check: its verdict is written on the alert
            self.checks.record(alert, health)
        # Otherwise nothing is written: the alert carries its lag (AlertHealth.of_lag), and no second write
        # per alert is paid for a check nobody declared.
        _count_health(alert.strategy, health, gap=False)
        return results

    def settled(
        self, alert_id: str, strategies: Mapping[str, StrategyKey], configured: Callable[[], list[Destination]]
    ) -> GapBefore | None:
        """One settled alert's sequence: flagged on the alert, counted, and notified when something is
        missing (`configured` is called only then)."""
        alert = self.alerts.get(alert_id)
        if alert is None:
            return None  # archived or deleted meanwhile: nothing to flag
        expectations = _expectations(alert, strategies)
        gap = self.checks.sequence(alert, expectations)
        health = self.checks.lag(alert, expectations).model_copy(update={"gap_before": gap})
        self.checks.record(alert, health)
        _count_health(alert.strategy, health, gap=gap is not None)
        if gap is not None:
            logger.warning("alert missing before this one", extra={"alert_id": alert.alert_id, **gap.model_dump()})
            for notice in self.dispatcher.notify(gap_notice(alert, gap), configured()):
                _count(notice)
        return gap


def watch_silence(watch: SilenceWatch, now: datetime) -> WatchResult:
    """The schedule's run (or `arrowhook signals check`): strategies gone silent, and those back."""
    result = watch.run(now)
    for notice in result.notices:
        _count(notice)
    if result.silent:
        metrics.add_metric(name=Metric.SILENT_STRATEGIES, unit=MetricUnit.Count, value=len(result.silent))
    logger.info(
        "signal watch", extra={"watched": result.watched, "silent": result.silent, "recovered": result.recovered}
    )
    return result


def _expectations(alert: StoredAlert, strategies: Mapping[str, StrategyKey]) -> SignalExpectations:
    """What its strategy declares (nothing, for a strategy deleted since)."""
    key = strategies.get(alert.key_id)
    return key.signals if key else SignalExpectations()


def _count_health(strategy: str, health: AlertHealth, *, gap: bool) -> None:
    if health.lag_ms is not None:
        count_lag(strategy, health.lag_ms)
    if health.late:
        metrics.add_metric(name=Metric.LATE_ALERTS, unit=MetricUnit.Count, value=1)
    if gap:
        metrics.add_metric(name=Metric.SIGNAL_GAPS, unit=MetricUnit.Count, value=1)


def _count(result: DeliveryRecord) -> None:
    """A dispatch: what is skipped is counted here; the sender logs and counts the rest as it sends."""
    if result.status is DeliveryStatus.SKIPPED:
        count_delivery(result)
