"""Write what a release stores, as it stores it: run from a checkout of that release (`make compat-snapshot`)
to make the fixture the compatibility suite loads (tests/compat/test_previous_release.py).

Every item type the release writes, made the way users make them (over HTTP, through the functions): strategy
keys (current, rotated with an old secret in grace, disabled, with declared signal expectations), the name
guards and secret records, destinations and their SSM secrets, alerts of every body (a strategy order, an
indicator's text, malformed JSON, a test alert, a repeated delivery, a body large enough to be compressed),
their delivery records, dedupe markers, the archive's state, and one archived object. Tables are dumped
as DynamoDB JSON (binary values in base64), objects in base64.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from arrowhook_tools.cli.samples import strategy_alert
from arrowhook_tools.local.stack import local_stack
from arrowhook_tools.standins.embedded_aws import dynamodb, s3, ssm

STACK_NAME = "arrowhook-compat-snapshot"
#: Where the snapshot's webhook destination points: discard (nothing listens); the suite repoints it.
UNREACHED_HOOK = "http://127.0.0.1:9/compat-hook"
TABLES = ("AlertsTable", "KeysTable", "DeliveriesTable")


def _wire(item: dict[str, Any]) -> dict[str, Any]:
    """boto3's item (binary values as bytes) as the wire's DynamoDB JSON (binary values in base64)."""

    def value(typed: dict[str, Any]) -> dict[str, Any]:
        (kind, raw), *_ = typed.items()
        if kind == "B":
            return {"B": base64.b64encode(raw).decode()}
        if kind == "L":
            return {"L": [value(entry) for entry in raw]}
        if kind == "M":
            return {"M": {name: value(entry) for name, entry in raw.items()}}
        return typed

    return {name: value(typed) for name, typed in item.items()}


def _send(
    api: str, body: str | bytes, content_type: str = "application/json", path: str = "/webhook"
) -> dict[str, Any]:
    answer = httpx.post(f"{api}{path}", content=body, headers={"Content-Type": content_type}, timeout=30)
    answer.raise_for_status()
    return dict(answer.json())


def main(out: Path) -> None:
    overrides = {"AllowHttpDestinations": "true", "KeyCacheTtlSeconds": "0"}
    with local_stack(
        api_port=0, aws_port=0, parameter_overrides=overrides, pool_size=1, stack_name=STACK_NAME
    ) as stack:
        assert stack.api is not None  # nosec B101
        api = stack.api.url
        admin = httpx.Client(base_url=api, headers={"Authorization": f"Bearer {stack.admin_token}"}, timeout=30)
        secrets: dict[str, str] = {}
        for name in ("compat-ema", "compat-rotated", "compat-disabled"):
            created = admin.post("/keys", json={"name": name, "description": f"{name} (compat snapshot)"}).json()
            secrets[name] = created["secret"]
        keys = {key["name"]: key for key in admin.get("/keys").json()["items"]}
        signals = {"max_lag_seconds": 60, "expect_every_minutes": 60}
        admin.patch(f"/keys/{keys['compat-ema']['id']}", json={"signals": signals}).raise_for_status()
        rotated = admin.post(f"/keys/{keys['compat-rotated']['id']}/rotate", json={"grace_seconds": 30 * 86_400}).json()
        secrets["compat-rotated (old, in grace)"] = secrets["compat-rotated"]
        secrets["compat-rotated"] = rotated["secret"]
        admin.patch(f"/keys/{keys['compat-disabled']['id']}", json={"enabled": False}).raise_for_status()
        hook = admin.post(
            "/destinations",
            json={"kind": "webhook", "name": "compat-hook", "strategies": ["compat-ema"], "url": UNREACHED_HOOK},
        ).json()
        admin.post(
            "/destinations",
            json={
                "kind": "telegram",
                "name": "compat-telegram",
                "strategies": [],
                "template": "{strategy} {side}",
                "bot_token": "123456:CompatSnapshotTokenAAAAAAAAAAAAAAAA",
                "chat_id": "-100123",
                "enabled": False,
            },
        ).raise_for_status()

        archived = [
            _send(api, strategy_alert(secrets["compat-ema"], nonce=uuid.uuid4().hex, order_id=f"archived-{n}"))
            for n in range(3)
        ]
        time.sleep(1.2)
        report = stack.functions.invoke("ArchiveFunction", {"trigger": "snapshot", "older_than_seconds": 1})
        assert report["archived"] == 3, report  # nosec B101

        order = strategy_alert(
            secrets["compat-ema"],
            action="buy",
            contracts="2",
            price="100.5",
            position_size="2",
            market_position="long",
            market_position_size="2",
            prev_market_position="flat",
            order_id="Long",
        )
        alerts = {
            "strategy order": _send(api, order),
            "repeated delivery": _send(api, order),
            "closing order": _send(
                api,
                strategy_alert(
                    secrets["compat-ema"],
                    action="sell",
                    contracts="2",
                    price="101",
                    position_size="0",
                    market_position="flat",
                    market_position_size="0",
                    prev_market_position="long",
                    order_id="Close",
                ),
            ),
            "indicator text": _send(
                api, "BTCUSDT crossed 65000", "text/plain", f"/webhook/{secrets['compat-rotated']}"
            ),
            "old secret in grace": _send(
                api, strategy_alert(secrets["compat-rotated (old, in grace)"], ticker="ETHUSDT")
            ),
            "malformed json": _send(api, '{"key": "' + secrets["compat-ema"] + '", "ticker": "BTC", "price": 1,,}'),
            "test alert": _send(api, strategy_alert(secrets["compat-ema"], test=True, order_id="test")),
            "large body": _send(api, strategy_alert(secrets["compat-ema"], comment="x" * 40_000, order_id="large")),
            "custom fields": _send(
                api, strategy_alert(secrets["compat-ema"], order_id="extra", leverage="3", note="é")
            ),
        }
        for answer in alerts.values():  # each one's delivery attempts recorded (the destination is unreachable)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not admin.get(f"/alerts/{answer['alert_id']}").json()["deliveries"]:
                time.sleep(0.2)

        aws = stack.aws.endpoint
        tables = {
            logical_id: [
                _wire(item)
                for page in dynamodb(aws)
                .get_paginator("scan")
                .paginate(TableName=stack.template.physical_name(logical_id))
                for item in page["Items"]
                if not item["pk" if "pk" in item else "alert_id"].get("S", "").startswith(("CONNECTION#", "TICKET#"))
            ]
            for logical_id in TABLES
        }
        bucket = stack.template.physical_name("ArchiveBucket")
        objects = {
            entry["Key"]: base64.b64encode(s3(aws).get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()).decode()
            for entry in s3(aws).list_objects_v2(Bucket=bucket, Prefix="alerts/").get("Contents", [])
        }
        prefix = f"/arrowhook/{STACK_NAME}/destinations/"
        parameters = {
            parameter["Name"].removeprefix(prefix): ssm(aws).get_parameter(Name=parameter["Name"], WithDecryption=True)[
                "Parameter"
            ]["Value"]
            for parameter in ssm(aws).get_parameters_by_path(Path=prefix)["Parameters"]
        }
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)  # nosec B603 B607
    snapshot = {
        "release": {"version": "0.1.0", "commit": commit.stdout.strip()},
        "secrets": secrets,
        "keys": {name: key["id"] for name, key in keys.items()},
        "webhook_destination": hook["id"],
        "alerts": {what: answer["alert_id"] for what, answer in alerts.items()},
        "archived_alerts": [answer["alert_id"] for answer in archived],
        "tables": tables,
        "objects": objects,
        "destination_secrets": parameters,
    }
    out.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out}: {sum(map(len, tables.values()))} items, {len(objects)} archived object(s)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
