"""Archival: alerts older than a cutoff move to S3 as gzip JSON Lines, then leave DynamoDB.

Every batch follows one order, so a crash at any point loses nothing and duplicates nothing:
1. plan: read the oldest alerts after the watermark (AlertsByDay index, oldest first, never more than one
   day) and journal the plan (object key, alert ids) in the state item;
2. write exactly the planned alerts to a key named after the first one, read the object back and
   check its size, SHA-256, record count and ids; journal it as written (version, digest);
3. delete the alerts (BatchWriteItem, 25 per call, unprocessed items retried);
4. move the watermark past the batch and clear the journal, in one write.
The plan fixes a batch's members, and alerts never change, so whoever writes a planned key (this run,
the run that takes over from it, or this run after it lost its lease) writes the same bytes: an S3
write needs no fence. Every DynamoDB write to the state item is fenced: conditional on this run still
holding an unexpired lease, which it renews while it works, so a run that died is taken over within
`LEASE_SECONDS`. Deletes only ever remove the alerts of a verified object.

A write can land after the watermark passed its `received_at` (a slow or retried webhook write, or the
AlertsByDay index showing an item late); each run first sweeps the watermark's day and the day before for
such stragglers, confirms each with a consistent read, and archives them the same way.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from arrowhook.alerts.archived import STATE_KEY
from arrowhook.alerts.store import alert_sort_key
from arrowhook.archive.objects import S3ArchiveObjects, WrittenObject, archive_line, read_archive
from arrowhook.archive.source import DynamoDBAlertSource
from arrowhook.archive.state import LEASE_SECONDS, ArchiveState
from arrowhook.aws.dynamodb import dynamodb_client
from arrowhook.core.errors import ArchiveIntegrityError
from arrowhook.core.models import StoredAlert, iso, utc_now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

OBJECT_PREFIX = "alerts"
#: Never start a batch with less than this left before the function's timeout.
MIN_RESERVE_SECONDS = 20.0
#: Renew once a third of the lease is gone, so two slow steps in a row still find it held.
RENEW_AFTER_SECONDS = LEASE_SECONDS / 3


# -- the three things the protocol works on (DynamoDB and S3 in production, in-memory fakes in tests) --
class AlertSource(Protocol):
    def days_with_alerts(self, last_day: str) -> list[str]: ...
    def next_batch(self, watermark: str, cutoff_key: str, day: str) -> list[StoredAlert]: ...
    def listed_behind(self, day: str, watermark: str) -> list[str]: ...
    def count(self, watermark: str, cutoff_key: str, day: str) -> int: ...
    def consistent(self, alert_ids: list[str]) -> list[StoredAlert]: ...
    def delete(self, alert_ids: list[str], before_each_call: Callable[[], None]) -> int: ...


class ArchiveObjects(Protocol):
    bucket: str

    def write(self, key: str, alerts: list[StoredAlert]) -> WrittenObject: ...
    def verify(self, key: str, written: WrittenObject) -> list[str]: ...


class StateItem(Protocol):
    def read(self) -> dict[str, Any]: ...
    def acquire(self, owner: str) -> dict[str, Any] | None: ...
    def fenced_update(
        self, owner: str, *, set_values: dict[str, Any] | None = None, remove: tuple[str, ...] = ()
    ) -> None: ...
    def release(self, owner: str) -> None: ...


class ArchiveRequest(BaseModel):
    """What may start a run: the schedule's input, `arrowhook archive run`, or a console test event."""

    model_config = ConfigDict(extra="ignore")

    older_than_seconds: int | None = Field(None, ge=1, description="Defaults to the retention parameter.")
    dry_run: bool = False
    trigger: str = "manual"
    #: Instead of archiving: bring this archived day back into the table (arrowhook.archive.restore).
    restore_day: date | None = None
    #: How long restored alerts stay in the table (the archive keeps them regardless).
    keep_days: int = Field(30, ge=1, le=3650)

    def cutoff(self, retention_days: int, now: datetime | None = None) -> datetime:
        older_than = self.older_than_seconds or retention_days * 86_400
        return (now or utc_now()) - timedelta(seconds=older_than)


class ArchiveReport(BaseModel):
    status: Literal["complete", "incomplete", "busy", "dry_run"]
    cutoff: datetime
    bucket: str
    archived: int = 0
    objects: list[str] = Field(default_factory=list)
    bytes_written: int = 0
    batches_retried: int = 0
    #: Alerts whose batch an interrupted run had left and this run finished.
    resumed: int = 0
    #: Alerts found behind the watermark (their write landed after it passed) and archived now.
    stragglers: int = 0
    would_archive: int | None = None
    watermark: str | None = None
    message: str = ""


@dataclass(frozen=True)
class Plan:
    """A batch's journal entry: its members are fixed here, before anything is written."""

    key: str
    last_sort_key: str
    #: None only for a journal left by a version that did not record members (then `written` is set).
    alert_ids: tuple[str, ...] | None
    written: WrittenObject | None = None

    @classmethod
    def of(cls, alerts: list[StoredAlert]) -> Plan:
        return cls(
            key=object_key(alerts[0]),
            last_sort_key=max(alert_sort_key(alert) for alert in alerts),
            alert_ids=tuple(alert.alert_id for alert in alerts),
        )

    def journal(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"key": {"S": self.key}, "last_sort_key": {"S": self.last_sort_key}}
        if self.alert_ids is not None:
            entry["alert_ids"] = {"S": " ".join(self.alert_ids)}
        if self.written is not None:
            entry["sha256"] = {"S": self.written.sha256}
            entry["size"] = {"N": str(self.written.size)}
            entry["count"] = {"N": str(self.written.count)}
            if self.written.version_id:
                entry["version_id"] = {"S": self.written.version_id}
        return {"M": entry}

    @classmethod
    def from_journal(cls, value: dict[str, Any]) -> Plan:
        entry = value["M"]
        written = None
        if "sha256" in entry:
            written = WrittenObject(
                version_id=entry.get("version_id", {}).get("S"),
                sha256=entry["sha256"]["S"],
                size=int(entry["size"]["N"]),
                count=int(entry["count"]["N"]),
            )
        ids = entry.get("alert_ids", {}).get("S")
        return cls(
            key=entry["key"]["S"],
            last_sort_key=entry["last_sort_key"]["S"],
            alert_ids=tuple(ids.split()) if ids is not None else None,
            written=written,
        )


def day_prefix(day: date) -> str:
    """One day's partition, Hive-style for Athena: every object of that day is under it."""
    return f"{OBJECT_PREFIX}/year={day:%Y}/month={day:%m}/day={day:%d}/"


def object_key(first: StoredAlert) -> str:
    """In its day's partition; named after the first alert so a rerun overwrites, never adds."""
    return f"{day_prefix(first.received_at.astimezone(UTC).date())}{first.alert_id}.jsonl.gz"


def _next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def _previous_day(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


class _Lease:
    """One run's hold on the state item: renewed before each step once a third of it is gone."""

    def __init__(self, state: StateItem, owner: str, clock: Callable[[], float]) -> None:
        self.state = state
        self.owner = owner
        self._clock = clock
        self._renewed_at = clock()

    def keep(self) -> None:
        if self._clock() - self._renewed_at >= RENEW_AFTER_SECONDS:
            self.write()

    def write(self, set_values: dict[str, Any] | None = None, remove: tuple[str, ...] = ()) -> None:
        renewing_at = self._clock()
        self.state.fenced_update(self.owner, set_values=set_values, remove=remove)
        self._renewed_at = renewing_at


class Archiver:
    """The protocol. Give it a table and a bucket (production), or its three collaborators (tests)."""

    def __init__(
        self,
        table_name: str,
        bucket: str,
        *,
        alerts_per_object: int = 1_000,
        dynamodb: DynamoDBClient | None = None,
        s3: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        source: AlertSource | None = None,
        objects: ArchiveObjects | None = None,
        state: StateItem | None = None,
    ) -> None:
        self.alerts_per_object = alerts_per_object
        self._clock = clock
        self.source: AlertSource = source or DynamoDBAlertSource(
            table_name, alerts_per_object=alerts_per_object, dynamodb=dynamodb, sleep=sleep
        )
        self.objects: ArchiveObjects = objects or S3ArchiveObjects(bucket, s3)
        self.state: StateItem = state or ArchiveState(dynamodb or dynamodb_client(), table_name, clock)

    @property
    def bucket(self) -> str:
        return self.objects.bucket

    # -- the run ---------------------------------------------------------------------------------------
    def run(
        self,
        cutoff: datetime,
        *,
        dry_run: bool = False,
        remaining_seconds: Callable[[], float] = lambda: math.inf,
    ) -> ArchiveReport:
        report = ArchiveReport(status="dry_run" if dry_run else "incomplete", cutoff=cutoff, bucket=self.bucket)
        if dry_run:
            return self._count(report)
        owner = uuid.uuid4().hex
        state = self.state.acquire(owner)
        if state is None:
            held = self.state.read().get("lease_until", {}).get("N")
            report.status = "busy"
            report.message = "another archive run holds the lease; this one did nothing" + (
                f" (it lapses in {max(0.0, float(held) - self._clock()):.0f} s unless renewed)" if held else ""
            )
            return report
        lease = _Lease(self.state, owner, self._clock)
        try:
            watermark = str(state.get("watermark", {}).get("S", ""))
            if "pending" in state:
                watermark, report.resumed = self._complete(
                    lease, Plan.from_journal(state["pending"]), watermark, report
                )
            report.watermark = watermark or None
            self._sweep(lease, watermark, report)
            self._archive(lease, watermark, report, remaining_seconds)
        finally:
            self.state.release(owner)
        return report

    def _archive(self, lease: _Lease, watermark: str, report: ArchiveReport, remaining: Callable[[], float]) -> None:
        cutoff_key = iso(report.cutoff)
        if watermark >= cutoff_key:
            report.status = "complete"
            return
        slowest_batch = 0.0
        for day in self._days(watermark, cutoff_key):
            while True:
                if remaining() < max(MIN_RESERVE_SECONDS, 2 * slowest_batch):
                    report.message = "stopped before the timeout; the next run continues from the watermark"
                    return
                started = time.monotonic()
                lease.keep()
                alerts = self.source.next_batch(watermark, cutoff_key, day)
                if not alerts:
                    break
                watermark = self._archive_batch(lease, alerts, watermark, report)
                slowest_batch = max(slowest_batch, time.monotonic() - started)
                if len(alerts) < self.alerts_per_object:
                    break
        # Every alert up to the cutoff that the index showed is archived. One whose write lands later
        # behind this watermark is a straggler: the next run's sweep archives it.
        lease.write({"watermark": {"S": cutoff_key}})
        report.watermark = cutoff_key
        report.status = "complete"

    def _archive_batch(self, lease: _Lease, alerts: list[StoredAlert], watermark: str, report: ArchiveReport) -> str:
        """Plan, then complete: the order that makes a crash anywhere harmless."""
        plan = Plan.of(alerts)
        lease.write({"pending": plan.journal()})
        watermark, archived = self._complete(lease, plan, watermark, report, alerts)
        report.watermark = watermark
        report.archived += archived
        return watermark

    def _complete(
        self,
        lease: _Lease,
        plan: Plan,
        watermark: str,
        report: ArchiveReport,
        alerts: list[StoredAlert] | None = None,
    ) -> tuple[str, int]:
        """A journalled batch, this run's or one an interrupted run left: write it if it is only planned
        (rebuilt from the table when `alerts` is not at hand), else verify what was written; then delete
        and commit. Returns the new watermark and how many alerts the batch held."""
        if plan.written is None:
            assert plan.alert_ids is not None  # noqa: S101 - a plan without members is always written  # nosec B101
            ids = list(plan.alert_ids)
            if alerts is None:
                alerts = self.source.consistent(ids)
                if len(alerts) != len(ids):
                    raise ArchiveIntegrityError(
                        f"the planned batch for s3://{self.bucket}/{plan.key} lost alerts before it was written"
                    )
            # Unfenced on purpose: the plan fixes the bytes. Read back and checked by the writer.
            lease.keep()
            written = self.objects.write(plan.key, alerts)
            plan = Plan(plan.key, plan.last_sort_key, plan.alert_ids, written)
            lease.write({"pending": plan.journal()})
            report.objects.append(plan.key)
            report.bytes_written += written.size
        else:
            ids = self.objects.verify(plan.key, plan.written)
            if plan.alert_ids is not None and ids != list(plan.alert_ids):
                raise ArchiveIntegrityError(f"s3://{self.bucket}/{plan.key} does not hold the planned alerts")
        report.batches_retried += self.source.delete(ids, lease.keep)
        watermark = max(watermark, plan.last_sort_key)
        lease.write({"watermark": {"S": watermark}}, remove=("pending",))
        return watermark, len(ids)

    def _sweep(self, lease: _Lease, watermark: str, report: ArchiveReport) -> None:
        """Archive stragglers: alerts behind the watermark on its day or the day before, which a run
        never saw because their write (or the index) landed after the watermark passed them."""
        if not watermark:
            return
        for day in (_previous_day(watermark[:10]), watermark[:10]):
            while True:
                lease.keep()
                listed = self.source.listed_behind(day, watermark)
                if not listed:
                    break
                # The index may still list an alert that was just archived and deleted: only what a
                # consistent read of the table finds is a straggler.
                alerts = self.source.consistent(listed)
                if alerts:
                    self._archive_batch(lease, alerts, watermark, report)
                    report.stragglers += len(alerts)
                if len(listed) < self.alerts_per_object or not alerts:
                    break

    def _count(self, report: ArchiveReport) -> ArchiveReport:
        """Dry run: how many alerts a run would archive now (stragglers not included)."""
        watermark = str(self.state.read().get("watermark", {}).get("S", ""))
        cutoff_key = iso(report.cutoff)
        report.would_archive = (
            sum(self.source.count(watermark, cutoff_key, day) for day in self._days(watermark, cutoff_key))
            if watermark < cutoff_key
            else 0
        )
        report.watermark = watermark or None
        return report

    def _days(self, watermark: str, cutoff_key: str) -> Iterator[str]:
        """Every day from the watermark's to the cutoff's; before the first run, the days the index holds."""
        if not watermark:
            yield from self.source.days_with_alerts(cutoff_key[:10])
            return
        day = watermark[:10]
        while day <= cutoff_key[:10]:
            yield day
            day = _next_day(day)


__all__ = [
    "LEASE_SECONDS",
    "STATE_KEY",
    "AlertSource",
    "ArchiveObjects",
    "ArchiveReport",
    "ArchiveRequest",
    "ArchiveState",
    "Archiver",
    "Plan",
    "StateItem",
    "WrittenObject",
    "archive_line",
    "day_prefix",
    "object_key",
    "read_archive",
]
