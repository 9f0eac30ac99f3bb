"""`arrowhook destinations ...`: where alerts are forwarded, through the admin API."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from arrowhook_tools.cli.common import ApiUrl, AsJson, Token, api_client, call, console, duration_seconds, out
from arrowhook_tools.cli.render import shown

destinations_app = typer.Typer(
    no_args_is_help=True, help="Forward alerts to Discord, Slack, Telegram, webhooks, email."
)
DestinationId = Annotated[str, typer.Argument(help="Destination id (see `arrowhook destinations list`).")]
Strategies = Annotated[
    list[str] | None,
    typer.Option("--strategy", "-s", help="Strategy name or key id; repeat for several; omit for every strategy."),
]
Template = Annotated[
    str | None, typer.Option(help="Message, e.g. '{strategy} {side} {ticker} @ {price}' (default: the kind's).")
]
SkipLate = Annotated[
    bool | None,
    typer.Option(
        "--skip-late/--send-late",
        help="Skip alerts later than their strategy's max lag (recorded as 'skipped: late'), or send them.",
    ),
]


class Kind(StrEnum):
    DISCORD = "discord"
    SLACK = "slack"
    TELEGRAM = "telegram"
    WEBHOOK = "webhook"
    EMAIL = "email"


def _show(destinations: list[dict[str, Any]], title: str | None = None) -> None:
    from rich.table import Table

    table = Table(title=title)
    table.add_column("id", no_wrap=True, min_width=26)
    for column in ("name", "kind", "strategies"):
        table.add_column(column)
    table.add_column("enabled", no_wrap=True)  # why a destination is paused is read whole, on one line
    for column in ("late alerts", "target", "template"):
        table.add_column(column)
    for destination in destinations:
        table.add_row(
            shown(destination["id"]),
            shown(destination["name"]),
            shown(destination["kind"]),
            shown(", ".join(destination["strategies"]) or "all"),
            _state(destination),
            "skipped" if destination.get("skip_late") else "sent",
            shown(destination["target"]),
            shown(destination["template"]),
        )
    out.print(table)


def _state(destination: dict[str, Any]) -> str:
    """`yes`; `no` (switched off); or `paused: <why>` when the sender switched it off."""
    if destination["enabled"]:
        refusals = destination.get("refusals") or 0
        return f"yes [yellow]({refusals} refusal{'s' if refusals > 1 else ''} in a row)[/]" if refusals else "yes"
    if destination.get("paused_reason"):
        return f"[red]paused: {shown(destination['paused_reason'])}[/]"
    return "[yellow]no[/]"


def _emit(destination: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(destination, indent=2))
        return
    _show([destination])
    if destination.get("signing_secret"):
        console.print("\nSigning secret, shown once: receivers verify webhook-signature with it (Standard Webhooks):")
        print(destination["signing_secret"], flush=True)


@destinations_app.command("add")
def destinations_add(
    kind: Annotated[Kind, typer.Argument(help="discord, slack, telegram, webhook or email.")],
    strategy: Strategies = None,
    url: Annotated[
        str | None,
        typer.Option(
            help="discord, slack, webhook: the URL (kept secret); '-' reads it from stdin; asked when omitted."
        ),
    ] = None,
    bot_token: Annotated[
        str | None, typer.Option(help="telegram: the bot token (kept secret); '-' reads stdin; asked when omitted.")
    ] = None,
    chat_id: Annotated[str | None, typer.Option(help="telegram: the chat id or @channel.")] = None,
    name: Annotated[str | None, typer.Option(help="A name to tell it apart (default: the kind).")] = None,
    template: Template = None,
    skip_late: SkipLate = None,
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Add a destination; a webhook destination's signing secret is printed once. URLs and bot tokens are
    secrets: give '-' to read one from stdin, or leave it out to be asked (nothing lands in shell history)."""
    if kind in (Kind.DISCORD, Kind.SLACK, Kind.WEBHOOK):
        url = _secret_input(url, "URL")
    elif kind is Kind.TELEGRAM:
        bot_token = _secret_input(bot_token, "Bot token")
    body: dict[str, Any] = {"kind": kind.value, "strategies": strategy or []}
    for field, value in (
        ("url", url),
        ("bot_token", bot_token),
        ("chat_id", chat_id),
        ("name", name),
        ("template", template),
        ("skip_late", skip_late),
    ):
        if value is not None:
            body[field] = value
    _emit(call(api_client(api_url, token), "POST", "/destinations", json_body=body), as_json)


@destinations_app.command("list")
def destinations_list(api_url: ApiUrl = None, token: Token = None, as_json: AsJson = False) -> None:
    """Every destination (URLs and tokens are never shown, only a hint of where each points)."""
    items = call(api_client(api_url, token), "GET", "/destinations")["items"]
    if as_json:
        print(json.dumps(items, indent=2))
    else:
        _show(items, title=f"{len(items)} destination(s)")


@destinations_app.command("update")
def destinations_update(
    destination_id: DestinationId,
    strategy: Strategies = None,
    url: Annotated[str | None, typer.Option(help="A new URL (replaces the secret); '-' reads it from stdin.")] = None,
    bot_token: Annotated[str | None, typer.Option(help="A new bot token; '-' reads it from stdin.")] = None,
    template: Template = None,
    enabled: Annotated[bool | None, typer.Option("--enable/--disable", help="Switch it on or off.")] = None,
    skip_late: SkipLate = None,
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Change a destination's strategies, URL, token, template, or switch it on or off."""
    url = _secret_input(url, "URL") if url is not None else None
    bot_token = _secret_input(bot_token, "Bot token") if bot_token is not None else None
    body: dict[str, Any] = {
        field: value
        for field, value in (
            ("strategies", strategy),
            ("url", url),
            ("bot_token", bot_token),
            ("template", template),
            ("enabled", enabled),
            ("skip_late", skip_late),
        )
        if value is not None
    }
    if not body:
        console.print(
            "[red]nothing to update:[/] pass --strategy, --url, --bot-token, --template, --enable/--disable "
            "or --skip-late/--send-late"
        )
        raise typer.Exit(2)
    _emit(call(api_client(api_url, token), "PATCH", f"/destinations/{destination_id}", json_body=body), as_json)


def _secret_input(value: str | None, label: str) -> str:
    """A secret from the option, from stdin ('-'), or asked for without echo: never in shell history."""
    import sys

    if value == "-":
        value = sys.stdin.readline().strip()
    if not value:
        value = str(typer.prompt(label, hide_input=True)).strip()
    return value


@destinations_app.command("rotate-secret")
def destinations_rotate_secret(
    destination_id: DestinationId,
    grace: Annotated[str, typer.Option(help="How long messages carry the old signature too: 0, 30m, 24h, 7d.")] = "24h",
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """A webhook destination's new signing secret (printed once); both secrets sign during the grace."""
    seconds = duration_seconds(grace)
    path = f"/destinations/{destination_id}/rotate-secret"
    _emit(call(api_client(api_url, token), "POST", path, json_body={"grace_seconds": seconds}), as_json)


@destinations_app.command("test")
def destinations_test(
    destination_id: DestinationId, api_url: ApiUrl = None, token: Token = None, as_json: AsJson = False
) -> None:
    """Send a test message now and print the destination's answer (exit 1 when it refused)."""
    result = call(api_client(api_url, token), "POST", f"/destinations/{destination_id}/test")
    if as_json:
        print(json.dumps(result, indent=2))
    elif result["ok"]:
        console.print(f"[green]delivered[/] (HTTP {result['status_code']})")
    else:
        console.print(f"[red]refused[/]: {shown(result['answer'])}")
    if not result["ok"]:
        raise typer.Exit(1)


@destinations_app.command("resume")
def destinations_resume(
    destination_id: DestinationId,
    redrive: Annotated[
        bool, typer.Option("--redrive/--no-redrive", help="Also send again what it missed (held and failed).")
    ] = True,
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Switch a paused (or disabled) destination on again; by default what it missed is sent again too,
    after what its lane holds, with the same message ids."""
    path = f"/destinations/{destination_id}/resume"
    result = call(api_client(api_url, token), "POST", path, json_body={"redrive": redrive})
    _emit(result["destination"], as_json)
    if redrive:
        console.print(f"{result['redriven']} missed deliver{'y' if result['redriven'] == 1 else 'ies'} sent again")


@destinations_app.command("remove")
def destinations_remove(
    destination_id: DestinationId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Remove a destination and its secret; alerts on their way to it are recorded as skipped."""
    if not yes and not typer.confirm(f"Remove destination {destination_id}?", default=False):
        raise typer.Exit(1)
    call(api_client(api_url, token), "DELETE", f"/destinations/{destination_id}")
    console.print(f"removed {destination_id}")
