"""Lambda's SQS pollers, locally: for each function event of type SQS in the template, receive batches
from the embedded queue and invoke the function, deleting what it handled. A record it reports failed
(or a whole batch whose invocation raised) stays in the queue and comes back after the visibility
timeout; the queue's redrive policy moves it to its dead-letter queue, as deployed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from arrowhook_tools import embedded_aws
from arrowhook_tools.pollers import Pollers
from arrowhook_tools.runtime import LocalFunctions
from arrowhook_tools.template import LOCAL_ACCOUNT, LOCAL_REGION, LocalTemplate


@dataclass(frozen=True)
class QueueMapping:
    function_id: str
    queue_id: str
    batch_size: int
    reports_item_failures: bool


def queue_mappings(template: LocalTemplate) -> list[QueueMapping]:
    found = []
    for function_id, resource in template.resources_of_type("AWS::Serverless::Function"):
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") != "SQS":
                continue
            properties = event["Properties"]
            queue_id = properties["Queue"]["Fn::GetAtt"][0]
            found.append(
                QueueMapping(
                    function_id,
                    queue_id,
                    int(properties.get("BatchSize", 10)),
                    "ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []),
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
            self._pollers.spawn(f"queue-{mapping.queue_id}", self._poll, mapping)
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
