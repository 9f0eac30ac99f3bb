"""`make dev` keeps its state across restarts: on a clean stop the embedded AWS's data (every table's
items, the stack's SSM parameters, the buckets' objects) is written to one JSON file, and the next start
loads it before anything else runs, so keys, alerts, destinations and the admin token are still there.
`arrowhook dev --fresh` starts from nothing instead. Restoring writes the tables directly, as a backup
restore does: the stream consumers start after it, so old alerts are not forwarded again."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from arrowhook_tools import embedded_aws
from arrowhook_tools.template import PROJECT_ROOT, LocalTemplate

#: Where `arrowhook dev` keeps its data (ARROWHOOK_SNAPSHOT_FILE: another place, e.g. one per test stack).
SNAPSHOT_FILE = Path(
    os.environ.get("ARROWHOOK_SNAPSHOT_FILE") or PROJECT_ROOT / ".arrowhook" / "state" / "snapshot.json"
)
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
        tables[name] = items
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
    snapshot = {"version": _VERSION, "tables": tables, "parameters": parameters, "objects": objects}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(snapshot))
    os.replace(partial, path)
    return {
        "items": sum(len(items) for items in tables.values()),
        "parameters": len(parameters),
        "objects": sum(len(keys) for keys in objects.values()),
    }


def restore(template: LocalTemplate, endpoint: str, path: Path = SNAPSHOT_FILE) -> dict[str, int] | None:
    """Load `path` into freshly provisioned tables, parameters and buckets; None when there is none (or
    it is of another format: then the stack starts clean and the next stop replaces it)."""
    try:
        snapshot = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if snapshot.get("version") != _VERSION:
        return None
    dynamodb = embedded_aws.client("dynamodb", endpoint)
    known = set(template.tables())
    restored_items = 0
    for name, items in snapshot["tables"].items():
        if name not in known:
            continue  # a table the template no longer has
        for start in range(0, len(items), 25):
            requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            while requests:
                answer = dynamodb.batch_write_item(RequestItems={name: requests})
                requests = answer.get("UnprocessedItems", {}).get(name, [])
        restored_items += len(items)
    ssm = embedded_aws.client("ssm", endpoint)
    for parameter in snapshot["parameters"]:
        ssm.put_parameter(Name=parameter["Name"], Value=parameter["Value"], Type=parameter["Type"], Overwrite=True)
    s3 = embedded_aws.client("s3", endpoint)
    restored_objects = 0
    for bucket, objects in snapshot["objects"].items():
        if bucket not in template.buckets():
            continue
        for key, body in objects.items():
            s3.put_object(Bucket=bucket, Key=key, Body=base64.b64decode(body))
            restored_objects += 1
    return {"items": restored_items, "parameters": len(snapshot["parameters"]), "objects": restored_objects}


def discard(path: Path = SNAPSHOT_FILE) -> None:
    path.unlink(missing_ok=True)
