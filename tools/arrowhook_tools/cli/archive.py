"""`arrowhook archive run` and `restore`: the archive, locally or on a deployed stack."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from arrowhook_tools.cli.common import (
    AsJson,
    console,
    duration_seconds,
    out,
)
from arrowhook_tools.cli.invoke import FunctionError, invoke_function
from arrowhook_tools.cli.render import shown

archive_app = typer.Typer(no_args_is_help=True, help="Move old alerts to the S3 archive.")


def _invoke(
    event: dict[str, Any], stack: str | None, region: str | None, as_json: bool, *, failed: str, advice: str
) -> dict[str, Any] | None:
    """Run the archive function (local or deployed) with `event`; None when its answer was printed as JSON."""
    try:
        result = invoke_function("ArchiveFunction", event, stack=stack, region=region, read_timeout=910)
    except FunctionError as error:
        console.print(f"[red]{failed}:[/] {shown(error.message)}")
        console.print(advice)
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(result, indent=2))
        return None
    if result.get("status") == "rejected":
        console.print(f"[red]rejected:[/] {shown('; '.join(result.get('errors', [])))}")
        raise typer.Exit(2)
    return result


@archive_app.command("run")
def archive_run(
    older_than: Annotated[
        str | None, typer.Option(help="Archive alerts older than this (90d, 12h, 30m, 1s); default: the retention.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would be archived.")] = False,
    stack: Annotated[str | None, typer.Option(help="Deployed stack name; default: the running `make dev`.")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region of --stack.")] = None,
    as_json: AsJson = False,
) -> None:
    """Archive old alerts now, as the daily schedule does, and say how many went where."""
    event: dict[str, Any] = {"trigger": "cli", "dry_run": dry_run}
    if older_than is not None:
        event["older_than_seconds"] = duration_seconds(older_than)
    result = _invoke(
        event,
        stack,
        region,
        as_json,
        failed="the archive run failed",
        advice="nothing is lost: run it again (or let the schedule), the next run resumes from the journal",
    )
    if result is None:
        return
    status = result.get("status")
    bucket = result.get("bucket", "?")
    if status == "dry_run":
        out.print(f"would archive {result['would_archive']} alerts received before {result['cutoff']}")
        return
    if status == "busy":
        out.print(f"[yellow]{shown(result['message'])}[/]")
        return
    objects = len(result["objects"])
    out.print(
        f"archived {result['archived']} alerts received before {result['cutoff']} "
        f"into {objects} object{'' if objects == 1 else 's'} in s3://{bucket}/alerts/",
        soft_wrap=True,
    )
    if result.get("resumed"):
        out.print(f"finished {result['resumed']} alerts an interrupted run had left")
    for key in result["objects"]:
        out.print(f"  s3://{shown(bucket)}/{shown(key)}", soft_wrap=True)
    if status == "incomplete":
        out.print(f"[yellow]{shown(result['message'])}[/]")


@archive_app.command("restore")
def archive_restore(
    day: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="The archived day (UTC), YYYY-MM-DD.")],
    keep_days: Annotated[int, typer.Option(min=1, max=3650, help="How long the alerts stay in the table.")] = 30,
    stack: Annotated[str | None, typer.Option(help="Deployed stack name; default: the running `make dev`.")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region of --stack.")] = None,
    as_json: AsJson = False,
) -> None:
    """Bring an archived day back into the alerts table (to see it in the console, the ledger, the
    reconciliation). Safe to run twice: an alert already in the table is left as it is; nothing restored is
    forwarded again; the restored alerts expire from the table after --keep-days (S3 keeps them)."""
    event = {"trigger": "cli", "restore_day": day.date().isoformat(), "keep_days": keep_days}
    result = _invoke(
        event,
        stack,
        region,
        as_json,
        failed="the restore failed",
        advice="nothing was overwritten: run it again, it puts back only what is still missing",
    )
    if result is None:
        return
    objects = len(result["objects"])
    if not objects:
        out.print(f"nothing archived on {result['day']} in s3://{shown(result['bucket'])}/alerts/")
        return
    expires = datetime.fromtimestamp(result["expires_at"], UTC).strftime("%Y-%m-%d")
    out.print(
        f"restored {result['restored']} alerts of {result['day']} from {objects} object{'' if objects == 1 else 's'}"
        f" ({result['already_present']} already in the table, left as they were); they leave the table on {expires}",
        soft_wrap=True,
    )
