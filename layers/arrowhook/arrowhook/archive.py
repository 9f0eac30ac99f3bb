"""Archival: alerts older than a cutoff move to S3 as gzip JSON Lines, then leave DynamoDB.

Every batch follows one order, so a crash at any point loses nothing and duplicates nothing:
1. read the oldest alerts after the watermark (ByDay index, oldest first), never more than one day;
2. write them to a key named after the batch's first alert, read the object back and check its
   size, SHA-256, record count and ids;
3. journal the object in the state item (`pending`);
4. delete the alerts (BatchWriteItem, 25 per call, unprocessed items retried);
5. move the watermark past the batch and clear the journal, in one conditional write.
A crash before 3 leaves every alert in DynamoDB: the rerun rebuilds the batch from the same first
alert and overwrites the same key. A crash in 3-5 leaves the journal: the next run re-reads that
object, finishes its deletes and only then takes new work. The state item also holds a lease, so
two runs (schedule and CLI) never interleave.
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

from arrowhook.errors import ArchiveIntegrityError, StoreUnavailableError
from arrowhook.models import StoredAlert, iso, utc_now
from arrowhook.schemas import AlertDetail
from arrowhook.store import alert_from_item, dynamodb_client, error_code, unavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STATE_KEY = {"pk": {"S": "ARCHIVE#state"}}
OBJECT_PREFIX = "alerts"
#: DynamoDB's BatchWriteItem limit: 1,000 alerts cost 40 delete calls.
DELETE_BATCH_SIZE = 25
_MAX_DELETE_ATTEMPTS = 8
#: Never start a batch with less than this left before the function's timeout.
MIN_RESERVE_SECONDS = 20.0
#: Without a Lambda context (CLI, tests) a run may take this long; it sizes the lease.
DEFAULT_RUN_SECONDS = 900.0


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
    #: Alerts whose deletes an interrupted run had left and this run finished.
    resumed: int = 0
    would_archive: int | None = None
    watermark: str | None = None
    message: str = ""


@dataclass(frozen=True)
class ArchivedObject:
    key: str
    version_id: str | None
    sha256: str
    size: int
    count: int
    last_sort_key: str

    def journal(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "key": {"S": self.key},
            "sha256": {"S": self.sha256},
            "size": {"N": str(self.size)},
            "count": {"N": str(self.count)},
            "last_sort_key": {"S": self.last_sort_key},
        }
        if self.version_id:
            entry["version_id"] = {"S": self.version_id}
        return {"M": entry}

    @classmethod
    def from_journal(cls, value: dict[str, Any]) -> ArchivedObject:
        entry = value["M"]
        return cls(
            key=entry["key"]["S"],
            version_id=entry.get("version_id", {}).get("S"),
            sha256=entry["sha256"]["S"],
            size=int(entry["size"]["N"]),
            count=int(entry["count"]["N"]),
            last_sort_key=entry["last_sort_key"]["S"],
        )


def object_key(first: StoredAlert) -> str:
    """Hive-style partitions for Athena; named after the first alert so a rerun overwrites, never adds."""
    received = first.received_at.astimezone(UTC)
    return f"{OBJECT_PREFIX}/year={received:%Y}/month={received:%m}/day={received:%d}/{first.alert_id}.jsonl.gz"


def archive_line(alert: StoredAlert) -> bytes:
    """One alert, every stored field, in the admin API's shape (decimals as strings, so exact)."""
    return AlertDetail.of(alert).model_dump_json().encode("utf-8")


def read_archive(body: bytes) -> list[AlertDetail]:
    return [AlertDetail.model_validate_json(line) for line in gzip.decompress(body).splitlines() if line]


def s3_client() -> Any:
    """The endpoint comes from AWS_ENDPOINT_URL(_S3), never code."""
    return boto3.client("s3")


def _next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


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
    ) -> None:
        self.table_name = table_name
        self.bucket = bucket
        self.alerts_per_object = alerts_per_object
        self._dynamodb = dynamodb or dynamodb_client()
        self._s3 = s3 or s3_client()
        self._sleep = sleep

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
        lease_seconds = min(remaining_seconds(), DEFAULT_RUN_SECONDS) + 5
        state = self._acquire(owner, lease_seconds)
        if state is None:
            report.status = "busy"
            report.message = "another archive run holds the lease; this one did nothing"
            return report
        try:
            watermark = str(state.get("watermark", {}).get("S", ""))
            if "pending" in state:
                pending = ArchivedObject.from_journal(state["pending"])
                ids = self._verify(pending)
                report.batches_retried += self._delete(ids)
                watermark = self._commit(owner, max(watermark, pending.last_sort_key))
                report.resumed = len(ids)
            report.watermark = watermark or None
            self._archive(owner, watermark, report, remaining_seconds)
        finally:
            self._release(owner)
        return report

    def _archive(
        self, owner: str, watermark: str, report: ArchiveReport, remaining_seconds: Callable[[], float]
    ) -> None:
        cutoff_key = iso(report.cutoff)
        if watermark >= cutoff_key:
            report.status = "complete"
            return
        slowest_batch = 0.0
        for day in self._days(watermark, cutoff_key):
            while True:
                if remaining_seconds() < max(MIN_RESERVE_SECONDS, 2 * slowest_batch):
                    report.message = "stopped before the timeout; the next run continues from the watermark"
                    return
                started = time.monotonic()
                items = self._batch(watermark, cutoff_key, day)
                if not items:
                    break
                archived = self._write(items)
                self._journal(owner, archived)
                report.batches_retried += self._delete([item["alert_id"]["S"] for item in items])
                watermark = self._commit(owner, archived.last_sort_key)
                report.watermark = watermark
                report.archived += archived.count
                report.objects.append(archived.key)
                report.bytes_written += archived.size
                slowest_batch = max(slowest_batch, time.monotonic() - started)
                if len(items) < self.alerts_per_object:
                    break
        report.watermark = self._commit(owner, cutoff_key)
        report.status = "complete"

    def _count(self, report: ArchiveReport) -> ArchiveReport:
        """Dry run: how many alerts a run would archive now (a journalled batch's leftovers included)."""
        watermark = str(self._state().get("watermark", {}).get("S", ""))
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

    def _batch(self, watermark: str, cutoff_key: str, day: str) -> list[dict[str, Any]]:
        """The oldest alerts of `day` after the watermark, at most one object's worth."""
        arguments = self._day_query(watermark, cutoff_key, day)
        items: list[dict[str, Any]] = []
        try:
            while len(items) < self.alerts_per_object:
                page = self._dynamodb.query(**arguments, Limit=self.alerts_per_object - len(items))
                items.extend(page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as error:
            raise unavailable(error) from None
        return items

    def _query_count(self, watermark: str, cutoff_key: str, day: str) -> int:
        pages = self._dynamodb.get_paginator("query").paginate(
            **self._day_query(watermark, cutoff_key, day), Select="COUNT"
        )
        try:
            return sum(page.get("Count", 0) for page in pages)
        except (ClientError, BotoCoreError) as error:
            raise unavailable(error) from None

    # -- S3 --------------------------------------------------------------------------------------------
    def _write(self, items: list[dict[str, Any]]) -> ArchivedObject:
        alerts = [alert_from_item(item) for item in items]
        body = gzip.compress(b"".join(archive_line(alert) + b"\n" for alert in alerts), mtime=0)
        digest = hashlib.sha256(body)
        key = object_key(alerts[0])
        try:
            response = self._s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType="application/x-ndjson",
                ChecksumSHA256=base64.b64encode(digest.digest()).decode(),
                Metadata={"records": str(len(alerts)), "sha256": digest.hexdigest()},
            )
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailableError(f"S3 PutObject failed: {error_code(error)}") from None
        archived = ArchivedObject(
            key=key,
            version_id=response.get("VersionId"),
            sha256=digest.hexdigest(),
            size=len(body),
            count=len(alerts),
            last_sort_key=items[-1]["sort_key"]["S"],
        )
        if self._verify(archived) != [alert.alert_id for alert in alerts]:
            raise ArchiveIntegrityError(f"s3://{self.bucket}/{key} does not hold the alerts just written")
        return archived

    def _verify(self, archived: ArchivedObject) -> list[str]:
        """Read the object back: size, SHA-256 and record count must match before anything is deleted."""
        arguments = {"Bucket": self.bucket, "Key": archived.key}
        if archived.version_id:
            arguments["VersionId"] = archived.version_id
        try:
            body = self._s3.get_object(**arguments)["Body"].read()
        except (ClientError, BotoCoreError) as error:
            raise ArchiveIntegrityError(
                f"cannot read back s3://{self.bucket}/{archived.key}: {error_code(error)}"
            ) from None
        if len(body) != archived.size or hashlib.sha256(body).hexdigest() != archived.sha256:
            raise ArchiveIntegrityError(f"s3://{self.bucket}/{archived.key} differs from what was written")
        ids = [line.alert_id for line in read_archive(body)]
        if len(ids) != archived.count:
            raise ArchiveIntegrityError(
                f"s3://{self.bucket}/{archived.key} holds {len(ids)} alerts, not {archived.count}"
            )
        return ids

    # -- deleting --------------------------------------------------------------------------------------
    def _delete(self, alert_ids: list[str]) -> int:
        """Delete in batches of 25, retrying unprocessed items with jittered backoff; returns the retries."""
        retries = 0
        for start in range(0, len(alert_ids), DELETE_BATCH_SIZE):
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
                    self._sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))  # noqa: S311 - jitter  # nosec B311
        return retries

    # -- the state item: watermark, journal, lease -----------------------------------------------------
    def _state(self) -> dict[str, Any]:
        try:
            response = self._dynamodb.get_item(TableName=self.table_name, Key=STATE_KEY, ConsistentRead=True)
        except (ClientError, BotoCoreError) as error:
            raise unavailable(error) from None
        return dict(response.get("Item", {}))

    def _acquire(self, owner: str, lease_seconds: float) -> dict[str, Any] | None:
        now = time.time()
        try:
            response = self._dynamodb.update_item(
                TableName=self.table_name,
                Key=STATE_KEY,
                UpdateExpression="SET lease_owner = :owner, lease_until = :until",
                ConditionExpression="attribute_not_exists(lease_until) OR lease_until < :now",
                ExpressionAttributeValues={
                    ":owner": {"S": owner},
                    ":until": {"N": str(int(now + lease_seconds))},
                    ":now": {"N": str(int(now))},
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

    def _owned_update(self, owner: str, expression: str, values: dict[str, Any]) -> None:
        try:
            self._dynamodb.update_item(
                TableName=self.table_name,
                Key=STATE_KEY,
                UpdateExpression=expression,
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeValues={":owner": {"S": owner}, **values},
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise StoreUnavailableError("the archive lease was lost; stopping") from None
            raise unavailable(error) from None
        except BotoCoreError as error:
            raise unavailable(error) from None

    def _journal(self, owner: str, archived: ArchivedObject) -> None:
        self._owned_update(owner, "SET pending = :pending", {":pending": archived.journal()})

    def _commit(self, owner: str, watermark: str) -> str:
        self._owned_update(owner, "SET watermark = :watermark REMOVE pending", {":watermark": {"S": watermark}})
        return watermark

    def _release(self, owner: str) -> None:
        # On failure the lease expires on its own; the work itself is already committed or journalled.
        with contextlib.suppress(StoreUnavailableError):
            self._owned_update(owner, "REMOVE lease_owner, lease_until", {})


__all__ = ["ArchiveReport", "ArchiveRequest", "Archiver", "archive_line", "object_key", "read_archive"]
