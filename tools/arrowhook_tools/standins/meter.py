"""The cost meter: every billable unit the local stack's functions cause, counted from what they really do.

The embedded AWS hands each request to `Meter.aws_request` with the items as they were before and after
it (DynamoDB units come from the actual items, by DynamoDB's size rules, each index entry written,
updated or deleted, the transactional rate); the local runtime reports each invocation (its CPU time,
scaled to the configured memory's CPU share, plus a round trip per AWS call) and the bytes each function
prints (CloudWatch Logs ingestion); the local gateway reports each HTTP API request and its access-log
line. Prices are `arrowhook_tools.generators.costs.PRICE_TABLE`'s, each with its source and date: a call the meter
has no price for is listed in `unpriced`, and a test fails on it.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from arrowhook.aws.dynamodb import item_size
from arrowhook_tools.generators.costs import PRICE_TABLE
from arrowhook_tools.local.template import LocalTemplate

#: Lambda gives a full vCPU at 1,769 MB and CPU in proportion below it (the project's CPU-share model).
FULL_CPU_MB = 1769
#: One DynamoDB (or SQS, SSM) round trip as a function waits for it in AWS (the project's assumption).
ROUND_TRIP_SECONDS = 0.010
#: DynamoDB's per-item storage overhead, for the table and for each index entry.
STORAGE_OVERHEAD_BYTES = 100
#: Lambda's START, END and REPORT lines of one invocation in its text format (written unless the system
#: log level is WARN or above).
PLATFORM_LINES_BYTES = 330
#: Who the local stack's EventBridge Pipe is to the meter: each event it puts is a Pipe request too.
PIPE_CALLER = "AlertEventPipe"
#: Calls a test or benchmark makes to look at the stack: not billed to an alert.
OBSERVER = "observer"
#: Header the local runtime adds to each SDK request of a function, so the meter knows whose call it is.
CALLER_HEADER = "x-arrowhook-function"


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def read_units(size: int, *, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2


@dataclass(frozen=True)
class IndexShape:
    name: str
    keys: tuple[str, ...]
    projection: str
    included: tuple[str, ...] = ()

    def entry(self, item: Mapping[str, Any] | None, table_keys: tuple[str, ...]) -> dict[str, Any] | None:
        """The item's entry in this index, or None (a sparse index: a key attribute missing)."""
        if not item or any(key not in item for key in self.keys):
            return None
        if self.projection == "ALL":
            return dict(item)
        kept = set(table_keys) | set(self.keys) | (set(self.included) if self.projection == "INCLUDE" else set())
        return {name: value for name, value in item.items() if name in kept}


@dataclass(frozen=True)
class TableShape:
    name: str
    keys: tuple[str, ...]
    indexes: tuple[IndexShape, ...]


def access_log_format(template: LocalTemplate, resource_type: str = "AWS::Serverless::HttpApi") -> str:
    """The access-log line format of the template's first API (or stage) of this type that has one."""
    for _, api in template.resources_of_type(resource_type):
        settings = api.get("Properties", {}).get("AccessLogSettings")
        if settings:
            return str(template.resolve(settings["Format"]))
    return ""


def _rendered(line_format: str, context: Mapping[str, str]) -> str:
    for name in sorted(context, key=len, reverse=True):
        line_format = line_format.replace(f"$context.{name}", context[name])
    return line_format


def table_shapes(template: LocalTemplate) -> dict[str, TableShape]:
    """Each table's keys and global secondary indexes (with their projections), by physical name."""
    shapes = {}
    for name, properties in template.tables().items():
        keys = tuple(part["AttributeName"] for part in properties["KeySchema"])
        indexes = tuple(
            IndexShape(
                index["IndexName"],
                tuple(part["AttributeName"] for part in index["KeySchema"]),
                index["Projection"]["ProjectionType"],
                tuple(index["Projection"].get("NonKeyAttributes", ())),
            )
            for index in properties.get("GlobalSecondaryIndexes", ())
        )
        shapes[name] = TableShape(name, keys, indexes)
    return shapes


@dataclass
class Meter:
    """Billable units by (who, price), and the calls it could not price (`who service:operation`)."""

    template: LocalTemplate
    usage: defaultdict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    unpriced: Counter[str] = field(default_factory=Counter)
    shapes: dict[str, TableShape] = field(init=False)

    def __post_init__(self) -> None:
        self.shapes = table_shapes(self.template)
        self._lock = threading.Lock()
        logging_config = self.template.resolve(self.template.raw["Globals"]["Function"].get("LoggingConfig", {}))
        self._platform_lines = logging_config.get("SystemLogLevel", "INFO") not in ("WARN", "ERROR", "FATAL")
        self._access_log = access_log_format(self.template)
        self._live_access_log = access_log_format(self.template, "AWS::ApiGatewayV2::Stage")

    def add(self, who: str, price: str, quantity: float) -> None:
        if price not in PRICE_TABLE:
            raise KeyError(f"no price {price!r} in costs.PRICE_TABLE")
        with self._lock:
            self.usage[(who, price)] += quantity

    # -- what the local stack reports ------------------------------------------------------------------
    def invocation(self, function_id: str, memory_mb: int, cpu_seconds: float, aws_calls: int) -> None:
        """One Lambda invocation: a request, and its billed duration (1 ms steps) at its memory."""
        seconds = cpu_seconds * max(1.0, FULL_CPU_MB / memory_mb) + aws_calls * ROUND_TRIP_SECONDS
        billed = math.ceil(seconds * 1000) / 1000
        self.add(function_id, "lambda_request", 1)
        self.add(function_id, "lambda_arm_gb_second", billed * memory_mb / 1024)
        if self._platform_lines:
            self.log_bytes(function_id, PLATFORM_LINES_BYTES)
        if self.template.parameters.get("Tracing") == "on":
            self.add(function_id, "xray_trace_recorded", 1)

    def log_bytes(self, who: str, count: int) -> None:
        self.add(who, "cloudwatch_logs_ingest_gb", count / 1e9)

    def api_request(self, context: Mapping[str, str]) -> None:
        """One HTTP API request, and its access-log line as the template's format renders it."""
        self.add("HttpApi", "api_gateway_http_request", 1)
        self.log_bytes("HttpApi access log", len(_rendered(self._access_log, context).encode()) + 1)

    def websocket_route(self, context: Mapping[str, str]) -> None:
        """One request of the WebSocket API to its function ($connect, a client's frame, $disconnect): its
        access-log line (the frame itself is billed by `websocket_message`)."""
        self.log_bytes("LiveApi access log", len(_rendered(self._live_access_log, context).encode()) + 1)

    def websocket_message(self, size: int) -> None:
        """A frame a client sent, or one posted to a client through `@connections`: billed in 32 KB steps."""
        self.add("LiveApi", "api_gateway_websocket_message", max(1, math.ceil(size / 32_768)))

    def websocket_connection(self, seconds: float) -> None:
        """A connection that was open this long: connection minutes, each begun minute billed."""
        self.add("LiveApi", "api_gateway_websocket_connection_minute", max(1, math.ceil(seconds / 60)))

    def aws_request(
        self,
        who: str,
        service: str,
        operation: str,
        request: Mapping[str, Any],
        *,
        response: Mapping[str, Any],
        items: Mapping[str, tuple[dict[str, Any] | None, dict[str, Any] | None]] | None = None,
    ) -> None:
        """One SDK call: priced by its service's rules. `items` holds, for a DynamoDB write, each written
        item's (before, after) by `table|key` (the embedded AWS reads them around the call)."""
        if who == OBSERVER:
            return
        if service == "dynamodb":
            self._dynamodb(who, operation, request, response, items or {})
        elif service == "sqs":
            self._sqs(who, operation, request, response)
        elif (service, operation) in _FLAT:
            self.add(who, _FLAT[(service, operation)], 1)
            if who == PIPE_CALLER:
                self.add(who, "eventbridge_pipe_request", 1)
        else:
            self._unpriced(who, f"{service}:{operation}")

    def _unpriced(self, who: str, call: str) -> None:
        with self._lock:
            self.unpriced[f"{who} {call}"] += 1

    # -- DynamoDB ----------------------------------------------------------------------------------------
    def _dynamodb(  # noqa: PLR0912 - one branch per operation kind
        self,
        who: str,
        operation: str,
        request: Mapping[str, Any],
        response: Mapping[str, Any],
        items: Mapping[str, tuple[dict[str, Any] | None, dict[str, Any] | None]],
    ) -> None:
        if operation in _DYNAMODB_FREE:
            self.add(who, "dynamodb_control_plane", 1)
        elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
            before, after = next(iter(items.values()), (None, None))
            self._write(who, request["TableName"], before, after, transactional=False)
        elif operation == "BatchWriteItem":
            for slot, (before, after) in items.items():
                self._write(who, slot.split("|", 1)[0], before, after, transactional=False)
        elif operation == "TransactWriteItems":
            cancelled = "__type" in response
            for slot, (before, after) in items.items():
                table = slot.split("|", 1)[0]
                if cancelled:  # the prepare phase only: each item's units once, nothing written
                    self.add(who, "dynamodb_write_unit", write_units(item_size(before or after)))
                else:
                    self._write(who, table, before, after, transactional=True)
        elif operation == "GetItem":
            size = item_size(response.get("Item"))
            self.add(who, "dynamodb_read_unit", read_units(size, consistent=bool(request.get("ConsistentRead"))))
        elif operation == "BatchGetItem":
            for table, found in (response.get("Responses") or {}).items():
                consistent = bool(request["RequestItems"][table].get("ConsistentRead"))
                for item in found:
                    self.add(who, "dynamodb_read_unit", read_units(item_size(item), consistent=consistent))
        elif operation == "TransactGetItems":
            for answer in response.get("Responses") or []:
                self.add(who, "dynamodb_read_unit", 2 * read_units(item_size(answer.get("Item")), consistent=True))
        elif operation in ("Query", "Scan"):
            size = sum(item_size(item) for item in response.get("Items") or [])
            self.add(who, "dynamodb_read_unit", read_units(size, consistent=bool(request.get("ConsistentRead"))))
        elif operation in ("GetRecords", "GetShardIterator", "DescribeStream", "ListStreams"):
            self.add(who, "dynamodb_streams_read_by_lambda", 1)
        else:
            self._unpriced(who, f"dynamodb:{operation}")

    def _write(
        self, who: str, table: str, before: dict[str, Any] | None, after: dict[str, Any] | None, *, transactional: bool
    ) -> None:
        """The item's write (the larger of before and after), then each index entry put, updated or deleted."""
        rate = 2 if transactional else 1
        self.add(who, "dynamodb_write_unit", rate * write_units(max(item_size(before), item_size(after))))
        shape = self.shapes.get(table)
        for index in shape.indexes if shape else ():
            old, new = index.entry(before, shape.keys), index.entry(after, shape.keys)  # type: ignore[union-attr]
            if old == new:
                continue
            moved = old is not None and new is not None and any(old[key] != new[key] for key in index.keys)
            if moved:  # a new key: the old entry deleted, the new one put
                self.add(who, "dynamodb_write_unit", write_units(item_size(old)) + write_units(item_size(new)))
            else:
                self.add(who, "dynamodb_write_unit", write_units(max(item_size(old), item_size(new))))

    def storage_bytes(self, table: str, item: Mapping[str, Any]) -> tuple[int, int]:
        """(table bytes, index bytes) one item occupies, with DynamoDB's 100-byte overhead each."""
        shape = self.shapes[table]
        own = item_size(item) + STORAGE_OVERHEAD_BYTES
        entries = [index.entry(dict(item), shape.keys) for index in shape.indexes]
        indexed = sum(item_size(entry) + STORAGE_OVERHEAD_BYTES for entry in entries if entry is not None)
        return own, indexed

    def delete_units(self, table: str, item: Mapping[str, Any]) -> int:
        """What deleting this item costs: the item, and each of its index entries."""
        shape = self.shapes[table]
        entries = [index.entry(dict(item), shape.keys) for index in shape.indexes]
        return write_units(item_size(item)) + sum(write_units(item_size(entry)) for entry in entries if entry)

    def archive_read_units(self, table: str, item: Mapping[str, Any]) -> float:
        """What the archive reads of this item: its day index entry in pages (eventually consistent, the
        bytes summed over a page), then the item by key in a batch (each item rounded up to 4 KB)."""
        shape = self.shapes[table]
        day_index = next((index for index in shape.indexes if "day" in index.keys), None)
        entry = day_index.entry(dict(item), shape.keys) if day_index else None
        listed = item_size(entry) / 4096 / 2 if entry is not None else 0.0
        hydrated = day_index is not None and day_index.projection != "ALL"
        return listed + (read_units(item_size(item), consistent=False) if hydrated else 0.0)

    # -- SQS ---------------------------------------------------------------------------------------------
    def _sqs(self, who: str, operation: str, request: Mapping[str, Any], response: Mapping[str, Any]) -> None:
        url = str(request.get("QueueUrl", ""))
        price = "sqs_fifo_request" if url.endswith(".fifo") else "sqs_request"
        if operation == "ReceiveMessage" and not response.get("Messages"):
            return  # an empty poll: Lambda's long polling of an idle queue, a fixed monthly estimate
        if operation in ("SendMessage", "SendMessageBatch"):
            entries = request.get("Entries") or [request]
            size = sum(len(str(entry.get("MessageBody", "")).encode()) for entry in entries)
            self.add(who, price, max(1, math.ceil(size / 65536)))
        elif operation in _SQS_REQUESTS:
            self.add(who, price, 1)
        else:
            self._unpriced(who, f"sqs:{operation}")

    # -- results -----------------------------------------------------------------------------------------
    def dollars(self) -> dict[tuple[str, str], float]:
        return {key: quantity * PRICE_TABLE[key[1]].dollars for key, quantity in self.usage.items()}

    def total(self) -> float:
        return sum(self.dollars().values())


#: GB as AWS bills storage.
GIB = 2**30
#: How long a delivery record is kept (arrowhook.delivery.records_store.DELIVERY_RECORD_DAYS).
DELIVERY_RECORD_DAYS = 400
#: The archive's S3 storage is counted for the first year after an alert moves there.
ARCHIVE_MONTHS_COUNTED = 12


def life_cycle_per_million(
    meter: Meter,
    alerts: list[dict[str, Any]],
    deliveries: list[dict[str, Any]],
    *,
    alerts_table: str,
    deliveries_table: str,
    retention_days: int,
) -> dict[str, float]:
    """Dollars per million alerts over their whole life: what the meter counted while they arrived and
    were delivered (per function and price), then what their items cost later, from the items as they
    are: storage and continuous backup for the retention, delivery records for their 400 days, the
    archive's read and delete when the retention ends, and the archived object's first year in S3."""
    count = max(1, len(alerts))
    per = 1_000_000 / count
    figures: dict[str, float] = {}
    for (who, price), dollars in sorted(meter.dollars().items()):
        if dollars:
            figures[f"{who}: {PRICE_TABLE[price].unit}"] = (
                figures.get(f"{who}: {PRICE_TABLE[price].unit}", 0) + dollars * per
            )
    months = retention_days / 30
    table_bytes = index_bytes = 0
    delete_units = archive_reads = 0.0
    for item in alerts:
        own, indexed = meter.storage_bytes(alerts_table, item)
        table_bytes, index_bytes = table_bytes + own, index_bytes + indexed
        delete_units += meter.delete_units(alerts_table, item)
        archive_reads += meter.archive_read_units(alerts_table, item)
    record_bytes = sum(meter.storage_bytes(deliveries_table, item)[0] for item in deliveries)
    storage, pitr, s3 = (PRICE_TABLE[name].dollars for name in ("dynamodb_storage_gb_month", "dynamodb_pitr_gb_month",
                                                                 "s3_storage_gb_month"))  # fmt: skip
    figures["storage: alerts table for the retention"] = table_bytes / GIB * months * storage * per
    figures["storage: alert index copies for the retention"] = index_bytes / GIB * months * storage * per
    figures["continuous backup (PITR) of the alerts table"] = table_bytes / GIB * months * pitr * per
    figures["storage: delivery records for 400 days"] = record_bytes / GIB * DELIVERY_RECORD_DAYS / 30 * storage * per
    figures["archive: the alert found by day and read"] = (
        archive_reads * PRICE_TABLE["dynamodb_read_unit"].dollars * per
    )
    figures["archive: the delete, item and index entries"] = (
        delete_units * PRICE_TABLE["dynamodb_write_unit"].dollars * per
    )
    figures["archive: S3 storage, first year"] = table_bytes / GIB * ARCHIVE_MONTHS_COUNTED * s3 * per
    return figures


_DYNAMODB_FREE = frozenset({"DescribeTable", "ListTables", "DescribeTimeToLive", "DescribeContinuousBackups"})
_SQS_REQUESTS = frozenset(
    {"ReceiveMessage", "DeleteMessage", "DeleteMessageBatch", "ChangeMessageVisibility", "GetQueueUrl",
     "GetQueueAttributes", "ChangeMessageVisibilityBatch"}
)  # fmt: skip
#: Calls priced per request whatever their content.
_FLAT = {
    ("ssm", "GetParameter"): "ssm_standard_api_call",
    ("ssm", "GetParameters"): "ssm_standard_api_call",
    ("ssm", "GetParametersByPath"): "ssm_standard_api_call",
    ("sns", "Publish"): "sns_publish",
    ("events", "PutEvents"): "eventbridge_custom_event",
    ("s3", "PUT"): "s3_put_request",
    ("s3", "POST"): "s3_put_request",
    ("s3", "LIST"): "s3_put_request",
    ("s3", "GET"): "s3_get_request",
    ("s3", "HEAD"): "s3_get_request",
    ("s3", "DELETE"): "s3_delete_request",
}

_caller = threading.local()
_active: list[Meter] = []


def active() -> Meter | None:
    """The meter of this process's local stack, if it has one (moto's data is per process, so is this)."""
    return _active[-1] if _active else None


@contextmanager
def metering(meter: Meter) -> Iterator[Meter]:
    """Count what the local stack does while inside: SDK calls tagged, the functions' output counted."""
    import sys

    tag_sdk_requests()
    original = sys.stdout
    counting = CountingOutput(original)
    sys.stdout = counting
    rebound = _rebind_handlers((original, sys.__stdout__), counting)
    _active.append(meter)
    try:
        yield meter
    finally:
        _active.remove(meter)
        sys.stdout = original
        _rebind_handlers((counting,), original, rebound)


class CountingOutput:
    """Standard output that counts what each function prints (its CloudWatch Logs ingestion)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        function_id, meter = current_function(), active()
        if function_id and meter is not None:
            meter.log_bytes(function_id, len(text.encode()))
        return int(self.inner.write(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _rebind_handlers(old: tuple[Any, ...], new: Any, only: list[Any] | None = None) -> list[Any]:
    """Logging handlers bound to one of `old` (Powertools Logger binds standard output when it is built,
    perhaps before a redirect) now write to `new`."""
    import logging

    rebound = []
    loggers = [logging.getLogger(), *(item for item in logging.Logger.manager.loggerDict.values())]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            bound = isinstance(handler, logging.StreamHandler) and any(handler.stream is stream for stream in old)
            if bound and (only is None or handler in only):
                handler.setStream(new)
                rebound.append(handler)
    return rebound


def current_function() -> str | None:
    return getattr(_caller, "function_id", None)


@contextmanager
def calling_as(function_id: str) -> Iterator[list[int]]:
    """Within it, SDK calls of this thread are the function's: the header names it, and the list counts them."""
    previous = getattr(_caller, "function_id", None), getattr(_caller, "calls", None)
    calls = [0]
    _caller.function_id, _caller.calls = function_id, calls
    try:
        yield calls
    finally:
        _caller.function_id, _caller.calls = previous


def tag_sdk_requests() -> None:
    """Every botocore request of a thread running a function carries the function's name (once per process)."""
    from botocore.endpoint import Endpoint

    if getattr(Endpoint, "_arrowhook_tagged", False):
        return
    send = getattr(Endpoint, "_send")  # noqa: B009 - private, and untyped in the stubs

    def tagged(self: Any, request: Any) -> Any:
        function_id = getattr(_caller, "function_id", None)
        if function_id:
            request.headers[CALLER_HEADER] = function_id
            _caller.calls[0] += 1
        return send(self, request)

    setattr(Endpoint, "_send", tagged)  # noqa: B010
    setattr(Endpoint, "_arrowhook_tagged", True)  # noqa: B010


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        loaded = json.loads(body or b"{}")
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}
