"""The delivery use case's AWS and HTTP adapters: urllib3 for destinations (already in the layer with
botocore: pooled connections, per-request timeouts), SNS for email, SQS for the failure queue."""

from __future__ import annotations

import json
from typing import Any

import boto3
import urllib3
from botocore.exceptions import BotoCoreError, ClientError

from arrowhook.delivery import ANSWER_EXCERPT_CHARS, Answer, DeliveryRecord, OutboundRequest
from arrowhook.errors import StoreUnavailableError

#: Kept of a destination's body at most (answers are short JSON; a misdirected URL may send a page).
_MAX_ANSWER_BYTES = 4096


class HttpTransport:
    """POSTs without following redirects (a webhook URL that redirects is misconfigured, and a redirect
    could carry the signed body elsewhere) and without urllib3's own retries (Deliverer decides)."""

    def __init__(self) -> None:
        self._pool = urllib3.PoolManager(retries=False, headers={})

    def post(self, request: OutboundRequest, timeout_seconds: float) -> Answer:
        try:
            response = self._pool.request(
                "POST",
                request.url,
                body=request.body,
                headers=request.headers,
                timeout=urllib3.Timeout(connect=min(3.0, timeout_seconds), read=timeout_seconds),
                redirect=False,
                preload_content=False,
            )
        except urllib3.exceptions.HTTPError as error:
            return Answer(status=None, error=f"no answer: {type(error).__name__}")
        try:
            body = response.read(_MAX_ANSWER_BYTES).decode("utf-8", "replace")
        except urllib3.exceptions.HTTPError as error:
            return Answer(status=response.status, error=f"answer cut: {type(error).__name__}")
        finally:
            response.release_conn()
        return Answer(status=response.status, body=body[:ANSWER_EXCERPT_CHARS], headers=dict(response.headers))


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


class FailureQueue(_Queue):
    """Reports a destination given up on to the failure queue (its alarm fires at one message)."""

    def report(self, record: DeliveryRecord) -> None:
        self._send({"reason": "delivery failed", **record.model_dump(mode="json")})


class SignalCheckQueue(_Queue):
    """Alerts whose sequence is checked once they have settled (the queue's delay)."""

    def enqueue(self, alert_id: str) -> None:
        self._send({"check": "sequence", "alert_id": alert_id})
