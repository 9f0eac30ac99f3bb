"""Restores on the local stack: archived days back into the table, and tables back to a point in time;
each alert once, never forwarded again, never archived twice, and a restore interrupted half-way finishes
on the next run."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from arrowhook_tools.cli.drill import run_drill
from arrowhook_tools.cli.restore import TableRestore
from arrowhook_tools.local.stack import LocalStack
from arrowhook_tools.standins.embedded_aws import dynamodb, s3
from arrowhook_tools.standins.receivers import Receivers
from tests.integration.conftest import ARRIVAL_SECONDS, Strategy, in_process_stack, settled

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def running(receivers: Receivers) -> Iterator[LocalStack]:
    with in_process_stack({"AllowHttpDestinations": "true"}) as stack:
        yield stack


def _archive_all(stack: LocalStack) -> dict[str, Any]:
    time.sleep(1.1)  # older than a second: everything sent so far
    report: dict[str, Any] = stack.functions.invoke("ArchiveFunction", {"trigger": "test", "older_than_seconds": 1})
    assert report["status"] == "complete", report
    return report


def _restore_today(stack: LocalStack) -> dict[str, Any]:
    day = datetime.now(UTC).date().isoformat()
    return dict(stack.functions.invoke("ArchiveFunction", {"trigger": "test", "restore_day": day, "keep_days": 7}))


def _objects(stack: LocalStack) -> list[str]:
    bucket = stack.template.physical_name("ArchiveBucket")
    listed = s3(stack.aws.endpoint).list_objects_v2(Bucket=bucket, Prefix="alerts/")
    return sorted(entry["Key"] for entry in listed.get("Contents", []))


def test_an_archived_day_comes_back_once_unforwarded_and_is_never_archived_again(
    stack: LocalStack, admin: httpx.Client, receivers: Receivers
) -> None:
    strategy = Strategy(admin, receivers)
    strategy.destination("webhook")
    sent = [strategy.send(stack, order_id=f"restore-{number}") for number in range(3)]
    records = {alert_id: strategy.deliveries(alert_id, settled(1)) for alert_id in sent}
    assert [found[0]["status"] for found in records.values()] == ["delivered"] * 3
    shown = {alert_id: admin.get(f"/alerts/{alert_id}").json() for alert_id in sent}
    _archive_all(stack)
    objects = _objects(stack)
    assert all(admin.get(f"/alerts/{alert_id}").status_code == 404 for alert_id in sent)

    # The day restored is older than its delivery records (they expire): nothing else stops a resend.
    deliveries = dynamodb(stack.aws.endpoint)
    table = stack.template.physical_name("DeliveriesTable")
    for alert_id, found in records.items():
        for record in found:
            key = {"alert_id": {"S": alert_id}, "destination_id": {"S": record["destination_id"]}}
            deliveries.delete_item(TableName=table, Key=key)

    first = _restore_today(stack)
    assert first["status"] == "restored"
    assert first["restored"] >= 3
    assert first["objects"] == [key for key in objects if f"day={datetime.now(UTC):%d}/" in key]
    for alert_id in sent:
        back = admin.get(f"/alerts/{alert_id}").json()
        for name in ("strategy", "ticker", "side", "price", "order_id", "received_at", "payload"):
            assert back[name] == shown[alert_id][name], name

    # The stream keeps order: once a later alert is forwarded, anything the restore caused came before it.
    fence = strategy.send(stack, order_id="after-the-restore")
    forwarded = receivers.wait_for(strategy.path("webhook"), count=4, timeout=ARRIVAL_SECONDS)
    assert [item.json()["data"]["alert_id"] for item in forwarded] == [*sent, fence]

    again = _restore_today(stack)
    assert (again["restored"], again["already_present"]) == (0, first["restored"] + first["already_present"])

    second_run = _archive_all(stack)  # archives the fence; the restored alerts are in their objects already
    assert second_run["archived"] == 1
    assert len(_objects(stack)) == len(objects) + 1
    assert all(admin.get(f"/alerts/{alert_id}").status_code == 200 for alert_id in sent)


def test_a_restore_interrupted_half_way_puts_back_the_rest_on_the_next_run(
    stack: LocalStack, admin: httpx.Client, receivers: Receivers
) -> None:
    strategy = Strategy(admin, receivers)
    sent = [strategy.send(stack, order_id=f"interrupted-{number}") for number in range(4)]
    _archive_all(stack)
    before = {alert_id: admin.get(f"/alerts/{alert_id}").status_code for alert_id in sent}
    assert set(before.values()) == {404}

    stack.aws.inject("PutItem", error="InternalServerError", status=500, times=-1, matching=f"ALERT#{sent[2]}")
    with pytest.raises(Exception, match="DynamoDB request failed"):
        _restore_today(stack)
    stack.aws.clear_faults()
    partly = {alert_id: admin.get(f"/alerts/{alert_id}").status_code for alert_id in sent}
    assert partly[sent[0]] == partly[sent[1]] == 200, "what was put before the failure stays"
    assert partly[sent[2]] == 404

    finished = _restore_today(stack)
    assert finished["already_present"] >= 2
    assert all(admin.get(f"/alerts/{alert_id}").status_code == 200 for alert_id in sent)
    listed = admin.get("/alerts", params={"strategy": strategy.name, "since": "1d", "limit": 50}).json()["items"]
    assert sorted(item["alert_id"] for item in listed) == sorted(sent), "each alert once"


def test_tables_emptied_by_mistake_come_back_to_a_point_in_time_even_when_interrupted(
    stack: LocalStack, admin: httpx.Client, receivers: Receivers
) -> None:
    lost, kept = Strategy(admin, receivers), Strategy(admin, receivers)
    lost.destination("webhook")
    sent = [lost.send(stack, order_id=f"pitr-{number}") for number in range(3)]
    records = {alert_id: lost.deliveries(alert_id, settled(1)) for alert_id in sent}
    client = dynamodb(stack.aws.endpoint)
    keys_table = stack.template.physical_name("KeysTable")
    session = {"pk": {"S": f"SESSION#{lost.tag}"}, "ttl": {"N": str(int(time.time()) + 3600)}}
    client.put_item(TableName=keys_table, Item=session)  # a console session, signed out after the point
    time.sleep(0.05)
    before_the_mistake = datetime.now(UTC)
    time.sleep(0.05)
    newer = kept.send(stack, order_id="after-the-point")

    # The mistake: the strategy deleted, its alerts deleted by hand; and their delivery records expired.
    client.delete_item(TableName=keys_table, Key={"pk": session["pk"]})
    alerts_table = stack.template.physical_name("AlertsTable")
    for alert_id in sent:
        client.delete_item(TableName=alerts_table, Key={"pk": {"S": f"ALERT#{alert_id}"}})
    assert admin.delete(f"/strategies/{lost.name}").status_code == 204
    for alert_id, found in records.items():
        for record in found:
            key = {"alert_id": {"S": alert_id}, "destination_id": {"S": record["destination_id"]}}
            client.delete_item(TableName=stack.template.physical_name("DeliveriesTable"), Key=key)

    restore = TableRestore(client, poll_seconds=0.1)
    stack.aws.inject("PutItem", error="InternalServerError", status=500, times=-1, matching=f"ALERT#{sent[1]}")
    with pytest.raises(ClientError):
        restore.run("alerts", alerts_table, before_the_mistake)
    stack.aws.clear_faults()
    alerts = restore.run("alerts", alerts_table, before_the_mistake)
    keys = restore.run("keys", keys_table, before_the_mistake)

    assert alerts.copied >= 2 and alerts.already_present >= 1, alerts
    assert alerts.copy_deleted and keys.copy_deleted
    assert alerts.restored_copy not in client.list_tables()["TableNames"]
    assert keys.copied == 3, "the strategy, its name and its secret"
    assert keys.skipped["strategy still exists"] >= 3, "the others are never touched"
    assert "Item" not in client.get_item(TableName=keys_table, Key={"pk": session["pk"]}), "signed out stays so"
    assert all(admin.get(f"/alerts/{alert_id}").status_code == 200 for alert_id in sent)
    assert admin.get(f"/alerts/{newer}").status_code == 200, "what arrived after the point stays"
    assert admin.get(f"/strategies/{lost.name}").status_code == 200
    fence = lost.send(stack, order_id="after-the-restore")  # its secret authenticates again
    forwarded = receivers.wait_for(lost.path("webhook"), count=4, timeout=ARRIVAL_SECONDS)
    assert [item.json()["data"]["alert_id"] for item in forwarded] == [*sent, fence], "restored, not re-sent"


def test_the_restore_drill_brings_back_every_alert() -> None:
    report = run_drill(archived_alerts=6, recent_alerts=4)
    assert (report.archived, report.in_table_before, report.in_table_after_mistake) == (6, 4, 0)
    assert (report.table_restored, report.archive_restored, report.in_table_at_end) == (4, 6, 10)
    assert report.passed


def test_a_deleted_strategy_comes_back_from_a_backup_or_a_retained_table(
    stack: LocalStack, admin: httpx.Client, receivers: Receivers
) -> None:
    """A deleted table's system backup (AWS keeps one), or a table a deleted stack retained: the source of
    the copy-back instead of a point in time."""
    client = dynamodb(stack.aws.endpoint)
    keys_table = stack.template.physical_name("KeysTable")
    first, second = Strategy(admin, receivers), Strategy(admin, receivers)
    backup = client.create_backup(TableName=keys_table, BackupName="before-the-mistake")["BackupDetails"]["BackupArn"]
    retained = f"{keys_table}-retained"
    client.restore_table_from_backup(TargetTableName=retained, BackupArn=backup)  # as a retained table would be
    assert admin.delete(f"/strategies/{first.name}").status_code == 204
    assert admin.delete(f"/strategies/{second.name}").status_code == 204

    from_backup = TableRestore(client, poll_seconds=0.1).run("keys", keys_table, from_backup=backup)
    assert from_backup.copied == 6, "both strategies, their names and secrets"
    assert from_backup.copy_deleted
    assert admin.get(f"/strategies/{first.name}").status_code == 200

    assert admin.delete(f"/strategies/{second.name}").status_code == 204
    from_retained = TableRestore(client, poll_seconds=0.1).run("keys", keys_table, from_table=retained)
    assert from_retained.copied == 3 and not from_retained.copy_deleted, "a retained table is never deleted here"
    assert retained in client.list_tables()["TableNames"]
    assert admin.get(f"/strategies/{second.name}").status_code == 200
    client.delete_table(TableName=retained)
