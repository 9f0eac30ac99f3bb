"""Embedded AWS endpoints (moto's server on 127.0.0.1) provisioned from template.yaml's own resources."""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from arrowhook.aws import secure_parameters
from arrowhook_tools.local.ports import claim_port
from arrowhook_tools.local.template import LOCAL_REGION, LocalTemplate
from arrowhook_tools.standins import backups
from arrowhook_tools.standins import meter as metering

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: Credentials moto accepts; set so no developer credentials are ever sent to the local endpoint.
_MOTO_DUMMY_CREDENTIAL = "testing"
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": _MOTO_DUMMY_CREDENTIAL,
    "AWS_SECRET_ACCESS_KEY": _MOTO_DUMMY_CREDENTIAL,
    "AWS_SESSION_TOKEN": _MOTO_DUMMY_CREDENTIAL,
    "AWS_DEFAULT_REGION": LOCAL_REGION,
    "AWS_REGION": LOCAL_REGION,
}
_TABLE_ARGUMENTS = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "ProvisionedThroughput",
    "StreamSpecification",
)


@dataclass
class Fault:
    """An AWS error the embedded endpoint answers instead of running the call (which then never happens).

    `operation` is the JSON-protocol target's action (`TransactWriteItems`, `GetParameter`, ...).
    `times` counts how many calls fail (-1: until cleared); `probability` picks calls at random.
    With `applied_then_slow`, the call does run, and only its answer is late (a client timeout on a
    write that happened): what an SDK retry must cope with.
    """

    operation: str
    error: str = "ThrottlingException"
    status: int = 400
    times: int = 1
    probability: float = 1.0
    applied_then_slow: float = 0.0
    #: Only calls whose request body contains this text (a key prefix: `DEDUPE#`), when set.
    matching: str | None = None
    served: int = 0
    #: Calls this fault was asked about (the operation, and `matching` if set), served or not.
    seen: int = 0
    _random: random.Random = field(default_factory=lambda: random.Random(7), repr=False)  # noqa: S311  # nosec B311

    def take(self, body: bytes) -> bool:
        if self.matching is not None and self.matching.encode() not in body:
            return False
        self.seen += 1
        if self.times == 0 or self._random.random() >= self.probability:
            return False
        self.times -= 1 if self.times > 0 else 0
        self.served += 1
        return True

    def response(self, target: str) -> tuple[str, list[tuple[str, str]], bytes]:
        prefix = "com.amazonaws.dynamodb.v20120810#" if target.startswith("DynamoDB") else ""
        body = json.dumps({"__type": f"{prefix}{self.error}", "message": f"injected by a test: {self.error}"})
        status = f"{self.status} {HTTPStatus(self.status).phrase}"
        return status, [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", "fault")], body.encode()


class _CopyExceptTables:
    """Stands in for the `copy` module inside moto's DynamoDB backend during one transaction."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _cheap_transaction_rollback() -> None:
    """moto deep-copies every table a TransactWriteItems names, to roll back on failure: a cost that
    grows with the table (8.6 ms per webhook write on an empty table, 171 ms at 4,000 items, and
    gigabytes of garbage). Keep only the items the transaction names instead: requests are handled one
    at a time, so nothing else changes them meanwhile.

    moto also applies a transaction's writes one by one, each adding its stream record, and its rollback
    restores the tables but keeps those records: a repeated alert (its alert put applied, then its dedupe
    marker's condition failing) reached the stream consumers as a new alert. In DynamoDB a cancelled
    transaction writes nothing to a stream, so the rollback also drops the records it added."""
    import moto.dynamodb.models as dynamodb_models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "arrowhook_cheap_rollback", False):
        return

    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        saved: list[tuple[Any, Any, Any, Any]] = []
        stream_lengths: dict[int, tuple[Any, int]] = {}
        for entry in transact_items:
            operation, arguments = next(iter(entry.items()))
            table = backend.tables.get(arguments.get("TableName"))
            key = arguments.get("Item" if operation == "Put" else "Key") or {}
            if table is None or table.hash_key_attr not in key:
                continue
            if table.stream_shard is not None:
                stream_lengths.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
            saved.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        setattr(dynamodb_models, "copy", _CopyExceptTables)  # noqa: B010 - moto's own module global
        try:
            original(backend, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(saved):
                home = table.items[hash_key] if range_key is not None else table.items
                slot = range_key if range_key is not None else hash_key
                if item is None:
                    home.pop(slot, None)
                else:
                    home[slot] = item
            for shard, length in stream_lengths.values():
                del shard.items[length:]
            raise
        finally:
            setattr(dynamodb_models, "copy", copy)  # noqa: B010

    transact_write_items.arrowhook_cheap_rollback = True  # type: ignore[attr-defined]
    setattr(DynamoDBBackend, "transact_write_items", transact_write_items)  # noqa: B010


_SQS_CLOCK = {"offset_ms": 0.0}


def _offset_sqs_clock() -> None:
    """The embedded SQS tells time through moto.sqs.models.unix_time_millis: read it with an offset that
    EmbeddedAws.advance moves (visibility timeouts and delays on a clock the tests control)."""
    import moto.sqs.models as sqs_models

    real = getattr(sqs_models, "unix_time_millis")  # noqa: B009 - moto's module global, not exported
    if getattr(real, "arrowhook_offset", False):
        return

    def unix_time_millis(*args: Any) -> float:
        return float(real(*args)) + _SQS_CLOCK["offset_ms"]

    unix_time_millis.arrowhook_offset = True  # type: ignore[attr-defined]
    setattr(sqs_models, "unix_time_millis", unix_time_millis)  # noqa: B010 - moto's own module global


def _moto_tables() -> Iterator[tuple[Any, Any]]:
    """(backend, table) for every DynamoDB table moto holds in this process, any account or region."""
    from moto.dynamodb.models import dynamodb_backends

    for account in dynamodb_backends.values():
        for backend in account.values():
            for table in backend.tables.values():
                yield backend, table


def expire_ttl_items(now: float) -> int:
    """Delete what DynamoDB's TTL would have deleted by `now` (moto stores TTL settings, never expires).

    DynamoDB deletes expired items within days; the local stack does it every TTL_SWEEP_SECONDS, so
    dedupe markers do not pile up in a long-running `make dev`."""
    expired = 0
    for _, table in _moto_tables():
        attribute = table.ttl.get("AttributeName")
        if table.ttl.get("TimeToLiveStatus") != "ENABLED" or not attribute or table.has_range_key:
            continue
        for hash_key, item in list(table.items.items()):
            value = getattr(item, "attrs", {}).get(attribute)
            if value is not None and value.type == "N" and float(value.value) < now:
                backups.JOURNAL.deleted(table, hash_key, None)
                table.delete_item(hash_key, None)
                expired += 1
    return expired


#: How often the local stack expires TTL items.
TTL_SWEEP_SECONDS = 30.0
#: Calls that change nothing worth keeping (the stream and queue pollers make them all the time).
_READS = frozenset(
    {
        "GetItem", "BatchGetItem", "Query", "Scan", "DescribeTable", "ListTables", "DescribeTimeToLive",
        "DescribeContinuousBackups", "GetRecords", "GetShardIterator", "DescribeStream", "ListStreams",
        "GetParameter", "GetParameters", "GetParametersByPath", "DescribeParameters", "ReceiveMessage",
        "GetQueueUrl", "GetQueueAttributes", "ListQueues", "ChangeMessageVisibility", "GetMetricData",
        "ListEventBuses", "DescribeEventBus", "ListRules",
    }
)  # fmt: skip


#: The services whose data the local stack keeps (arrowhook_tools.local.snapshot): metrics and events are not.
_KEPT_SERVICES = ("dynamodb", "ssm", "s3", "sqs")
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/")


def _service_and_target(environ: dict[str, Any]) -> tuple[str | None, str]:
    """The service named in the signature's scope, and the JSON protocols' operation (X-Amz-Target)."""
    scope = _CREDENTIAL_SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    return (scope.group(1) if scope else None), target.rpartition(".")[2]


def changes_something(environ: dict[str, Any]) -> bool:
    """Whether a request may change what the local stack keeps: a call to a kept service that is not a
    read (S3 speaks REST: its writes are by method). The service is read from the signature's scope."""
    service, operation = _service_and_target(environ)
    if service not in _KEPT_SERVICES:
        return False
    if operation:
        return operation not in _READS
    return service == "s3" and environ.get("REQUEST_METHOD") in ("PUT", "POST", "DELETE")


def _body_of(environ: dict[str, Any]) -> bytes:
    """A request's body, read and put back for moto (which reads it again)."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _request_of(environ: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(service, operation, request) of an SDK call; the body is read and put back for moto."""
    body = _body_of(environ)
    scope, operation = _service_and_target(environ)
    service = scope or "unknown"
    if operation:
        return service, operation, metering.parse_json(body)
    if service == "s3":
        method = str(environ.get("REQUEST_METHOD", "GET"))
        listing = method == "GET" and str(environ.get("PATH_INFO", "")).strip("/").count("/") == 0
        return service, "LIST" if listing else method, {}
    form = parse_qs(body.decode(errors="replace"))
    return service, (form.get("Action") or ["unknown"])[0], {name: values[0] for name, values in form.items()}


def _moto_item(table_name: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """An item as moto holds it now, in DynamoDB JSON (read under the requests lock)."""
    for backend, table in _moto_tables():
        if table.name == table_name:
            try:
                item = backend.get_item(table_name, key)
            except Exception:  # a malformed key: the call itself fails, nothing written
                return None
            return None if item is None else dict(item.to_json()["Attributes"])
    return None


def _written(meter: metering.Meter, operation: str, request: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(table, key) of each item a DynamoDB write touches (a transaction's condition checks included)."""

    def key_of(table: str, named: dict[str, Any]) -> dict[str, Any]:
        shape = meter.shapes.get(table)
        return {name: named[name] for name in (shape.keys if shape else ()) if name in named}

    return [(table, key_of(table, named)) for table, named in backups.written_keys(operation, request)]


def _metered(
    meter: metering.Meter, application: Any, environ: dict[str, Any], start_response: Callable[..., Any]
) -> list[bytes]:
    """Serve one request and count it: a DynamoDB write with its items as they were before and after."""
    service, operation, request = _request_of(environ)
    touched = _written(meter, operation, request) if service == "dynamodb" else []
    before = [_moto_item(table, key) for table, key in touched]
    answer = list(application(environ, start_response))
    items = {
        f"{table}|{json.dumps(key, sort_keys=True)}|{number}": (old, _moto_item(table, key))
        for number, ((table, key), old) in enumerate(zip(touched, before, strict=True))
    }
    who = str(environ.get("HTTP_X_ARROWHOOK_FUNCTION") or "Lambda pollers and the local stack")
    meter.aws_request(who, service, operation, request, response=metering.parse_json(b"".join(answer)), items=items)
    return answer


class _journaled:  # noqa: N801 - used like a function
    """One request's part in the point-in-time journal (arrowhook_tools.standins.backups): a successful
    DynamoDB write keeps the images it replaced; a point-in-time restore is refused for a time the journal
    does not reach, and otherwise rewound to the time it asked for."""

    def __init__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> None:
        self._start_response = start_response
        self._status = ""
        self.refusal: bytes | None = None
        self._images: list[Any] = []
        self._restore: dict[str, Any] | None = None
        service, operation = _service_and_target(environ)
        if service != "dynamodb" or not (
            operation in backups.WRITE_OPERATIONS or operation == "RestoreTableToPointInTime"
        ):
            return
        request = metering.parse_json(_body_of(environ))
        if operation != "RestoreTableToPointInTime":
            self._images = backups.JOURNAL.before_write(operation, request)
            return
        reason = backups.restore_refusal(request)
        if reason is None:
            self._restore = request
            return
        body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#InvalidRestoreTimeException", "message": reason})
        start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.0")])
        self.refusal = body.encode()

    def start_response(self, status: str, headers: Any, *rest: Any) -> Any:
        self._status = status
        return self._start_response(status, headers, *rest)

    def done(self) -> None:
        if not self._status.startswith("200"):
            return
        if self._images:
            backups.JOURNAL.record(self._images)
        if self._restore is not None:
            backups.rewind_restored(self._restore)


#: moto's backends are process-wide (every embedded AWS of a process serves the same tables), and so is
#: the transaction patch above: one lock for them all, or two stacks of one test process could interleave
#: a transaction of one with a write of the other.
_BACKENDS_LOCK = threading.Lock()


class EmbeddedAws:
    """moto's server on loopback, with requests handled one at a time.

    moto's DynamoDB evaluates a transaction's conditions and writes without a lock; serializing
    requests gives the atomicity real DynamoDB guarantees, so concurrency tests exercise our code,
    not a moto race. Tests and `make load` inject AWS errors with `inject` (see Fault).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.faults: list[Fault] = []
        self.calls: dict[str, int] = {}
        #: Requests served that may have changed data (arrowhook_tools.local.snapshot keeps the data when it moves).
        self.changes = 0
        self._faults_lock = threading.Lock()
        #: One request at a time (see the class docstring); the TTL sweeper takes it too.
        self._requests_lock = _BACKENDS_LOCK
        self._stopping = threading.Event()
        self._sweeper: threading.Thread | None = None
        #: A second listener where containers reach this host (`sam local`), when one was asked for.
        self._container_server: BaseWSGIServer | None = None
        self.container_endpoint: str | None = None

    def advance(self, seconds: float) -> None:
        """Move the embedded SQS's clock forward: a message hidden until its next attempt (minutes or hours
        away on the retry schedule) comes back now. Process-wide, like moto's backends; tests move it."""
        _SQS_CLOCK["offset_ms"] += seconds * 1000

    def expire_ttl(self, now: float | None = None) -> int:
        """Expire TTL items now, as DynamoDB eventually would (tests call it with their own clock)."""
        with self._requests_lock:
            return expire_ttl_items(time.time() if now is None else now)

    def _sweep_ttl(self) -> None:
        while not self._stopping.wait(TTL_SWEEP_SECONDS):
            self.expire_ttl()

    def inject(self, operation: str, **options: Any) -> Fault:
        fault = Fault(operation, **options)
        with self._faults_lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._faults_lock:
            self.faults.clear()

    def _fault_for(self, target: str, environ: dict[str, Any]) -> Fault | None:
        operation = target.rpartition(".")[2]
        with self._faults_lock:
            self.calls[operation] = self.calls.get(operation, 0) + 1
            wanted = [fault for fault in self.faults if fault.operation == operation]
            if not wanted:
                return None
            body = _body_of(environ)
            return next((fault for fault in wanted if fault.take(body)), None)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, container_host: str | None = None) -> EmbeddedAws:
        """Serve on loopback; with `container_host` (the Docker bridge's address), also there, for functions
        that `sam local` runs in containers. Never on every interface: the endpoints take any credentials."""
        if self.port:  # werkzeug would print and sys.exit() on a busy port; fail as an OSError instead
            claim_port(self.host, self.port)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        _cheap_transaction_rollback()
        _offset_sqs_clock()
        application = DomainDispatcherApplication(create_backend_app)
        lock = self._requests_lock

        def serialized(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
            fault = self._fault_for(target, environ) if target else None
            if fault is not None and not fault.applied_then_slow:
                status, headers, body = fault.response(target)
                start_response(status, headers)
                return [body]
            meter = metering.active()
            with lock:
                journaled = _journaled(environ, start_response)
                if journaled.refusal is not None:
                    return [journaled.refusal]
                if meter is None:
                    answer = list(application(environ, journaled.start_response))
                else:
                    answer = _metered(meter, application, environ, journaled.start_response)
                journaled.done()
                if changes_something(environ):
                    self.changes += 1
            if fault is not None:
                time.sleep(fault.applied_then_slow)
            return answer

        self._server = make_server(self.host, self.port, serialized, threaded=True, request_handler=MotoRequestHandler)
        # Stop without waiting for the idle keep-alive connections of this process's own boto3 clients.
        self._server.block_on_close = False  # type: ignore[attr-defined]
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="embedded-aws", daemon=True)
        self._thread.start()
        if container_host:
            self._container_server = self._listen(container_host, serialized)
            self._container_server.block_on_close = False  # type: ignore[attr-defined]
            self.container_endpoint = f"http://{container_host}:{self._container_server.server_address[1]}"
            threading.Thread(
                target=self._container_server.serve_forever, name="embedded-aws-containers", daemon=True
            ).start()
        self._stopping.clear()
        self._sweeper = threading.Thread(target=self._sweep_ttl, name="embedded-aws-ttl", daemon=True)
        self._sweeper.start()
        return self

    def _listen(self, host: str, application: Callable[..., Iterable[bytes]]) -> BaseWSGIServer:
        """The loopback port on `host` too when it is free (one port to remember), else any port."""
        port = self.port
        try:
            claim_port(host, port, grace_seconds=0)
        except OSError:
            port = 0
        return make_server(host, port, application, threaded=True, request_handler=MotoRequestHandler)

    def stop(self) -> None:
        self._stopping.set()
        if self._container_server is not None:
            self._container_server.shutdown()
            self._container_server.server_close()
            self._container_server = None
            self.container_endpoint = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None


def point_sdk_at(endpoint: str) -> None:
    """Route every boto3 client in this process to the embedded endpoint via AWS_ENDPOINT_URL."""
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ.pop("AWS_PROFILE", None)


def client(service: str, endpoint: str) -> Any:
    """A client of the embedded endpoint that works before point_sdk_at (its own dummy credentials)."""
    return boto3.client(  # type: ignore[call-overload]  # any service, by name
        service,
        endpoint_url=endpoint,
        region_name=LOCAL_REGION,
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=LOCAL_CREDENTIALS["AWS_SESSION_TOKEN"],
    )


def dynamodb(endpoint: str) -> DynamoDBClient:
    dynamodb_client: DynamoDBClient = client("dynamodb", endpoint)
    return dynamodb_client


def ssm(endpoint: str) -> Any:
    return boto3.client("ssm", endpoint_url=endpoint, region_name=LOCAL_REGION)


def provision_secure_parameters(template: LocalTemplate, client: Any) -> dict[str, str]:
    """Do what each Custom::SecureParameter does when deployed (the same layer code), so the local stack
    holds the same SecureStrings; returns logical id -> value. An existing value is kept."""
    values: dict[str, str] = {}
    for logical_id, resource in template.resources_of_type("Custom::SecureParameter"):
        properties = template.resolve(resource["Properties"])
        entropy = int(properties.get("EntropyBytes", secure_parameters.DEFAULT_ENTROPY_BYTES))
        secure_parameters.create(client, properties["Name"], str(properties.get("Description", "")), entropy)
        values[logical_id] = client.get_parameter(Name=properties["Name"], WithDecryption=True)["Parameter"]["Value"]
    return values


def s3(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name=LOCAL_REGION)


def provision_buckets(template: LocalTemplate, client: Any) -> list[str]:
    """Create every AWS::S3::Bucket in the template (idempotent), versioned when the template says so."""
    existing = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
    for name, properties in template.buckets().items():
        if name not in existing:
            client.create_bucket(Bucket=name)
        versioning = properties.get("VersioningConfiguration")
        if versioning:
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration=versioning)
    return list(template.buckets())


def provision(template: LocalTemplate, client: DynamoDBClient) -> list[str]:
    """Create every AWS::DynamoDB::Table in the template (idempotent); returns the table names."""
    existing = set(client.list_tables().get("TableNames", []))
    created: list[str] = []
    for name, properties in template.tables().items():
        if name not in existing:
            arguments = {key: properties[key] for key in _TABLE_ARGUMENTS if key in properties}
            if "StreamSpecification" in arguments:  # CloudFormation's has no StreamEnabled; the API's needs it
                arguments["StreamSpecification"] = {"StreamEnabled": True, **arguments["StreamSpecification"]}
            client.create_table(TableName=name, **arguments)
            ttl = properties.get("TimeToLiveSpecification")
            if ttl:
                client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
            recovery = properties.get("PointInTimeRecoverySpecification")
            if recovery:
                client.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification=recovery)
        created.append(name)
    return created


def _present(template: LocalTemplate, resource: dict[str, Any]) -> bool:
    condition = resource.get("Condition")
    return not condition or template.condition(condition)


def _queue_attributes(template: LocalTemplate, resource: dict[str, Any]) -> dict[str, str]:
    """The queue's delay and timeouts as the template sets them (the signal checks rely on the delay)."""
    properties = resource.get("Properties", {})
    names = ("DelaySeconds", "VisibilityTimeout", "MessageRetentionPeriod")
    return {name: str(template.resolve(properties[name])) for name in names if name in properties}


def _fifo_attributes(template: LocalTemplate, resource: dict[str, Any]) -> dict[str, str]:
    """A FIFO queue's settings, which SQS takes only when the queue is created."""
    properties = resource.get("Properties", {})
    if not properties.get("FifoQueue"):
        return {}
    names = ("FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit")
    resolved = {name: template.resolve(properties[name]) for name in names if name in properties}
    return {name: str(value).lower() if isinstance(value, bool) else str(value) for name, value in resolved.items()}


def provision_messaging(template: LocalTemplate, endpoint: str) -> None:
    """Create the template's SQS queues, SNS topics and EventBridge buses (those its conditions keep)."""
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=LOCAL_REGION)
    sns = boto3.client("sns", endpoint_url=endpoint, region_name=LOCAL_REGION)
    events = boto3.client("events", endpoint_url=endpoint, region_name=LOCAL_REGION)
    queues = [(logical_id, resource) for logical_id, resource in template.resources_of_type("AWS::SQS::Queue")]
    for logical_id, resource in queues:
        if _present(template, resource):
            # Without attributes first: idempotent when an earlier stack of this process (moto's backends
            # are per process) made the queue already; then the template's delay and timeouts.
            url = sqs.create_queue(
                QueueName=template.physical_name(logical_id), Attributes=_fifo_attributes(template, resource)
            )["QueueUrl"]
            if attributes := _queue_attributes(template, resource):
                sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    for logical_id, resource in queues:  # a dead-letter queue must exist before the queue that names it
        redrive = resource.get("Properties", {}).get("RedrivePolicy")
        if redrive and _present(template, resource):
            url = sqs.get_queue_url(QueueName=template.physical_name(logical_id))["QueueUrl"]
            policy = {name: str(template.resolve(value)) for name, value in redrive.items()}
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(policy)})
    for logical_id, resource in template.resources_of_type("AWS::SNS::Topic"):
        if _present(template, resource):
            sns.create_topic(Name=template.physical_name(logical_id))
    existing = {bus["Name"] for bus in events.list_event_buses().get("EventBuses", [])}
    for _, resource in template.resources_of_type("AWS::Events::EventBus"):
        name = str(template.resolve(resource["Properties"]["Name"]))
        if _present(template, resource) and name not in existing:
            events.create_event_bus(Name=name)
