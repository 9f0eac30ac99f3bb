"""`arrowhook restore table`: a table damaged or emptied by mistake, back to a point in time.

DynamoDB's point-in-time recovery restores into a *new* table. This command then copies back into the
stack's own table what it lost, and never overwrites what it holds now (a conditional put per item): the
stack keeps its table, with its stream, TTL, recovery, alarms and deletion protection, and every alert
received since the mistake stays. A copied alert is marked `restored_at`, so the stream's consumers do not
forward it again. Safe to interrupt and run again: the restored copy is reused, puts skip what is there.

What is not copied back, by table:
  alerts      alerts behind the archive's watermark (they are in S3: `arrowhook archive restore --day`),
              items whose TTL has passed (dedupe markers, tickets)
  keys        a strategy that still exists (so a rotated or revoked secret never comes back), and its
              name or secret records; live connections and tickets
  deliveries  records whose TTL has passed
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError

from arrowhook.alerts.archived import STATE_KEY
from arrowhook.archive.source import RESTORED_MARK
from arrowhook.core.models import iso
from arrowhook_tools.cli.common import AsJson, console, out
from arrowhook_tools.cli.render import shown
from arrowhook_tools.local.template import LocalTemplate

#: What `--table` names -> the template's logical id.
TABLES = {"alerts": "AlertsTable", "keys": "KeysTable", "deliveries": "DeliveriesTable"}
#: Never copied back: live connections and tickets (gone with their sockets), console sessions (one signed
#: out must stay so) and silent-strategy notices (the watch writes them again when still true).
_TRANSIENT_KEY_ITEMS = ("CONNECTION#", "TICKET#", "SESSION#", "SIGNAL#")


@dataclass
class TableRestoreReport:
    table: str
    restored_copy: str
    to: str
    in_copy: int = 0
    copied: int = 0
    already_present: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    copy_deleted: bool = False
    seconds: float = 0.0

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def copy_name(table: str, to: datetime) -> str:
    """The restored copy's name: the same for the same table and time, so a second run finds it."""
    return f"{table}-restore-{to.astimezone(UTC):%Y%m%dT%H%M%S}"


def _scan(client: Any, table: str) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        yield from page.get("Items", [])


def _expired(item: dict[str, Any], now: float) -> bool:
    for name in ("expires_at", "ttl"):
        value = item.get(name, {}).get("N")
        if value is not None and float(value) < now:
            return True
    return False


class TableRestore:
    """Point-in-time restore into a new table, verified, then the lost items copied back."""

    def __init__(self, dynamodb: Any, *, clock: Callable[[], float] = time.time, poll_seconds: float = 5.0) -> None:
        self._dynamodb = dynamodb
        self._clock = clock
        self._poll_seconds = poll_seconds

    def run(
        self,
        kind: str,
        table: str,
        to: datetime | None = None,
        *,
        from_backup: str | None = None,
        from_table: str | None = None,
        keep_copy: bool = False,
    ) -> TableRestoreReport:
        """Restore `table` to the time `to` (its point-in-time recovery), or from a backup's ARN (a deleted
        table's: AWS keeps one 35 days), or copy back from another table (a retained one after a stack
        was deleted, which is then never deleted here)."""
        started = time.monotonic()
        moment = (to or datetime.now(UTC)).astimezone(UTC)
        if from_table is not None:
            report = TableRestoreReport(table=table, restored_copy=from_table, to=f"the table {from_table}")
        else:
            name = copy_name(table, moment) if from_backup is None else f"{table}-restore-{from_backup[-12:]}"
            report = TableRestoreReport(table=table, restored_copy=name, to=from_backup or moment.isoformat())
            self._restored_copy(table, report.restored_copy, moment, from_backup)
        report.in_copy = self._count(report.restored_copy)
        now = self._clock()
        policy = self._policy(kind, table, report.restored_copy, now)
        restored_at = {RESTORED_MARK: {"S": iso(datetime.fromtimestamp(now, UTC))}}
        key_names = [entry["AttributeName"] for entry in self._describe(table)["KeySchema"]]
        for item in _scan(self._dynamodb, report.restored_copy):
            reason = policy(item)
            if reason:
                report.skip(reason)
                continue
            is_alert = kind == "alerts" and item.get("pk", {}).get("S", "").startswith("ALERT#")
            marked = {**item, **restored_at} if is_alert else item
            if self._put_if_absent(table, marked, key_names[0]):
                report.copied += 1
            else:
                report.already_present += 1
        if not keep_copy and from_table is None:
            self._dynamodb.delete_table(TableName=report.restored_copy)
            report.copy_deleted = True
        report.seconds = round(time.monotonic() - started, 2)
        return report

    # -- the steps -------------------------------------------------------------------------------------
    def _describe(self, table: str) -> dict[str, Any]:
        described: dict[str, Any] = self._dynamodb.describe_table(TableName=table)["Table"]
        return described

    def _restored_copy(self, table: str, name: str, to: datetime, from_backup: str | None) -> None:
        """PITR (or the backup) into `name`, unless an interrupted run made it already; then wait until it
        is ACTIVE."""
        try:
            self._describe(name)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            if from_backup is not None:
                self._dynamodb.restore_table_from_backup(TargetTableName=name, BackupArn=from_backup)
            else:
                self._dynamodb.restore_table_to_point_in_time(
                    SourceTableName=table, TargetTableName=name, RestoreDateTime=to
                )
        while self._describe(name)["TableStatus"] != "ACTIVE":  # minutes for a large table on AWS
            time.sleep(self._poll_seconds)

    def _count(self, table: str) -> int:
        pages = self._dynamodb.get_paginator("scan").paginate(TableName=table, Select="COUNT")
        return sum(page.get("Count", 0) for page in pages)

    def _put_if_absent(self, table: str, item: dict[str, Any], hash_key: str) -> bool:
        try:
            self._dynamodb.put_item(
                TableName=table,
                Item=item,
                ConditionExpression="attribute_not_exists(#key)",
                ExpressionAttributeNames={"#key": hash_key},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _policy(self, kind: str, table: str, restored: str, now: float) -> Callable[[dict[str, Any]], str | None]:
        """Why an item of the restored copy is not copied back (None: copy it, if the table lacks it)."""
        if kind == "alerts":
            watermark = self._watermark(table) or self._watermark(restored)

            def alerts(item: dict[str, Any]) -> str | None:
                if _expired(item, now):
                    return "expired"
                sort_key = item.get("sort_key", {}).get("S")
                if item["pk"]["S"].startswith("ALERT#") and sort_key and watermark and sort_key <= watermark:
                    return "archived (use `arrowhook archive restore --day`)"
                return None

            return alerts
        if kind == "keys":
            live_keys = {item["pk"]["S"] for item in _scan(self._dynamodb, table) if item["pk"]["S"].startswith("KEY#")}

            def keys(item: dict[str, Any]) -> str | None:
                pk = item["pk"]["S"]
                if pk.startswith(_TRANSIENT_KEY_ITEMS) or _expired(item, now):
                    return "transient"
                owner = item.get("key_id", {}).get("S")
                if pk in live_keys or (owner and f"KEY#{owner}" in live_keys):
                    return "strategy still exists"
                return None

            return keys
        return lambda item: "expired" if _expired(item, now) else None

    def _watermark(self, table: str) -> str | None:
        state = self._dynamodb.get_item(TableName=table, Key=STATE_KEY, ConsistentRead=True)
        value = state.get("Item", {}).get("watermark", {}).get("S")
        return str(value) if value else None


# -- the command ------------------------------------------------------------------------------------------
restore_app = typer.Typer(no_args_is_help=True, help="Disaster recovery: tables back to a point in time.")


def _table_name(kind: str, stack: str | None, region: str | None) -> tuple[str, Any]:
    import boto3

    if stack:
        client = boto3.client("cloudformation", region_name=region)
        resource = client.describe_stack_resource(StackName=stack, LogicalResourceId=TABLES[kind])
        return resource["StackResourceDetail"]["PhysicalResourceId"], boto3.client("dynamodb", region_name=region)
    from arrowhook_tools.local.stack import read_state
    from arrowhook_tools.standins.embedded_aws import dynamodb

    state = read_state()
    if state is None:
        console.print("[red]no `make dev` running[/]: start it, or pass --stack NAME for a deployed stack")
        raise typer.Exit(1)
    template = LocalTemplate(parameter_overrides=state.get("parameter_overrides"))
    return template.physical_name(TABLES[kind]), dynamodb(state["aws_endpoint"])


@restore_app.command("table")
def restore_table(
    table: Annotated[str, typer.Option(help="Which table: alerts, keys or deliveries.")],
    to: Annotated[datetime | None, typer.Option(help="The time to restore to (ISO 8601; UTC unless it says).")] = None,
    from_backup: Annotated[
        str | None, typer.Option(help="Instead of --to: a backup's ARN (a deleted table's system backup).")
    ] = None,
    from_table: Annotated[
        str | None, typer.Option(help="Instead of --to: copy back from this table (a retained one).")
    ] = None,
    stack: Annotated[str | None, typer.Option(help="Deployed stack name; default: the running `make dev`.")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region of --stack.")] = None,
    keep_copy: Annotated[bool, typer.Option("--keep-copy", help="Keep the restored copy (it is billed).")] = False,
    as_json: AsJson = False,
) -> None:
    """Restore a table to a point in time (or from a backup, or from a retained table): into a new table,
    counted, then what the stack's table lost copied back (nothing it holds is overwritten; restored alerts
    are not forwarded again)."""
    if table not in TABLES:
        console.print(f"[red]--table must be one of {', '.join(TABLES)}[/]")
        raise typer.Exit(2)
    if sum(source is not None for source in (to, from_backup, from_table)) != 1:
        console.print("[red]give one of --to, --from-backup or --from-table[/]")
        raise typer.Exit(2)
    moment = None if to is None else to if to.tzinfo else to.replace(tzinfo=UTC)
    name, client = _table_name(table, stack, region)
    try:
        report = TableRestore(client).run(
            table, name, moment, from_backup=from_backup, from_table=from_table, keep_copy=keep_copy
        )
    except ClientError as error:
        console.print(f"[red]the restore failed:[/] {shown(error.response['Error'].get('Message', error))}")
        console.print("nothing was overwritten: run it again, it reuses the restored copy and copies what is missing")
        raise typer.Exit(1) from None
    if as_json:
        import dataclasses
        import json

        print(json.dumps(dataclasses.asdict(report), indent=2))
        return
    out.print(
        f"restored {shown(name)} as of {shown(report.to)} into {shown(report.restored_copy)}: {report.in_copy} items"
    )
    out.print(
        f"copied back {report.copied} items it had lost; {report.already_present} were there already (left as they are)"
    )
    for reason, count in sorted(report.skipped.items()):
        out.print(f"  not copied, {shown(reason)}: {count}")
    out.print(
        f"the copy was {'deleted' if report.copy_deleted else 'kept'}; took {report.seconds:.1f} s",
        soft_wrap=True,
    )


@restore_app.command("drill")
def restore_drill(
    archived: Annotated[int, typer.Option(min=1, help="Alerts sent, then archived.")] = 100,
    recent: Annotated[int, typer.Option(min=1, help="Alerts sent after the archive run.")] = 100,
) -> None:
    """Both restores end to end on a local stack of its own (`make restore-drill`): alerts in, the older
    ones archived, the table emptied by a mistake, then the table restored to the moment before it and the
    archived day restored from S3. Prints what came back and how long each took; exit 1 if anything is missing."""
    from arrowhook_tools.cli.drill import run_drill

    report = run_drill(archived, recent)
    out.print(f"sent {report.sent} alerts; archived {report.archived}; {report.in_table_before} in the table")
    out.print(f"the mistake: every alert deleted ({report.in_table_after_mistake} left)")
    out.print(
        f"point-in-time restore of the alerts table: {report.table_restored} alerts copied back "
        f"in {report.table_restore_seconds:.2f} s"
    )
    out.print(
        f"archive restore of today: {report.archive_restored} alerts put back in {report.archive_restore_seconds:.2f} s"
    )
    out.print(f"in the table now: {report.in_table_at_end} of {report.sent}: {'PASSED' if report.passed else 'FAILED'}")
    if not report.passed:
        raise typer.Exit(1)
