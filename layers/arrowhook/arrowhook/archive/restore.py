"""Archived days back into the alerts table (`arrowhook archive restore --day D`), to read them where every
other alert is read: the console, the ledger, the reconciliation.

Idempotent and never destructive: each alert is put only where the table holds no item with its key
(a condition, so a second run, a run after an interrupted one, or an alert that was never deleted are all
left as they are). A restored alert says so (`restored_at`), and that keeps it out of everything a new
alert starts: the stream filters of the delivery function and the event bus pipe skip it (nothing is
forwarded, pushed or checked again) and the archive never writes it into a second object. It expires
(`expires_at`, the table's TTL) after `keep_days`: the archive object stays the record.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, Field

from arrowhook.alerts.store import alert_item
from arrowhook.archive.objects import read_archive
from arrowhook.archive.protocol import day_prefix
from arrowhook.archive.record import ArchivedAlertV1
from arrowhook.archive.source import FROM_ARCHIVE, RESTORED_MARK
from arrowhook.aws.dynamodb import dynamodb_client, error_code, succeeded
from arrowhook.core.errors import StoreUnavailableError
from arrowhook.core.models import StoredAlert, iso
from arrowhook.core.tradingview import AlertFields

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DEFAULT_KEEP_DAYS = 30


class RestoreReport(BaseModel):
    day: date
    bucket: str
    objects: list[str] = Field(default_factory=list)
    #: Alerts put into the table by this run.
    restored: int = 0
    #: Alerts the table held already (a second run, or never deleted): left as they were.
    already_present: int = 0
    expires_at: int


def stored_alert(line: ArchivedAlertV1) -> StoredAlert:
    """An archived line as the alert it was (its repeated deliveries and health are not archived)."""
    values = line.model_dump()
    fields = AlertFields.model_validate({name: values[name] for name in AlertFields.model_fields if name in values})
    return StoredAlert.model_validate(
        {**{name: value for name, value in values.items() if name in StoredAlert.model_fields}, "fields": fields}
    )


class ArchiveRestore:
    def __init__(
        self,
        table_name: str,
        bucket: str,
        *,
        dynamodb: DynamoDBClient | None = None,
        s3: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table_name = table_name
        self.bucket = bucket
        self._dynamodb = dynamodb or dynamodb_client()
        #: The endpoint comes from AWS_ENDPOINT_URL(_S3), never code.
        self._s3 = s3 or boto3.client("s3")
        self._clock = clock

    def restore_day(self, day: date, keep_days: int = DEFAULT_KEEP_DAYS) -> RestoreReport:
        now = self._clock()
        report = RestoreReport(day=day, bucket=self.bucket, expires_at=int(now) + keep_days * 86_400)
        restored_at = iso(datetime.fromtimestamp(now, UTC))
        for key in self._object_keys(day):
            report.objects.append(key)
            for line in read_archive(self._read(key)):
                if self._put(line, restored_at=restored_at, expires_at=report.expires_at):
                    report.restored += 1
                else:
                    report.already_present += 1
        return report

    def _object_keys(self, day: date) -> list[str]:
        try:
            pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=day_prefix(day))
            return sorted(entry["Key"] for page in pages for entry in page.get("Contents", []))
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailableError(f"S3 ListObjectsV2 failed: {error_code(error)}") from None

    def _read(self, key: str) -> bytes:
        try:
            body: bytes = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailableError(f"S3 GetObject failed: {error_code(error)}") from None
        return body

    def _put(self, line: ArchivedAlertV1, *, restored_at: str, expires_at: int) -> bool:
        """True when put; False when the table already holds an item with this alert's key."""
        item = {
            **alert_item(stored_alert(line)),
            RESTORED_MARK: {"S": restored_at},
            **FROM_ARCHIVE,
            "expires_at": {"N": str(expires_at)},
        }
        return succeeded(
            lambda: self._dynamodb.put_item(
                TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        )
