"""`arrowhook signals ...`: what a strategy declares about its alerts, and the silence check on demand."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from arrowhook_tools.cli.common import ApiUrl, AsJson, Token, api_client, call, console, out
from arrowhook_tools.cli.invoke import FunctionError, invoke_function
from arrowhook_tools.cli.keys import resolve_key
from arrowhook_tools.cli.render import shown

signals_app = typer.Typer(
    no_args_is_help=True, help="Signal health: late alerts, missed alerts, silent strategies (docs/signal-health.md)."
)
StrategyRef = Annotated[str, typer.Argument(help="Strategy name or key id.")]


class Sequence(StrEnum):
    POSITIONS = "positions"
    ALTERNATING = "alternating"
    OFF = "off"


def parse_hours(text: str) -> dict[str, Any]:
    from arrowhook.core.signals import TradingHours  # pydantic: imported when used (`arrowhook --help` stays fast)

    try:
        return TradingHours.parse(text).model_dump(mode="json")
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def describe(signals: dict[str, Any]) -> list[tuple[str, str]]:
    from arrowhook.core.signals import TradingHours

    hours = signals.get("trading_hours")
    every = signals.get("expect_every_minutes")
    return [
        ("max lag", f"{signals['max_lag_seconds']} s" if signals.get("max_lag_seconds") else "not checked"),
        ("missed-alert check", str(signals.get("sequence", "positions"))),
        ("expects an alert every", f"{every} min" if every else "not watched"),
        ("trading hours", TradingHours.model_validate(hours).describe() if hours else "around the clock"),
    ]


def _print(key: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps({"id": key["id"], "name": key["name"], "signals": key["signals"]}, indent=2))
        return
    from rich.table import Table

    table = Table(show_header=False, title=f"signals of {shown(key['name'])}")
    for name, value in describe(key["signals"]):
        table.add_row(name, shown(value))
    out.print(table)


@signals_app.command("show")
def signals_show(strategy: StrategyRef, api_url: ApiUrl = None, token: Token = None, as_json: AsJson = False) -> None:
    """What a strategy declares about its alerts."""
    _print(resolve_key(api_client(api_url, token), strategy), as_json)


@signals_app.command("set")
def signals_set(
    strategy: StrategyRef,
    max_lag: Annotated[
        int | None, typer.Option(help="Seconds: alerts received later than this after firing are flagged late.")
    ] = None,
    sequence: Annotated[
        Sequence | None,
        typer.Option(help="positions (default), alternating (opt in for templates without position fields), off."),
    ] = None,
    every: Annotated[
        int | None, typer.Option(help="Minutes: notify when no alert arrives for this long (inside --hours).")
    ] = None,
    hours: Annotated[
        str | None, typer.Option(help="Trading hours, e.g. 'mon-fri 09:30-16:00 America/New_York'.")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Forget every expectation first.")] = False,
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Declare what a strategy's alerts should look like; options not given are kept (0 turns a number off)."""
    client = api_client(api_url, token)
    key = resolve_key(client, strategy)
    signals: dict[str, Any] = {} if clear else dict(key["signals"])
    if max_lag is not None:
        signals["max_lag_seconds"] = max_lag or None
    if sequence is not None:
        signals["sequence"] = sequence.value
    if every is not None:
        signals["expect_every_minutes"] = every or None
        if not every:
            signals["trading_hours"] = None
    if hours is not None:
        signals["trading_hours"] = parse_hours(hours) if hours else None
    updated = call(client, "PATCH", f"/keys/{key['id']}", json_body={"signals": signals})
    _print(updated, as_json)


@signals_app.command("check")
def signals_check(
    stack: Annotated[str | None, typer.Option(help="Deployed stack name; default: the running `make dev`.")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region of --stack.")] = None,
    at: Annotated[
        str | None, typer.Option(help="Check as of this ISO time (to try the check out; notices are really sent).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Look for silent strategies now, as the schedule does every few minutes, and say what was sent."""
    event: dict[str, Any] = {"trigger": "signal-watch"}
    if at is not None:
        from datetime import datetime

        try:
            moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            raise typer.BadParameter("--at: an ISO 8601 time, e.g. 2026-11-23T16:00:00Z") from None
        if moment.tzinfo is None:
            raise typer.BadParameter("--at: give a time zone (Z for UTC)")
        event["at"] = moment.isoformat()
    try:
        result = invoke_function("DeliveryFunction", event, stack=stack, region=region, read_timeout=130)
    except FunctionError as error:
        console.print(f"[red]the check failed:[/] {shown(error.message)}")
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(result, indent=2))
        return
    out.print(f"watched {result['watched']} strateg{'y' if result['watched'] == 1 else 'ies'}")
    for name in result["silent"]:
        out.print(f"[yellow]silent:[/] {shown(name)}")
    for name in result["recovered"]:
        out.print(f"recovered: {shown(name)}")
    for notice in result["notices"]:
        out.print(f"  {shown(notice['destination_name'])}: {shown(notice['purpose'])} {shown(notice['status'])}")
