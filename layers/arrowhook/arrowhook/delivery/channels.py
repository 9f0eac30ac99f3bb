"""The delivery use case's AWS and HTTP adapters: urllib3 for destinations (already in the layer with
botocore: pooled connections, per-request timeouts), SNS for email, SQS for the lanes and the failure
queue."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
import urllib3
from botocore.exceptions import BotoCoreError, ClientError

from arrowhook.core.errors import StoreUnavailableError
from arrowhook.delivery.kinds.base import OutboundRequest
from arrowhook.delivery.lanes import LaneMessage
from arrowhook.delivery.public_addresses import (
    NotPublicError,
    Resolver,
    on_this_machine,
    public_addresses,
    system_resolver,
)
from arrowhook.delivery.sending import ANSWER_EXCERPT_CHARS, Answer, DeliveryRecord

#: Kept of a destination's body at most (answers are short JSON; a misdirected URL may send a page).
_MAX_ANSWER_BYTES = 4096


#: Connection pools kept per (scheme, address, port, name): a handful of destinations in practice.
_MAX_POOLS = 64


class HttpTransport:
    """POSTs without following redirects (a webhook URL that redirects is misconfigured, and a redirect
    could carry the signed body elsewhere) and without urllib3's own retries (Deliverer decides).

    Only to public addresses (arrowhook.delivery.public_addresses): the name is resolved and checked here, and the
    connection goes to the checked address, with the name as Host and TLS server name. `allow_local` (the
    local stack's AllowHttpDestinations) reverses the rule: destinations on this machine only, as the
    tests need, and nothing beyond it."""

    def __init__(self, *, allow_local: bool = False, resolve: Resolver = system_resolver) -> None:
        self.allow_local = allow_local
        self._resolve = resolve
        self._pool = urllib3.PoolManager(retries=False, headers={})
        self._pools: dict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = {}

    def post(self, request: OutboundRequest, timeout_seconds: float) -> Answer:
        timeout = urllib3.Timeout(connect=min(3.0, timeout_seconds), read=timeout_seconds)
        try:
            if self.allow_local:
                on_this_machine(request.url)
                response = self._pool.request(
                    "POST",
                    request.url,
                    body=request.body,
                    headers=request.headers,
                    timeout=timeout,
                    redirect=False,
                    preload_content=False,
                )
            else:
                response = self._post_checked(request, timeout)
        except NotPublicError as refused:
            return Answer(status=None, error=f"refused: {refused}", permanent=refused.permanent)
        except urllib3.exceptions.HTTPError as error:
            return Answer(status=None, error=f"no answer: {type(error).__name__}")
        try:
            body = response.read(_MAX_ANSWER_BYTES).decode("utf-8", "replace")
        except urllib3.exceptions.HTTPError as error:
            return Answer(status=response.status, error=f"answer cut: {type(error).__name__}")
        finally:
            response.release_conn()
        return Answer(status=response.status, body=body[:ANSWER_EXCERPT_CHARS], headers=dict(response.headers))

    def _post_checked(self, request: OutboundRequest, timeout: urllib3.Timeout) -> urllib3.BaseHTTPResponse:
        host, port, addresses = public_addresses(request.url, self._resolve)
        parts = urlsplit(request.url)
        pool = self._pool_for(parts.scheme, addresses[0], port, host)
        default_port = 443 if parts.scheme == "https" else 80
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {**request.headers, "Host": host if port == default_port else f"{host}:{port}"}
        return pool.urlopen(
            "POST",
            target,
            body=request.body,
            headers=headers,
            timeout=timeout,
            redirect=False,
            retries=False,
            assert_same_host=False,
            preload_content=False,
        )

    def _pool_for(self, scheme: str, address: str, port: int, host: str) -> urllib3.HTTPConnectionPool:
        key = (scheme, address, port, host)
        pool = self._pools.get(key)
        if pool is None:
            if len(self._pools) >= _MAX_POOLS:
                self._pools.pop(next(iter(self._pools))).close()
            if scheme == "https":
                pool = urllib3.HTTPSConnectionPool(address, port, server_hostname=host, assert_hostname=host)
            else:
                pool = urllib3.HTTPConnectionPool(address, port)
            self._pools[key] = pool
        return pool


class SnsEmail:
    """Email through the stack's AlertEmail topic (its subscription is confirmed once, by the operator)."""

    def __init__(self, topic_arn: str, client: Any = None) -> None:
        self.topic_arn = topic_arn
        self._client = client

    def publish(self, subject: str, message: str) -> Answer:
        if self._client is None:
            self._client = boto3.client("sns")
        try:
            self._client.publish(TopicArn=self.topic_arn, Subject=subject, Message=message)
        except ClientError as error:
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500))
            return Answer(status=status, error=f"sns: {error.response.get('Error', {}).get('Code', 'error')}")
        except BotoCoreError as error:
            return Answer(status=None, error=f"sns: {type(error).__name__}")
        return Answer(status=200, body="published")


class _Queue:
    """One SQS queue we send JSON messages to (the client is built on first use: most runs send none)."""

    def __init__(self, queue_url: str, client: Any = None) -> None:
        self.queue_url = queue_url
        self._client = client

    def _send(self, body: dict[str, Any]) -> None:
        if self._client is None:
            self._client = boto3.client("sqs")
        try:
            self._client.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(body))
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailableError(f"sqs: {error}") from None


@dataclass(frozen=True)
class FailureReport:
    """One message of the failure queue: a delivery (alert and destination named), or a stream batch
    Lambda gave up on (neither named)."""

    receipt_handle: str
    alert_id: str | None
    destination_id: str | None

    @property
    def delivery(self) -> tuple[str, str] | None:
        """The delivery record's key, when the report names one."""
        return (self.alert_id, self.destination_id) if self.alert_id and self.destination_id else None


class FailureQueue(_Queue):
    """Reports a delivery given up on (or held) to the failure queue, alert and destination named (its
    alarm fires at one message), and reads the reports back for a redrive."""

    def report(self, record: DeliveryRecord, reason: str = "delivery failed") -> None:
        self._send({"reason": reason, **record.model_dump(mode="json")})

    def reported(self, *, hide_seconds: int, limit: int = 1000) -> list[FailureReport]:
        """Up to `limit` reports, each hidden from other readers for `hide_seconds` (0: only a look).
        SQS answers at most ten at a time, from a sample of its servers: read until two answers bring
        nothing new (a look, hiding nothing, sees the same messages again)."""
        if self._client is None:
            self._client = boto3.client("sqs")
        found: dict[str, FailureReport] = {}
        empty = 0
        try:
            while len(found) < limit and empty < 2:
                messages = self._client.receive_message(
                    QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=hide_seconds
                ).get("Messages", [])
                new = [message for message in messages if message["MessageId"] not in found]
                empty = 0 if new else empty + 1
                for message in new:
                    found[message["MessageId"]] = _failure_report(message)
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailableError(f"sqs: {error}") from None
        return list(found.values())[:limit]

    def acknowledge(self, reports: list[FailureReport]) -> None:
        """Taken care of: removed from the queue (its alarm clears once the queue is empty)."""
        if self._client is None:
            self._client = boto3.client("sqs")
        for start in range(0, len(reports), 10):
            entries = [
                {"Id": str(number), "ReceiptHandle": report.receipt_handle}
                for number, report in enumerate(reports[start : start + 10])
            ]
            try:
                self._client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as error:
                raise StoreUnavailableError(f"sqs: {error}") from None


def _failure_report(message: dict[str, Any]) -> FailureReport:
    try:
        body = json.loads(message.get("Body") or "{}")
    except ValueError:
        body = {}
    named = body if isinstance(body, dict) else {}
    alert_id, destination_id = named.get("alert_id"), named.get("destination_id")
    return FailureReport(
        receipt_handle=message["ReceiptHandle"],
        alert_id=alert_id if isinstance(alert_id, str) else None,
        destination_id=destination_id if isinstance(destination_id, str) else None,
    )


class SqsLanes:
    """The delivery queue (SQS FIFO): a destination's messages in one group, so they leave in order. A
    message's deduplication id is its `webhook-id`, so enqueueing it again within SQS's five minutes (a
    stream batch run twice) adds nothing; a redrive adds a suffix, since it must go out again."""

    def __init__(self, queue_url: str, client: Any = None) -> None:
        self.queue_url = queue_url
        self._client = client

    def send(self, messages: list[LaneMessage], *, redrive: bool = False) -> None:
        if self._client is None:
            self._client = boto3.client("sqs")
        suffix = f"-redrive-{time.time_ns() // 1_000_000}" if redrive else ""
        for start in range(0, len(messages), 10):
            entries = [
                {
                    "Id": str(number),
                    "MessageBody": message.model_dump_json(exclude_none=True),
                    "MessageGroupId": message.destination_id,
                    "MessageDeduplicationId": (message.message_id + suffix)[:128],
                }
                for number, message in enumerate(messages[start : start + 10])
            ]
            try:
                answer = self._client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as error:
                raise StoreUnavailableError(f"sqs: {error}") from None
            if answer.get("Failed"):  # raised: the stream's retry sends the batch again (deduplicated)
                raise StoreUnavailableError(f"sqs: {len(answer['Failed'])} lane message(s) not sent")

    def retry_later(self, receipt_handle: str, seconds: float) -> None:
        """Hide a message (and so its lane) until its next attempt: SQS allows up to 12 hours."""
        if self._client is None:
            self._client = boto3.client("sqs")
        try:
            self._client.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=min(43_200, int(seconds))
            )
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailableError(f"sqs: {error}") from None


class SignalCheckQueue(_Queue):
    """Alerts whose sequence is checked once they have settled (the queue's delay)."""

    def enqueue(self, alert_id: str) -> None:
        self._send({"check": "sequence", "alert_id": alert_id})
