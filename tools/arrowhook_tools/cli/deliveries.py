"""`arrowhook deliveries ...`: what did not reach its destination, and sending it again (a redrive)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from arrowhook_tools.cli.common import ApiUrl, AsJson, Since, Token, Until, api_client, call, console, out
from arrowhook_tools.cli.render import shown

deliveries_app = typer.Typer(
    no_args_is_help=True, help="Failed and held deliveries, and sending them again in their lanes."
)
Destination = Annotated[str | None, typer.Option("--destination", "-d", help="One destination's id.")]
StrategyFilter = Annotated[
    str | None, typer.Option("--strategy", "-s", help="The destinations of this strategy (name or key id).")
]


def _narrowing(destination: str | None, strategy: str | None, since: str | None, until: str | None) -> dict[str, Any]:
    given = {"destination_id": destination, "strategy": strategy, "since": since, "until": until}
    return {name: value for name, value in given.items() if value}


def show_records(records: list[dict[str, Any]], title: str) -> None:
    """Deliveries as a table: alert, destination, status, attempts, the destination's last answer."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("alert", no_wrap=True, min_width=26)
    for column in ("destination", "status", "attempts", "last answer", "updated (UTC)"):
        table.add_column(column)
    for record in records:
        colour = "red" if record["status"] == "failed" else "yellow"
        table.add_row(
            shown(record["alert_id"]),
            shown(record["destination_name"]),
            f"[{colour}]{shown(record['status'])}[/]",
            str(record["attempts"]),
            shown(record.get("last_error") or ""),
            shown(record["updated_at"][:19].replace("T", " ")),
        )
    out.print(table)


@deliveries_app.command("unsent")
def deliveries_unsent(
    destination: Destination = None,
    strategy: StrategyFilter = None,
    since: Since = None,
    until: Until = None,
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Alerts that did not reach a destination (failed, or held while it is paused), oldest first."""
    params = _narrowing(destination, strategy, since, until)
    items = call(api_client(api_url, token), "GET", "/deliveries/unsent", params=params)["items"]
    if as_json:
        print(json.dumps(items, indent=2))
    else:
        show_records(items, f"{len(items)} unsent deliver{'y' if len(items) == 1 else 'ies'}")


@deliveries_app.command("redrive")
def deliveries_redrive(
    destination: Destination = None,
    strategy: StrategyFilter = None,
    since: Since = None,
    until: Until = None,
    failure_queue: Annotated[
        bool,
        typer.Option(
            "--failure-queue",
            help="Instead of the filters: what the failure queue's reports name; those reports are removed "
            "(the DeliveryFailureAlarm clears).",
        ),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be sent again.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Send failed and held deliveries again with the same message ids (a receiver deduplicating by
    webhook-id stays safe). Each lane sends them after what it holds now, oldest alert first. Narrow by
    destination, strategy and time, or take what the failure queue reports (--failure-queue)."""
    client = api_client(api_url, token)
    body: dict[str, Any] = _narrowing(destination, strategy, since, until)
    if failure_queue:
        if body:
            console.print("[red]--failure-queue[/] takes no --destination, --strategy, --since or --until")
            raise typer.Exit(2)
        body = {"failure_queue": True}
    if not dry_run and not yes:
        preview = call(client, "POST", "/deliveries/redrive", json_body={**body, "dry_run": True})
        if not preview["items"]:
            console.print("nothing to send again")
            return
        show_records(preview["items"], "would be sent again")
        if not typer.confirm(f"Send these {len(preview['items'])} again?", default=False):
            raise typer.Exit(1)
    result = call(client, "POST", "/deliveries/redrive", json_body={**body, "dry_run": dry_run})
    if as_json:
        print(json.dumps(result, indent=2))
    elif dry_run:
        show_records(result["items"], f"{len(result['items'])} would be sent again (dry run)")
    else:
        console.print(f"[green]{result['redriven']} sent again[/]: see them with `arrowhook alerts show ALERT_ID`")
        if failure_queue:
            console.print(f"{result['acknowledged']} report(s) removed from the failure queue")
