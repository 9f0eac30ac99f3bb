"""The archive's S3 side: write a batch's object, and read it back before anything is deleted."""

from __future__ import annotations

import base64
import gzip
import hashlib
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from arrowhook.archive.record import ArchivedAlertV1
from arrowhook.aws.dynamodb import error_code
from arrowhook.core.errors import ArchiveIntegrityError, StoreUnavailableError
from arrowhook.core.models import StoredAlert


@dataclass(frozen=True)
class WrittenObject:
    """What the read-back must find at the planned key before anything is deleted."""

    version_id: str | None
    sha256: str
    size: int
    count: int


def archive_line(alert: StoredAlert) -> bytes:
    """One alert, every stored field, in the archive's own format (arrowhook.archive.record)."""
    return ArchivedAlertV1.of(alert).model_dump_json().encode("utf-8")


def archive_body(alerts: list[StoredAlert]) -> bytes:
    """gzip JSON Lines, with no timestamp in the gzip header: the same alerts always give the same bytes."""
    return gzip.compress(b"".join(archive_line(alert) + b"\n" for alert in alerts), mtime=0)


def read_archive(body: bytes) -> list[ArchivedAlertV1]:
    return [ArchivedAlertV1.model_validate_json(line) for line in gzip.decompress(body).splitlines() if line]


class S3ArchiveObjects:
    def __init__(self, bucket: str, s3: Any = None) -> None:
        self.bucket = bucket
        #: The endpoint comes from AWS_ENDPOINT_URL(_S3), never code.
        self._s3 = s3 or boto3.client("s3")

    def write(self, key: str, alerts: list[StoredAlert]) -> WrittenObject:
        """Write the alerts and read them back (size, digest, count and ids checked)."""
        body = archive_body(alerts)
        digest = hashlib.sha256(body)
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
        written = WrittenObject(
            version_id=response.get("VersionId"), sha256=digest.hexdigest(), size=len(body), count=len(alerts)
        )
        if self.verify(key, written) != [alert.alert_id for alert in alerts]:
            raise ArchiveIntegrityError(f"s3://{self.bucket}/{key} does not hold the alerts just written")
        return written

    def verify(self, key: str, written: WrittenObject) -> list[str]:
        """Read the object back: size, SHA-256 and record count must match; returns the ids it holds."""
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
