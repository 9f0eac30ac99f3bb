"""`make dev` keeps its data: the embedded AWS's data (every table's items, the stack's SSM parameters,
the buckets' objects, the messages waiting in its queues) is written to one JSON file within seconds of
each change and on a clean stop, and the next start loads it before anything else runs, so keys,
alerts, destinations, the admin token and undelivered failure reports are still there. A `kill -9`
loses at most the last PERSIST_SECONDS. `arrowhook dev --fresh` starts from nothing instead.

Restoring writes the tables directly, as a backup restore does, and the stream consumers then start
at the stream's end (the template's `StartingPosition: LATEST`): restored alerts are not forwarded again.
The file holds the admin token and every destination secret: it is written 0600 in a 0700 folder,
atomically (arrowhook_tools.local.state.write_private)."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from arrowhook_tools.local.state import STATE_DIR, write_private
from arrowhook_tools.local.template import LocalTemplate
from arrowhook_tools.standins import embedded_aws

#: Where `arrowhook dev` keeps its data (in the stack's state folder: ARROWHOOK_STATE_DIR).
SNAPSHOT_FILE = STATE_DIR / "state" / "snapshot.json"
#: How often a running stack writes its data when something changed (what a crash can lose at most).
PERSIST_SECONDS = 2.0
_VERSION = 1
_PARAMETER_ROOT = "/arrowhook/"


def save(template: LocalTemplate, endpoint: str, path: Path = SNAPSHOT_FILE) -> dict[str, int]:
    """Write the stack's data to `path` (atomically: a crash mid-write keeps the previous snapshot)."""
    dynamodb = embedded_aws.client("dynamodb", endpoint)
    tables: dict[str, list[dict[str, Any]]] = {}
    for name in template.tables():
        items: list[dict[str, Any]] = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=name):
            items.extend(page.get("Items", []))
        tables[name] = [_plain_item(item) for item in items]
    ssm = embedded_aws.client("ssm", endpoint)
    parameters = [
        {"Name": parameter["Name"], "Type": parameter["Type"], "Value": parameter["Value"]}
        for page in ssm.get_paginator("get_parameters_by_path").paginate(
            Path=_PARAMETER_ROOT, Recursive=True, WithDecryption=True
        )
        for parameter in page.get("Parameters", [])
    ]
    s3 = embedded_aws.client("s3", endpoint)
    objects = {
        bucket: {
            entry["Key"]: base64.b64encode(s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()).decode()
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for entry in page.get("Contents", [])
        }
        for bucket in template.buckets()
    }
    queues = _queued_messages(template)
    snapshot = {"version": _VERSION, "tables": tables, "parameters": parameters, "objects": objects, "queues": queues}
    write_private(path, json.dumps(snapshot))
    return {
        "items": sum(len(items) for items in tables.values()),
        "parameters": len(parameters),
        "objects": sum(len(keys) for keys in objects.values()),
        "messages": sum(len(messages) for messages in queues.values()),
    }


def _plain_item(item: dict[str, Any]) -> dict[str, Any]:
    """Binary attributes (a large alert's compressed payload) as base64, as DynamoDB's JSON writes them."""
    return {
        name: {"B": base64.b64encode(value["B"]).decode()} if "B" in value else value for name, value in item.items()
    }


def _typed_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: {"B": base64.b64decode(value["B"])} if "B" in value else value for name, value in item.items()}


def _queued_messages(template: LocalTemplate) -> dict[str, list[dict[str, Any]]]:
    """What waits in the template's queues (the failure queue above all): read from moto in this process,
    since receiving them would hide them from their consumers."""
    from moto.sqs.models import sqs_backends

    names = {template.physical_name(logical_id) for logical_id, _ in template.resources_of_type("AWS::SQS::Queue")}
    kept: dict[str, list[dict[str, Any]]] = {}
    for account in sqs_backends.values():
        for backend in account.values():
            for name, queue in list(backend.queues.items()):
                if name in names:
                    kept[name] = [
                        {"Body": message.body, **({"MessageGroupId": message.group_id} if message.group_id else {})}
                        for message in list(queue._messages)
                    ]
    return kept


def restore(template: LocalTemplate, endpoint: str, path: Path = SNAPSHOT_FILE) -> dict[str, int] | None:
    """Load `path` into freshly provisioned tables, parameters, buckets and queues; None when there is none
    (or it is of another format: then the stack starts clean and the next save replaces it)."""
    try:
        snapshot = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if snapshot.get("version") != _VERSION:
        return None
    ssm = embedded_aws.client("ssm", endpoint)
    for parameter in snapshot["parameters"]:
        ssm.put_parameter(Name=parameter["Name"], Value=parameter["Value"], Type=parameter["Type"], Overwrite=True)
    return {
        "items": _restore_tables(template, endpoint, snapshot["tables"]),
        "parameters": len(snapshot["parameters"]),
        "objects": _restore_objects(template, endpoint, snapshot["objects"]),
        "messages": _restore_queues(endpoint, snapshot.get("queues", {})),
    }


def _restore_tables(template: LocalTemplate, endpoint: str, tables: dict[str, list[dict[str, Any]]]) -> int:
    dynamodb = embedded_aws.client("dynamodb", endpoint)
    restored = 0
    for name, items in tables.items():
        if name not in template.tables():
            continue  # a table the template no longer has
        for start in range(0, len(items), 25):
            requests = [{"PutRequest": {"Item": _typed_item(item)}} for item in items[start : start + 25]]
            while requests:
                answer = dynamodb.batch_write_item(RequestItems={name: requests})
                requests = answer.get("UnprocessedItems", {}).get(name, [])
        restored += len(items)
    return restored


def _restore_objects(template: LocalTemplate, endpoint: str, buckets: dict[str, dict[str, str]]) -> int:
    s3 = embedded_aws.client("s3", endpoint)
    restored = 0
    for bucket, objects in buckets.items():
        if bucket not in template.buckets():
            continue
        for key, body in objects.items():
            s3.put_object(Bucket=bucket, Key=key, Body=base64.b64decode(body))
            restored += 1
    return restored


def _restore_queues(endpoint: str, queues: dict[str, list[dict[str, Any]]]) -> int:
    sqs = embedded_aws.client("sqs", endpoint)
    restored = 0
    for name, messages in queues.items():
        try:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            continue  # a queue the template no longer has
        for message in messages:
            sqs.send_message(QueueUrl=url, MessageBody=message["Body"], DelaySeconds=0, **_group(message))
            restored += 1
    return restored


def _group(message: dict[str, Any]) -> dict[str, str]:
    """A FIFO queue's message keeps its group (and is deduplicated by its body)."""
    group = message.get("MessageGroupId")
    if not group:
        return {}
    return {"MessageGroupId": group, "MessageDeduplicationId": hashlib.sha256(message["Body"].encode()).hexdigest()}


def discard(path: Path = SNAPSHOT_FILE) -> None:
    path.unlink(missing_ok=True)


class Keeper:
    """Writes the stack's data whenever it changed, at most every PERSIST_SECONDS, in a thread of its own;
    `keep()` writes now (a clean stop). One write at a time."""

    def __init__(
        self,
        template: LocalTemplate,
        endpoint: str,
        path: Path,
        changes: Any,
        every: float = PERSIST_SECONDS,
    ) -> None:
        self.template, self.endpoint, self.path, self.every = template, endpoint, path, every
        #: A callable answering how many changes the embedded AWS has served so far.
        self._changes = changes
        self._written_at_change = changes()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Keeper:
        self._thread = threading.Thread(target=self._run, name="snapshot-keeper", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stopping.wait(self.every):
            if self._changes() != self._written_at_change:
                try:
                    self.keep()
                except Exception as error:  # the next change tries again; a stop writes once more
                    print(f"could not keep the local stack's data: {error}", flush=True)

    def keep(self) -> dict[str, int]:
        with self._lock:
            seen = self._changes()
            saved = save(self.template, self.endpoint, self.path)
            self._written_at_change = seen
            return saved

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
