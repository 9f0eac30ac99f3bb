"""Archival: alerts older than a cutoff move to S3 as gzip JSON Lines, then leave DynamoDB.

Every batch follows one order, so a crash at any point loses nothing and duplicates nothing:
1. plan: read the oldest alerts after the watermark (ByDay index, oldest first, never more than one
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
ByDay index showing an item late); each run first sweeps the watermark's day and the day before for
such stragglers, confirms each with a consistent read, and archives them the same way.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import math
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from arrowhook.alerts_table import alert_from_item
from arrowhook.archive_record import ArchivedAlertV1
from arrowhook.dynamodb import dynamodb_client, error_code, unavailable
from arrowhook.errors import ArchiveIntegrityError, ArchiveLeaseLostError, StoreUnavailableError
from arrowhook.models import StoredAlert, iso, utc_now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STATE_KEY = {"pk": {"S": "ARCHIVE#state"}}
OBJECT_PREFIX = "alerts"
#: DynamoDB's BatchWriteItem limit: 1,000 alerts cost 40 delete calls.
DELETE_BATCH_SIZE = 25
#: DynamoDB's BatchGetItem limit (straggler confirmation and rebuilding a planned batch).
READ_BATCH_SIZE = 100
_MAX_DELETE_ATTEMPTS = 8
#: Never start a batch with less than this left before the function's timeout.
MIN_RESERVE_SECONDS = 20.0
#: A run holds the state item's lease this long past its last renewal: a run that was killed
#: (SIGKILL, a Lambda timeout) blocks the next one for at most this long.
LEASE_SECONDS = 60.0
#: Renew once a third of the lease is gone, so two slow steps in a row still find it held.
RENEW_AFTER_SECONDS = LEASE_SECONDS / 3


class ArchiveRequest(BaseModel):
    """What may start a run: the schedule's input, `arrowhook archive run`, or a console test event."""

    model_config = ConfigDict(extra="ignore")

    older_than_seconds: int | None = Field(None, ge=1, description="Defaults to the retention parameter.")
    dry_run: bool = False
    trigger: str = "manual"

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
class WrittenObject:
    """What the read-back must find at the planned key before anything is deleted."""

    version_id: str | None
    sha256: str
    size: int
    count: int


@dataclass(frozen=True)
class Plan:
    """A batch's journal entry: its members are fixed here, before anything is written."""

    key: str
    last_sort_key: str
    #: None only for a journal left by a version that did not record members (then `written` is set).
    alert_ids: tuple[str, ...] | None
    written: WrittenObject | None = None

    @classmethod
    def of(cls, items: list[dict[str, Any]]) -> Plan:
        first = alert_from_item(items[0])
        return cls(
            key=object_key(first),
            last_sort_key=max(item["sort_key"]["S"] for item in items),
            alert_ids=tuple(item["alert_id"]["S"] for item in items),
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


def object_key(first: StoredAlert) -> str:
    """Hive-style partitions for Athena; named after the first alert so a rerun overwrites, never adds."""
    received = first.received_at.astimezone(UTC)
    return f"{OBJECT_PREFIX}/year={received:%Y}/month={received:%m}/day={received:%d}/{first.alert_id}.jsonl.gz"


def archive_line(alert: StoredAlert) -> bytes:
    """One alert, every stored field, in the archive's own format (arrowhook.archive_record)."""
    return ArchivedAlertV1.of(alert).model_dump_json().encode("utf-8")


def read_archive(body: bytes) -> list[ArchivedAlertV1]:
    return [ArchivedAlertV1.model_validate_json(line) for line in gzip.decompress(body).splitlines() if line]


def s3_client() -> Any:
    """The endpoint comes from AWS_ENDPOINT_URL(_S3), never code."""
    return boto3.client("s3")


def _next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def _previous_day(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


class ArchiveState:
    """The `ARCHIVE#state` item: watermark, journal and lease. Every write after the lease is taken is
    fenced on it (this owner, not expired) and renews it."""

    def __init__(self, client: DynamoDBClient, table_name: str, clock: Callable[[], float]) -> None:
        self._client = client
        self._table_name = table_name
        self._clock = clock

    def read(self) -> dict[str, Any]:
        try:
            response = self._client.get_item(TableName=self._table_name, Key=STATE_KEY, ConsistentRead=True)
        except (ClientError, BotoCoreError) as error:
            raise unavailable(error) from None
        return dict(response.get("Item", {}))

    def acquire(self, owner: str) -> dict[str, Any] | None:
        """Take the lease if nobody holds it (or its holder stopped renewing); None when busy."""
        now = self._clock()
        try:
            response = self._client.update_item(
                TableName=self._table_name,
                Key=STATE_KEY,
                UpdateExpression="SET lease_owner = :owner, lease_until = :until",
                ConditionExpression="attribute_not_exists(lease_until) OR lease_until < :now",
                ExpressionAttributeValues={
                    ":owner": {"S": owner},
                    ":until": {"N": repr(now + LEASE_SECONDS)},
                    ":now": {"N": repr(now)},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise unavailable(error) from None
        except BotoCoreError as error:
            raise unavailable(error) from None
        return dict(response.get("Attributes", {}))

    def fenced_update(
        self, owner: str, *, set_values: dict[str, Any] | None = None, remove: tuple[str, ...] = ()
    ) -> None:
        """Write only while this run holds an unexpired lease, and extend it by LEASE_SECONDS."""
        now = self._clock()
        names = {f"#a{index}": name for index, name in enumerate(set_values or {})}
        values: dict[str, Any] = {f":a{index}": value for index, value in enumerate((set_values or {}).values())}
        assignments = [f"{alias} = :a{index}" for index, alias in enumerate(names)]
        expression = "SET " + ", ".join([*assignments, "lease_until = :until"])
        if remove:
            names.update({f"#r{index}": name for index, name in enumerate(remove)})
            expression += " REMOVE " + ", ".join(f"#r{index}" for index in range(len(remove)))
        arguments: dict[str, Any] = {
            "TableName": self._table_name,
            "Key": STATE_KEY,
            "UpdateExpression": expression,
            "ConditionExpression": "lease_owner = :owner AND lease_until >= :now",
            "ExpressionAttributeValues": {
                ":owner": {"S": owner},
                ":now": {"N": repr(now)},
                ":until": {"N": repr(now + LEASE_SECONDS)},
                **values,
            },
        }
        if names:  # DynamoDB refuses an empty map
            arguments["ExpressionAttributeNames"] = names
        try:
            self._client.update_item(**arguments)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise ArchiveLeaseLostError(
                    "the archive lease expired or was taken over; this run stopped, the holder continues"
                ) from None
            raise unavailable(error) from None
        except BotoCoreError as error:
            raise unavailable(error) from None

    def release(self, owner: str) -> None:
        """Best effort: a lease that cannot be released expires on its own within LEASE_SECONDS."""
        with contextlib.suppress(ClientError, BotoCoreError):
            self._client.update_item(
                TableName=self._table_name,
                Key=STATE_KEY,
                UpdateExpression="REMOVE lease_owner, lease_until",
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeValues={":owner": {"S": owner}},
            )


class _Lease:
    """One run's hold on the state item: renewed before each step once a third of it is gone."""

    def __init__(self, state: ArchiveState, owner: str, clock: Callable[[], float]) -> None:
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
    ) -> None:
        self.table_name = table_name
        self.bucket = bucket
        self.alerts_per_object = alerts_per_object
        self._dynamodb = dynamodb or dynamodb_client()
        self._s3 = s3 or s3_client()
        self._sleep = sleep
        self._clock = clock
        self.state = ArchiveState(self._dynamodb, table_name, clock)

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
                items = self._query(self._day_query(watermark, cutoff_key, day))
                if not items:
                    break
                watermark = self._archive_batch(lease, items, watermark, report)
                slowest_batch = max(slowest_batch, time.monotonic() - started)
                if len(items) < self.alerts_per_object:
                    break
        # Every alert up to the cutoff that the index showed is archived. One whose write lands later
        # behind this watermark is a straggler: the next run's sweep archives it.
        lease.write({"watermark": {"S": cutoff_key}})
        report.watermark = cutoff_key
        report.status = "complete"

    def _archive_batch(self, lease: _Lease, items: list[dict[str, Any]], watermark: str, report: ArchiveReport) -> str:
        """Plan, then complete: the order that makes a crash anywhere harmless."""
        plan = Plan.of(items)
        lease.write({"pending": plan.journal()})
        watermark, archived = self._complete(lease, plan, watermark, report, items)
        report.watermark = watermark
        report.archived += archived
        return watermark

    def _complete(
        self,
        lease: _Lease,
        plan: Plan,
        watermark: str,
        report: ArchiveReport,
        items: list[dict[str, Any]] | None = None,
    ) -> tuple[str, int]:
        """A journalled batch, this run's or one an interrupted run left: write it if it is only planned
        (rebuilt from the table when `items` is not at hand), else verify what was written; then delete
        and commit. Returns the new watermark and how many alerts the batch held."""
        if plan.written is None:
            assert plan.alert_ids is not None  # noqa: S101 - a plan without members is always written  # nosec B101
            ids = list(plan.alert_ids)
            if items is None:
                items = self._consistent_items(ids)
                if len(items) != len(ids):
                    raise ArchiveIntegrityError(
                        f"the planned batch for s3://{self.bucket}/{plan.key} lost alerts before it was written"
                    )
            written = self._write(lease, plan, items)  # read back and checked there
            plan = Plan(plan.key, plan.last_sort_key, plan.alert_ids, written)
            lease.write({"pending": plan.journal()})
            report.objects.append(plan.key)
            report.bytes_written += written.size
        else:
            ids = self._verify(plan.key, plan.written)
            if plan.alert_ids is not None and ids != list(plan.alert_ids):
                raise ArchiveIntegrityError(f"s3://{self.bucket}/{plan.key} does not hold the planned alerts")
        report.batches_retried += self._delete(lease, ids)
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
                listed = self._query(
                    {
                        "TableName": self.table_name,
                        "IndexName": "ByDay",
                        "KeyConditionExpression": "#day = :day AND sort_key <= :watermark",
                        "ExpressionAttributeNames": {"#day": "day"},
                        "ExpressionAttributeValues": {":day": {"S": day}, ":watermark": {"S": watermark}},
                        "ScanIndexForward": True,
                    }
                )
                if not listed:
                    break
                # The index may still list an alert that was just archived and deleted: only what a
                # consistent read of the table finds is a straggler.
                items = self._consistent_items([item["alert_id"]["S"] for item in listed])
                if items:
                    self._archive_batch(lease, items, watermark, report)
                    report.stragglers += len(items)
                if len(listed) < self.alerts_per_object or not items:
                    break

    def _count(self, report: ArchiveReport) -> ArchiveReport:
        """Dry run: how many alerts a run would archive now (stragglers not included)."""
        watermark = str(self.state.read().get("watermark", {}).get("S", ""))
        cutoff_key = iso(report.cutoff)
        report.would_archive = (
            sum(self._query_count(watermark, cutoff_key, day) for day in self._days(watermark, cutoff_key))
            if watermark < cutoff_key
            else 0
        )
        report.watermark = watermark or None
        return report

    # -- reading the table -----------------------------------------------------------------------------
    def _days(self, watermark: str, cutoff_key: str) -> Iterator[str]:
        """Every day from the watermark's to the cutoff's; before the first run, the days the index holds."""
        if not watermark:
            yield from self._days_with_alerts(cutoff_key[:10])
            return
        day = watermark[:10]
        while day <= cutoff_key[:10]:
            yield day
            day = _next_day(day)

    def _days_with_alerts(self, last_day: str) -> list[str]:
        """Only before the first run ever: one pass over the ByDay index for the days holding alerts."""
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "ByDay",
            "ProjectionExpression": "#day",
            "FilterExpression": "#day <= :last",
            "ExpressionAttributeNames": {"#day": "day"},
            "ExpressionAttributeValues": {":last": {"S": last_day}},
        }
        try:
            pages = self._dynamodb.get_paginator("scan").paginate(**arguments)
            return sorted({item["day"]["S"] for page in pages for item in page.get("Items", [])})
        except (ClientError, BotoCoreError) as error:
            raise unavailable(error) from None

    def _day_query(self, watermark: str, cutoff_key: str, day: str) -> dict[str, Any]:
        # " " sorts below every character of a sort key, so `watermark + " "` excludes the watermark
        # alert itself (an index can still list a just-deleted item) and nothing after it.
        low = watermark + " " if watermark[:10] == day else day
        return {
            "TableName": self.table_name,
            "IndexName": "ByDay",
            "KeyConditionExpression": "#day = :day AND sort_key BETWEEN :low AND :high",
            "ExpressionAttributeNames": {"#day": "day"},
            "ExpressionAttributeValues": {":day": {"S": day}, ":low": {"S": low}, ":high": {"S": cutoff_key}},
            "ScanIndexForward": True,
        }

    def _query(self, arguments: dict[str, Any]) -> list[dict[str, Any]]:
        """The oldest matching alerts, at most one object's worth."""
        items: list[dict[str, Any]] = []
        try:
            while len(items) < self.alerts_per_object:
                page = self._dynamodb.query(**arguments, Limit=self.alerts_per_object - len(items))
                items.extend(page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                arguments = {**arguments, "ExclusiveStartKey": page["LastEvaluatedKey"]}
        except (ClientError, BotoCoreError) as error:
            raise unavailable(error) from None
        return items

    def _consistent_items(self, alert_ids: list[str]) -> list[dict[str, Any]]:
        """The alerts the table holds now (strongly consistent), oldest first."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(alert_ids), READ_BATCH_SIZE):
            keys: list[Any] = [
                {"pk": {"S": f"ALERT#{alert_id}"}} for alert_id in alert_ids[start : start + READ_BATCH_SIZE]
            ]
            attempt = 0
            while keys:
                try:
                    response = self._dynamodb.batch_get_item(
                        RequestItems={self.table_name: {"Keys": keys, "ConsistentRead": True}}
                    )
                except (ClientError, BotoCoreError) as error:
                    raise unavailable(error) from None
                responses: dict[str, Any] = dict(response.get("Responses", {}))
                found.extend(responses.get(self.table_name, []))
                unprocessed: dict[str, Any] = dict(response.get("UnprocessedKeys", {}))
                keys = list(unprocessed.get(self.table_name, {}).get("Keys", []))
                if keys:
                    attempt += 1
                    if attempt >= _MAX_DELETE_ATTEMPTS:
                        raise StoreUnavailableError("DynamoDB kept leaving archive reads unprocessed")
                    self._backoff(attempt)
        return sorted(found, key=lambda item: str(item["sort_key"]["S"]))

    def _query_count(self, watermark: str, cutoff_key: str, day: str) -> int:
        pages = self._dynamodb.get_paginator("query").paginate(
            **self._day_query(watermark, cutoff_key, day), Select="COUNT"
        )
        try:
            return sum(page.get("Count", 0) for page in pages)
        except (ClientError, BotoCoreError) as error:
            raise unavailable(error) from None

    # -- S3 --------------------------------------------------------------------------------------------
    def _write(self, lease: _Lease, plan: Plan, items: list[dict[str, Any]]) -> WrittenObject:
        """Write the planned alerts and read them back. Unfenced on purpose: the plan fixes the bytes."""
        alerts = [alert_from_item(item) for item in items]
        body = gzip.compress(b"".join(archive_line(alert) + b"\n" for alert in alerts), mtime=0)
        digest = hashlib.sha256(body)
        lease.keep()
        try:
            response = self._s3.put_object(
                Bucket=self.bucket,
                Key=plan.key,
                Body=body,
                ContentType="application/x-ndjson",
                ChecksumSHA256=base64.b64encode(digest.digest()).decode(),
                Metadata={"records": str(len(alerts)), "sha256": digest.hexdigest()},
            )
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailableError(f"S3 PutObject failed: {error_code(error)}") from None
        written = WrittenObject(
            version_id=response.get("VersionId"), sha256=digest.hexdigest(), size=len(body), count=len(alerts)
        )
        if self._verify(plan.key, written) != [alert.alert_id for alert in alerts]:
            raise ArchiveIntegrityError(f"s3://{self.bucket}/{plan.key} does not hold the alerts just written")
        return written

    def _verify(self, key: str, written: WrittenObject) -> list[str]:
        """Read the object back: size, SHA-256 and record count must match before anything is deleted."""
        arguments = {"Bucket": self.bucket, "Key": key}
        if written.version_id:
            arguments["VersionId"] = written.version_id
        try:
            body = self._s3.get_object(**arguments)["Body"].read()
        except (ClientError, BotoCoreError) as error:
            raise ArchiveIntegrityError(f"cannot read back s3://{self.bucket}/{key}: {error_code(error)}") from None
        if len(body) != written.size or hashlib.sha256(body).hexdigest() != written.sha256:
            raise ArchiveIntegrityError(f"s3://{self.bucket}/{key} differs from what was written")
        ids = [line.alert_id for line in read_archive(body)]
        if len(ids) != written.count:
            raise ArchiveIntegrityError(f"s3://{self.bucket}/{key} holds {len(ids)} alerts, not {written.count}")
        return ids

    # -- deleting --------------------------------------------------------------------------------------
    def _delete(self, lease: _Lease, alert_ids: list[str]) -> int:
        """Delete in batches of 25, retrying unprocessed items with jittered backoff; returns the retries.

        Not fenced (BatchWriteItem takes no condition), and it need not be: these alerts are in a
        verified object, and any run that rewrites that key writes the same bytes."""
        retries = 0
        for start in range(0, len(alert_ids), DELETE_BATCH_SIZE):
            lease.keep()
            requests: list[Any] = [
                {"DeleteRequest": {"Key": {"pk": {"S": f"ALERT#{alert_id}"}}}}
                for alert_id in alert_ids[start : start + DELETE_BATCH_SIZE]
            ]
            attempt = 0
            while requests:
                try:
                    response = self._dynamodb.batch_write_item(RequestItems={self.table_name: requests})
                except (ClientError, BotoCoreError) as error:
                    raise unavailable(error) from None
                requests = list(response.get("UnprocessedItems", {}).get(self.table_name, []))
                if requests:
                    attempt += 1
                    retries += 1
                    if attempt >= _MAX_DELETE_ATTEMPTS:
                        raise StoreUnavailableError("DynamoDB kept leaving archived alerts unprocessed")
                    self._backoff(attempt)
        return retries

    def _backoff(self, attempt: int) -> None:
        self._sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))  # noqa: S311 - jitter  # nosec B311


__all__ = [
    "LEASE_SECONDS",
    "ArchiveReport",
    "ArchiveRequest",
    "ArchiveState",
    "Archiver",
    "Plan",
    "archive_line",
    "object_key",
    "read_archive",
]
