"""Lambda's SQS pollers, locally: for each function event of type SQS in the template, receive batches
from the embedded queue and invoke the function, deleting what it handled. A record it reports failed
(or a whole batch whose invocation raised) stays in the queue and comes back after the visibility
timeout; the queue's redrive policy moves it to its dead-letter queue, as deployed.

A FIFO queue (the delivery lanes) is read as Lambda reads one: up to `ScalingConfig.MaximumConcurrency`
message groups at once, each group's messages one at a time and in order; once one of them is left in
the queue (retried later), the rest of its group waits behind it. The embedded SQS never hands out a
message of a group that has one in flight, as SQS does not."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from arrowhook_tools.local.runtime import LocalFunctions
from arrowhook_tools.local.template import LOCAL_ACCOUNT, LOCAL_REGION, LocalTemplate
from arrowhook_tools.standins import embedded_aws
from arrowhook_tools.standins.pollers import Pollers


@dataclass(frozen=True)
class QueueMapping:
    function_id: str
    queue_id: str
    batch_size: int
    reports_item_failures: bool
    #: ScalingConfig.MaximumConcurrency: how many invocations (for FIFO: message groups) run at once.
    concurrency: int = 1


def queue_mappings(template: LocalTemplate) -> list[QueueMapping]:
    found = []
    for function_id, resource in template.resources_of_type("AWS::Serverless::Function"):
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") != "SQS":
                continue
            properties = event["Properties"]
            queue_id = properties["Queue"]["Fn::GetAtt"][0]
            scaling = template.resolve(properties.get("ScalingConfig", {}))
            found.append(
                QueueMapping(
                    function_id,
                    queue_id,
                    int(properties.get("BatchSize", 10)),
                    "ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []),
                    int(scaling.get("MaximumConcurrency", 1)),
                )
            )
    return found


def sqs_event(template: LocalTemplate, mapping: QueueMapping, messages: list[dict[str, Any]]) -> dict[str, Any]:
    arn = f"arn:aws:sqs:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{template.physical_name(mapping.queue_id)}"
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": LOCAL_REGION,
            }
            for message in messages
        ]
    }


class LocalQueues:
    def __init__(
        self, template: LocalTemplate, functions: LocalFunctions, endpoint: str, *, poll_seconds: float = 0.2
    ) -> None:
        self.template = template
        self.functions = functions
        self.endpoint = endpoint
        self.mappings = [mapping for mapping in queue_mappings(template) if mapping.function_id in functions]
        self.poll_seconds = poll_seconds
        self._pollers = Pollers()
        self._stopping = self._pollers.stopping

    def start(self) -> LocalQueues:
        for mapping in self.mappings:
            fifo = self.template.physical_name(mapping.queue_id).endswith(".fifo")
            self._pollers.spawn(f"queue-{mapping.queue_id}", self._poll_lanes if fifo else self._poll, mapping)
        return self

    def stop(self) -> None:
        self._pollers.stop()

    def _poll(self, mapping: QueueMapping) -> None:
        sqs = embedded_aws.client("sqs", self.endpoint)
        url = sqs.get_queue_url(QueueName=self.template.physical_name(mapping.queue_id))["QueueUrl"]
        while not self._stopping.is_set():
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=mapping.batch_size, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                self._stopping.wait(self.poll_seconds)
                continue
            for message in self._handled(mapping, messages):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def _poll_lanes(self, mapping: QueueMapping) -> None:
        """A FIFO queue: each message group handed to a worker of its own, up to the mapping's concurrency."""
        sqs = embedded_aws.client("sqs", self.endpoint)
        url = sqs.get_queue_url(QueueName=self.template.physical_name(mapping.queue_id))["QueueUrl"]
        slots = threading.Semaphore(mapping.concurrency)
        with ThreadPoolExecutor(mapping.concurrency, thread_name_prefix=f"lanes-{mapping.queue_id}") as pool:
            while not self._stopping.is_set():
                if not slots.acquire(timeout=self.poll_seconds):
                    continue
                messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
                    "Messages", []
                )
                if not messages:
                    slots.release()
                    self._stopping.wait(min(self.poll_seconds, 0.05))
                    continue
                groups: dict[str, list[dict[str, Any]]] = {}
                for message in messages:
                    groups.setdefault(message.get("Attributes", {}).get("MessageGroupId", ""), []).append(message)
                first, *others = list(groups.values())
                pool.submit(self._lane, mapping, url, first, slots)
                for lane in others:  # more groups than free slots: back to the queue, in order
                    if slots.acquire(blocking=False):
                        pool.submit(self._lane, mapping, url, lane, slots)
                    else:
                        self._release(sqs, url, lane)

    def _lane(self, mapping: QueueMapping, url: str, messages: list[dict[str, Any]], slot: threading.Semaphore) -> None:
        """One group's messages in order, one invocation each; at the first left in the queue, the rest go
        back too (still behind it: the group has a message in flight)."""
        sqs = embedded_aws.client("sqs", self.endpoint)
        try:
            for position, message in enumerate(messages):
                if self._stopping.is_set() or not self._handled(mapping, [message]):
                    self._release(sqs, url, messages[position + 1 :])
                    return
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        finally:
            slot.release()

    @staticmethod
    def _release(sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)

    def _handled(self, mapping: QueueMapping, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The messages to delete: all of them, less those reported failed; none when the function raised."""
        try:
            answer = self.functions.invoke(mapping.function_id, sqs_event(self.template, mapping, messages))
        except Exception:
            return []
        failed = set()
        if mapping.reports_item_failures and isinstance(answer, dict):
            failed = {str(item.get("itemIdentifier")) for item in answer.get("batchItemFailures") or []}
        return [message for message in messages if message["MessageId"] not in failed]


__all__ = ["LocalQueues", "QueueMapping", "queue_mappings", "sqs_event"]
