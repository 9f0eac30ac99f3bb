"""DynamoDB Streams consumers on a laptop, read from template.yaml: each function's `DynamoDB` event (its
filter, batch size, partial-failure reporting, bisect, retries, on-failure queue) and each EventBridge
Pipe to an event bus (its filter and input template), fed from the embedded AWS's streams.

What Lambda's event source mapping does, in one thread per stream: poll, filter (moto's EventBridge
pattern matcher: Lambda's filter syntax is EventBridge's), invoke with `{"Records": [...]}`, retry a
batch from the first failed record (halving it when the function raised), and after the last retry
send the batch's description to the on-failure queue.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from moto.events.models import EventPattern

from arrowhook_tools.local.runtime import LocalFunctions
from arrowhook_tools.local.template import LOCAL_ACCOUNT, LOCAL_REGION, LocalTemplate
from arrowhook_tools.standins import embedded_aws
from arrowhook_tools.standins import meter as metering
from arrowhook_tools.standins.meter import PIPE_CALLER
from arrowhook_tools.standins.pollers import Pollers


def passes(filters: list[EventPattern], record: dict[str, Any]) -> bool:
    """No filter lets everything through; otherwise any one filter that matches does."""
    return not filters or any(pattern.matches_event(cast(Any, record)) for pattern in filters)


@dataclass
class StreamMapping:
    """One `Type: DynamoDB` event of a function, resolved."""

    function_id: str
    table_id: str
    batch_size: int = 100
    filters: list[EventPattern] = field(default_factory=list)
    report_item_failures: bool = False
    bisect: bool = False
    max_retries: int = -1
    on_failure_arn: str | None = None
    starting_position: str = "LATEST"

    def wants(self, record: dict[str, Any]) -> bool:
        return passes(self.filters, record)


#: PutEvents refuses an entry larger than this (Source, DetailType and Detail, UTF-8).
MAX_EVENT_ENTRY_BYTES = 256 * 1024


def event_entry_size(entry: dict[str, str]) -> int:
    """An entry's size as EventBridge counts it for PutEvents' limit."""
    return sum(len(entry.get(name, "").encode()) for name in ("Source", "DetailType", "Detail"))


@dataclass
class PipeToBus:
    """An AWS::Pipes::Pipe from a table's stream to an event bus."""

    table_id: str
    bus_name: str
    source: str
    detail_type: str
    input_template: str | None
    filters: list[EventPattern] = field(default_factory=list)
    dead_letter_arn: str | None = None
    starting_position: str = "LATEST"

    def wants(self, record: dict[str, Any]) -> bool:
        return passes(self.filters, record)


def _patterns(filter_criteria: dict[str, Any] | None) -> list[EventPattern]:
    return [EventPattern.load(entry["Pattern"]) for entry in (filter_criteria or {}).get("Filters", [])]


def _stream_table(template: LocalTemplate, stream: Any) -> str:
    """`!GetAtt <Table>.StreamArn` -> the table's logical id."""
    if isinstance(stream, dict) and "Fn::GetAtt" in stream:
        return str(stream["Fn::GetAtt"][0])
    raise ValueError(f"a stream source must be !GetAtt <Table>.StreamArn (got {stream!r})")


def stream_mappings(template: LocalTemplate) -> list[StreamMapping]:
    mappings = []
    for logical_id, resource in template.resources_of_type("AWS::Serverless::Function"):
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") != "DynamoDB":
                continue
            properties = event["Properties"]
            resolved = template.resolve({key: value for key, value in properties.items() if key != "Stream"})
            on_failure = resolved.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            mappings.append(
                StreamMapping(
                    function_id=logical_id,
                    table_id=_stream_table(template, properties["Stream"]),
                    batch_size=int(resolved.get("BatchSize", 100)),
                    filters=_patterns(resolved.get("FilterCriteria")),
                    report_item_failures="ReportBatchItemFailures" in resolved.get("FunctionResponseTypes", []),
                    bisect=bool(resolved.get("BisectBatchOnFunctionError", False)),
                    max_retries=int(resolved.get("MaximumRetryAttempts", -1)),
                    on_failure_arn=str(on_failure) if on_failure else None,
                    starting_position=str(resolved.get("StartingPosition", "LATEST")),
                )
            )
    return mappings


def pipes_to_buses(template: LocalTemplate) -> list[PipeToBus]:
    pipes = []
    for _, resource in template.resources_of_type("AWS::Pipes::Pipe"):
        condition = resource.get("Condition")
        if condition and not template.condition(condition):
            continue
        properties = resource["Properties"]
        target = properties["Target"]
        if not (isinstance(target, dict) and "Fn::GetAtt" in target):
            continue
        bus = template.resources[target["Fn::GetAtt"][0]]
        target_parameters = template.resolve(properties.get("TargetParameters", {}))
        bus_parameters = target_parameters.get("EventBridgeEventBusParameters", {})
        stream_parameters = template.resolve(properties.get("SourceParameters", {})).get("DynamoDBStreamParameters", {})
        pipes.append(
            PipeToBus(
                table_id=_stream_table(template, properties["Source"]),
                bus_name=str(template.resolve(bus["Properties"]["Name"])),
                source=str(bus_parameters.get("Source", "pipe")),
                detail_type=str(bus_parameters.get("DetailType", "Event")),
                input_template=target_parameters.get("InputTemplate"),
                filters=_patterns(template.resolve(properties.get("SourceParameters", {})).get("FilterCriteria")),
                dead_letter_arn=stream_parameters.get("DeadLetterConfig", {}).get("Arn"),
                starting_position=str(stream_parameters.get("StartingPosition", "LATEST")),
            )
        )
    return pipes


_TEMPLATE_PATH = re.compile(r'"<(\$[^>]*)>"|<(\$[^>]*)>')


def _json_path(document: Any, path: str) -> Any:
    value = document
    for part in path.removeprefix("$").strip(".").split("."):
        if not part:
            continue
        value = value.get(part) if isinstance(value, dict) else None
    return value


def render_input_template(template: str | None, record: dict[str, Any]) -> str:
    """EventBridge's input transformer for the paths Pipes support here: `"<$.a.b>"` inside quotes is the
    value as a JSON string; a bare `<$.a.b>` is the value as JSON."""
    if template is None:
        return json.dumps(record)

    def replace(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            value = _json_path(record, match.group(1))
            return json.dumps("" if value is None else str(value))
        return json.dumps(_json_path(record, match.group(2)))

    return _TEMPLATE_PATH.sub(replace, template)


def _wire(value: Any) -> Any:
    """What the stream's JSON carries for values boto3 decoded: binary as base64, times as text."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    return str(value)


class LocalStreams:
    """Polls every table stream that a function or a pipe reads, and feeds them."""

    def __init__(
        self,
        template: LocalTemplate,
        functions: LocalFunctions,
        endpoint: str,
        *,
        poll_seconds: float = 0.1,
        retry_pause: Callable[[int], float] = lambda attempt: min(2.0, 0.2 * attempt),
    ) -> None:
        self.template = template
        self.functions = functions
        self.mappings = stream_mappings(template)
        self.pipes = pipes_to_buses(template)
        self.poll_seconds = poll_seconds
        self.retry_pause = retry_pause
        self.endpoint = endpoint
        self._pollers = Pollers()
        self._stopping = self._pollers.stopping
        self.failures: list[dict[str, Any]] = []
        #: Records each function has handled for good, by function: what a caller waits on when handling
        #: one leaves nothing to look at (an alert of a strategy with no destination and no check).
        self.handled: Counter[str] = Counter()

    def _client(self, service: str) -> Any:
        return embedded_aws.client(service, self.endpoint)

    def start(self) -> LocalStreams:
        """Each stream's position is taken here, before the caller serves a request: as the template says
        (LATEST: what the stream holds already, such as a restored snapshot's writes or an earlier stack's
        of this process, is not delivered again), and nothing written after this call is missed."""
        tables = {mapping.table_id for mapping in self.mappings} | {pipe.table_id for pipe in self.pipes}
        for table_id in sorted(tables):
            positions = {m.starting_position for m in self.mappings if m.table_id == table_id} | {
                p.starting_position for p in self.pipes if p.table_id == table_id
            }
            position = "TRIM_HORIZON" if "TRIM_HORIZON" in positions else "LATEST"
            self._pollers.spawn(f"stream-{table_id}", self._follow, table_id, self._open(table_id, position))
        return self

    def _open(self, table_id: str, position: str) -> tuple[str, str, str]:
        """The table's stream, its shard and an iterator at `position`."""
        dynamodb = self._client("dynamodb")
        streams = self._client("dynamodbstreams")
        table_name = self.template.physical_name(table_id)
        stream_arn = dynamodb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType=position)
        return stream_arn, shard, str(iterator["ShardIterator"])

    def stop(self) -> None:
        self._pollers.stop()

    # -- polling -----------------------------------------------------------------------------------
    def _follow(self, table_id: str, opened: tuple[str, str, str]) -> None:
        streams = self._client("dynamodbstreams")
        stream_arn, shard, iterator = opened
        while not self._stopping.is_set():
            try:
                page = streams.get_records(ShardIterator=iterator, Limit=1000)
            except Exception:
                if self._stopping.wait(self.poll_seconds):
                    return
                continue
            iterator = page.get("NextShardIterator") or iterator
            records = [{**record, "eventSourceARN": stream_arn} for record in page.get("Records", [])]
            if records:
                self._dispatch(table_id, records, stream_arn, shard)
            elif self._stopping.wait(self.poll_seconds):
                return

    def _dispatch(self, table_id: str, records: list[dict[str, Any]], stream_arn: str, shard: str) -> None:
        plain = [json.loads(json.dumps(record, default=_wire)) for record in records]
        for pipe in self.pipes:
            if pipe.table_id == table_id:
                self._publish(pipe, [record for record in plain if pipe.wants(record)])
        for mapping in self.mappings:
            if mapping.table_id == table_id:
                wanted = [record for record in plain if mapping.wants(record)]
                for start in range(0, len(wanted), mapping.batch_size):
                    self._invoke(mapping, wanted[start : start + mapping.batch_size], stream_arn, shard)

    def _publish(self, pipe: PipeToBus, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        events = self._client("events")
        for record in records:
            entry = {
                "EventBusName": pipe.bus_name,
                "Source": pipe.source,
                "DetailType": pipe.detail_type,
                "Detail": render_input_template(pipe.input_template, record),
            }
            if event_entry_size(entry) > MAX_EVENT_ENTRY_BYTES:  # PutEvents refuses it, every retry alike
                self._pipe_failure(pipe, record, f"entry of {event_entry_size(entry)} bytes over PutEvents' limit")
                continue
            with metering.calling_as(PIPE_CALLER):  # a Pipe's request, and the bus's event, for the meter
                events.put_events(Entries=[entry])

    def _pipe_failure(self, pipe: PipeToBus, record: dict[str, Any], reason: str) -> None:
        """What a Pipe leaves in its dead-letter queue: where the record is on the stream, not the record."""
        message = {
            "context": {"condition": "RetryAttemptsExhausted", "errorMessage": reason},
            "DDBStreamBatchInfo": {
                "startSequenceNumber": record["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": record["dynamodb"]["SequenceNumber"],
                "batchSize": 1,
                "streamArn": record.get("eventSourceARN"),
            },
        }
        self.failures.append(message)
        if pipe.dead_letter_arn and ":sqs:" in pipe.dead_letter_arn:
            sqs = self._client("sqs")
            queue_url = sqs.get_queue_url(QueueName=pipe.dead_letter_arn.rsplit(":", 1)[1])["QueueUrl"]
            sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))

    def _invoke(self, mapping: StreamMapping, batch: list[dict[str, Any]], stream_arn: str, shard: str) -> None:
        """Lambda's retry rules for one batch: from the first failed record on, halving after a raise."""
        pending: list[list[dict[str, Any]]] = [batch]
        while pending and not self._stopping.is_set():
            current = pending.pop(0)
            for attempt in range(1, 10_000):
                failed_from = self._run(mapping, current)
                if failed_from is None:
                    self.handled[mapping.function_id] += len(current)
                    break
                raised = failed_from < 0
                if raised and mapping.bisect and len(current) > 1:
                    half = len(current) // 2
                    pending[:0] = [current[:half], current[half:]]
                    break
                current = current[max(0, failed_from) :]
                if 0 <= mapping.max_retries < attempt:
                    self._on_failure(mapping, current, stream_arn, shard, attempt)
                    break
                if self._stopping.wait(self.retry_pause(attempt)):
                    return

    def _run(self, mapping: StreamMapping, batch: list[dict[str, Any]]) -> int | None:
        """None when the whole batch succeeded; the index of the first failed record; -1 when it raised."""
        try:
            answer = self.functions.invoke(mapping.function_id, {"Records": batch})
        except Exception:
            return -1
        if not mapping.report_item_failures or not isinstance(answer, dict):
            return None
        failed = {entry.get("itemIdentifier") for entry in answer.get("batchItemFailures") or []}
        for index, record in enumerate(batch):
            if record["dynamodb"]["SequenceNumber"] in failed:
                return index
        return None

    def _on_failure(
        self, mapping: StreamMapping, batch: list[dict[str, Any]], stream_arn: str, shard: str, attempts: int
    ) -> None:
        """What Lambda sends an on-failure destination for a stream: where the batch is, not its records."""
        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{mapping.function_id}",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
                "batchSize": len(batch),
                "streamArn": stream_arn,
            },
        }
        self.failures.append(message)
        if mapping.on_failure_arn and ":sqs:" in mapping.on_failure_arn:
            sqs = self._client("sqs")
            queue_url = sqs.get_queue_url(QueueName=mapping.on_failure_arn.rsplit(":", 1)[1])["QueueUrl"]
            sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))
