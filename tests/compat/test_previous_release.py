"""Upgrades read old data: what the previous release stored (tests/compat/release-0.1.0.json, written by
tests/compat/snapshot_release.py from that release's checkout) is loaded into this release's local stack,
which must read it, list it, forward for it, archive it, and read the old release's archived object.

The snapshot's secrets belong to a throwaway local stack: they open nothing anywhere else.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from arrowhook.archive.objects import read_archive
from arrowhook_tools.cli.samples import strategy_alert
from arrowhook_tools.local.stack import LocalStack, local_stack
from arrowhook_tools.local.template import LocalTemplate
from arrowhook_tools.standins.embedded_aws import s3
from arrowhook_tools.standins.receivers import Receivers
from tests.integration.conftest import ARRIVAL_SECONDS, UNTHROTTLED, using

pytestmark = pytest.mark.integration
SNAPSHOT = json.loads((Path(__file__).with_name("release-0.1.0.json")).read_text(encoding="utf-8"))
STACK_NAME = "arrowhook-compat"


@pytest.fixture(scope="module")
def receivers() -> Iterator[Receivers]:
    fakes = Receivers().start()
    yield fakes
    fakes.stop()


@pytest.fixture(scope="module")
def upgraded(receivers: Receivers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """This release's stack started on exactly what the previous one stored, the way an upgrade finds it:
    in its tables already (loaded before the stream consumers start, so nothing is replayed), its webhook
    destination repointed at the local receiver (an operator's `destinations update --url`)."""
    template = LocalTemplate(stack_name=STACK_NAME)
    parameters = []
    for destination_id, value in SNAPSHOT["destination_secrets"].items():
        secret = json.loads(value)
        if "url" in secret:
            secret["url"] = f"{receivers.url}/compat-hook"
        name = f"/arrowhook/{STACK_NAME}/destinations/{destination_id}"
        parameters.append({"Name": name, "Type": "SecureString", "Value": json.dumps(secret)})
    saved = {
        "version": 1,
        "tables": {template.physical_name(logical_id): items for logical_id, items in SNAPSHOT["tables"].items()},
        "parameters": parameters,
        "objects": {template.physical_name("ArchiveBucket"): SNAPSHOT["objects"]},
        "queues": {},
    }
    path = tmp_path_factory.mktemp("compat") / "snapshot.json"
    path.write_text(json.dumps(saved))
    overrides = {**UNTHROTTLED, "AllowHttpDestinations": "true"}
    with local_stack(
        api_port=0, aws_port=0, parameter_overrides=overrides, pool_size=1, stack_name=STACK_NAME, snapshot=path
    ) as stack:
        yield stack


@pytest.fixture
def admin(upgraded: LocalStack) -> Iterator[httpx.Client]:
    assert upgraded.api is not None
    headers = {"Authorization": f"Bearer {upgraded.admin_token}"}
    with using(upgraded), httpx.Client(base_url=upgraded.api.url, headers=headers, timeout=30) as client:
        yield client


def test_every_old_alert_reads_and_lists_as_it_was_stored(admin: httpx.Client) -> None:
    alerts = SNAPSHOT["alerts"]
    shown = {what: admin.get(f"/alerts/{alert_id}").json() for what, alert_id in alerts.items()}
    assert shown["strategy order"]["side"] == "buy" and shown["strategy order"]["price"] == "100.5"
    assert shown["strategy order"]["fill"] == "open long", json.dumps(shown["strategy order"])
    assert len(shown["repeated delivery"]["duplicates"]) == 1
    assert shown["closing order"]["fill"] == "close long"
    assert shown["indicator text"]["body_format"] == "text"
    assert shown["malformed json"]["parse_issues"]
    assert shown["test alert"]["extra"] == {"test": True} and shown["test alert"]["fill"] is None
    assert len(shown["large body"]["payload"]) > 40_000, "the compressed payload reads back whole"
    assert shown["custom fields"]["extra"] == {"leverage": "3", "note": "é"}
    forwarded = [alert for alert in shown.values() if alert["strategy"] == "compat-ema"]
    assert forwarded and all(alert["deliveries"][0]["destination_name"] == "compat-hook" for alert in forwarded), (
        "each alert's delivery records (the snapshot caught them mid-retry: its destination was unreachable)"
    )
    listed = admin.get("/alerts", params={"strategy": "compat-ema", "since": "3650d", "limit": 100}).json()["items"]
    assert {item["alert_id"] for item in listed} >= {alerts["strategy order"], alerts["large body"]}
    ledger = admin.get("/strategies/compat-ema/ledger", params={"since": "3650d"}).json()
    assert [trade["profit"] for trade in ledger["trades"]] == ["1.0"], "bought 2 at 100.5, sold at 101"


def test_old_strategies_and_destinations_list_and_their_secrets_authenticate(
    upgraded: LocalStack, admin: httpx.Client
) -> None:
    keys = {key["name"]: key for key in admin.get("/keys").json()["items"]}
    assert keys["compat-ema"]["signals"]["max_lag_seconds"] == 60
    assert keys["compat-disabled"]["status"] == "disabled"
    destinations = {item["name"]: item for item in admin.get("/destinations").json()["items"]}
    assert destinations["compat-telegram"]["enabled"] is False
    assert destinations["compat-hook"]["strategies"] == [SNAPSHOT["keys"]["compat-ema"]]
    assert upgraded.api is not None
    webhook = f"{upgraded.api.url}/webhook"
    secrets = SNAPSHOT["secrets"]
    for name in ("compat-ema", "compat-rotated", "compat-rotated (old, in grace)"):
        assert httpx.post(webhook, content=strategy_alert(secrets[name]), timeout=30).status_code == 200, name
    assert httpx.post(webhook, content=strategy_alert(secrets["compat-disabled"]), timeout=30).status_code == 401


def test_an_old_destination_forwards_a_new_alert_signed_with_its_old_secret(
    upgraded: LocalStack, admin: httpx.Client, receivers: Receivers
) -> None:
    assert upgraded.api is not None
    body = strategy_alert(SNAPSHOT["secrets"]["compat-ema"], order_id="after-the-upgrade")
    alert_id = httpx.post(f"{upgraded.api.url}/webhook", content=body, timeout=30).json()["alert_id"]
    deadline = time.monotonic() + ARRIVAL_SECONDS
    while time.monotonic() < deadline:
        mine = [item for item in receivers.at("/compat-hook") if item.json()["data"]["alert_id"] == alert_id]
        if mine:
            break
        time.sleep(0.2)
    (received,) = mine
    signing = json.loads(SNAPSHOT["destination_secrets"][SNAPSHOT["webhook_destination"]])["signing_secret"]
    event = Webhook(signing).verify(received.body, received.headers)
    assert event["data"]["alert_id"] == alert_id


def test_old_alerts_archive_beside_the_old_object_and_the_old_object_restores(
    upgraded: LocalStack, admin: httpx.Client
) -> None:
    bucket = upgraded.template.physical_name("ArchiveBucket")
    (old_key,) = SNAPSHOT["objects"]
    old_lines = read_archive(base64.b64decode(SNAPSHOT["objects"][old_key]))
    assert [line.alert_id for line in old_lines] == SNAPSHOT["archived_alerts"]

    time.sleep(1.1)
    with using(upgraded):
        report = upgraded.functions.invoke("ArchiveFunction", {"trigger": "compat", "older_than_seconds": 1})
    assert report["status"] == "complete" and report["archived"] >= len(SNAPSHOT["alerts"]) - 1
    client = s3(upgraded.aws.endpoint)
    keys = [entry["Key"] for entry in client.list_objects_v2(Bucket=bucket, Prefix="alerts/")["Contents"]]
    assert old_key in keys and len(keys) >= 2
    archived_ids: list[str] = []
    for key in keys:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        archived_ids.extend(json.loads(line)["alert_id"] for line in gzip.decompress(body).splitlines())
    assert len(archived_ids) == len(set(archived_ids)), "no alert in two objects"
    assert set(SNAPSHOT["alerts"].values()) <= set(archived_ids)

    year, month, day = re.findall(r"(?:year|month|day)=(\d+)", old_key)
    restore_day = f"{year}-{month}-{day}"
    with using(upgraded):
        restored = upgraded.functions.invoke("ArchiveFunction", {"trigger": "compat", "restore_day": restore_day})
    assert restored["restored"] >= len(SNAPSHOT["archived_alerts"])
    back = admin.get(f"/alerts/{SNAPSHOT['archived_alerts'][0]}").json()
    assert back["order_id"] == "archived-0"


def test_old_items_are_format_1_and_this_release_writes_its_format(upgraded: LocalStack, admin: httpx.Client) -> None:
    from arrowhook.core.formats import ITEM_FORMAT, format_of
    from arrowhook_tools.standins.embedded_aws import dynamodb

    old = [item for items in SNAPSHOT["tables"].values() for item in items]
    assert all("item_format" not in item and format_of(item) == 1 for item in old), "0.1.0 wrote none"
    assert upgraded.api is not None
    body = strategy_alert(SNAPSHOT["secrets"]["compat-ema"], order_id="format-check")
    alert_id = httpx.post(f"{upgraded.api.url}/webhook", content=body, timeout=30).json()["alert_id"]
    table = upgraded.template.physical_name("AlertsTable")
    item = dynamodb(upgraded.aws.endpoint).get_item(TableName=table, Key={"pk": {"S": f"ALERT#{alert_id}"}})["Item"]
    assert format_of(item) == ITEM_FORMAT == 1 and "item_format" not in item, "alerts: format 1 by its absence"
    keys_table = upgraded.template.physical_name("KeysTable")
    key_id = SNAPSHOT["keys"]["compat-ema"]
    assert admin.patch(f"/keys/{key_id}", json={"description": "upgraded"}).status_code == 200
    key_item = dynamodb(upgraded.aws.endpoint).get_item(TableName=keys_table, Key={"pk": {"S": f"KEY#{key_id}"}})
    assert key_item["Item"]["item_format"] == {"N": str(ITEM_FORMAT)}, "a key rewritten by this release says it"
