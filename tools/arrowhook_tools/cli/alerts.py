"""`arrowhook alerts ...`: reading stored alerts through the admin API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from arrowhook.admin.export import EXPORT_COLUMNS, export_row
from arrowhook_tools.cli.common import (
    ApiUrl,
    AsJson,
    Since,
    Token,
    Until,
    api_client,
    api_errors,
    call,
    console,
    out,
)
from arrowhook_tools.cli.render import shown

alerts_app = typer.Typer(no_args_is_help=True, help="Read stored alerts.")


Strategy = Annotated[str | None, typer.Option(help="Strategy (key) name.")]
KeyIdFilter = Annotated[str | None, typer.Option("--key-id", help="Strategy key id.")]
Ticker = Annotated[str | None, typer.Option(help="Ticker, e.g. BTCUSDT.")]
SideFilter = Annotated[str | None, typer.Option(help="buy, sell or close.")]


def _filters(
    strategy: str | None, key_id: str | None, ticker: str | None, side: str | None, since: str | None, until: str | None
) -> dict[str, Any]:
    return {"strategy": strategy, "key_id": key_id, "ticker": ticker, "side": side, "since": since, "until": until}


def _show_alerts(alerts: list[dict[str, Any]], title: str | None = None) -> None:
    from rich.table import Table

    table = Table(title=title)
    table.add_column("received (UTC)", no_wrap=True)
    for column in ("strategy", "ticker", "side", "price", "qty", "message", "issues", "health"):
        table.add_column(column)
    table.add_column("id", no_wrap=True, min_width=26)
    for alert in alerts:
        issues = len(alert.get("parse_issues") or [])
        table.add_row(
            shown(alert["received_at"][:23].replace("T", " ")),
            shown(alert["strategy"]),
            shown(alert.get("ticker") or ""),
            shown(alert.get("side") or "") + (f" ({shown(alert['fill'])})" if alert.get("fill") else ""),
            shown(alert.get("price") or ""),
            shown(alert.get("quantity") or ""),
            shown(alert.get("message") or ""),
            f"[yellow]{issues}[/]" if issues else "",
            health_summary(alert.get("health")),
            shown(alert["alert_id"]),
        )
    out.print(table)


def health_summary(health: dict[str, Any] | None) -> str:
    """`gap` (an alert missing before this one), `late 75 s`, both, or nothing."""
    if not health:
        return ""
    said = ["[red]gap[/]"] if health.get("gap_before") else []
    if health.get("late"):
        said.append(f"[yellow]late {health['lag_ms'] / 1000:.0f} s[/]")
    return " ".join(said)


def _client_checking(api_url: str | None, token: str | None, strategy: str | None) -> Any:
    """The admin API's client; a strategy filter that names no strategy is refused (exit 1), not read as
    "no alerts" (or, for `tail`, waited on forever)."""
    from arrowhook_tools.cli.keys import resolve_key

    client = api_client(api_url, token)
    if strategy:
        resolve_key(client, strategy)
    return client


@alerts_app.command("list")
def alerts_list(
    strategy: Strategy = None,
    key_id: KeyIdFilter = None,
    ticker: Ticker = None,
    side: SideFilter = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, typer.Option(help="Alerts per page (max 500).")] = 50,
    order: Annotated[str, typer.Option(help="newest or oldest first.")] = "newest",
    all_pages: Annotated[bool, typer.Option("--all", help="Follow every page.")] = False,
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List alerts matching the filters, newest first."""
    client = _client_checking(api_url, token, strategy)
    params = {**_filters(strategy, key_id, ticker, side, since, until), "limit": limit, "order": order}
    with api_errors():
        if all_pages:
            alerts = [alert for page in client.pages("/alerts", params) for alert in page]
        else:
            alerts = client.request("GET", "/alerts", params=params)["items"]
    if as_json:
        print(json.dumps(alerts, indent=2))
    else:
        _show_alerts(alerts, title=f"{len(alerts)} alert(s)")


#: Fields shown as written, over several lines (a text alert's body, an order comment).
_MULTILINE = frozenset({"payload", "text", "comment", "alert_message", "message"})


@alerts_app.command("show")
def alerts_show(
    alert_id: Annotated[str, typer.Argument(help="Alert id.")],
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """One alert: parsed fields, raw payload (secret removed), parse issues, receive metadata, deliveries."""
    alert = call(api_client(api_url, token), "GET", f"/alerts/{alert_id}")
    if as_json:
        print(json.dumps(alert, indent=2))
        return
    from rich.table import Table

    deliveries = alert.pop("deliveries", [])
    duplicates = alert.pop("duplicates", [])
    health = alert.pop("health", None)
    if alert.get("text") == alert.get("payload"):  # a text alert's body: shown once, as its payload
        alert.pop("text", None)
    table = Table(show_header=False, title=f"alert {alert_id}")
    for name, value in alert.items():
        if value not in (None, [], {}, ""):
            text = value if isinstance(value, str) else json.dumps(value)
            table.add_row(shown(name), shown(text, lines=name in _MULTILINE))
    out.print(table)
    if health:
        checks = Table(show_header=False, title="signal health")
        lag = health.get("lag_ms")
        unknown = shown(health.get("lag_unknown") or "unknown")
        checks.add_row("lag", f"{lag / 1000:.1f} s after TradingView fired it" if lag is not None else unknown)
        checks.add_row("late", "[yellow]yes[/]" if health.get("late") else "no")
        gap = health.get("gap_before")
        missing = (
            f"[red]at least one alert[/]: expected {shown(gap['expected'])}, the previous alert "
            f"({shown(gap['previous_alert_id'])}) left {shown(gap['found'])}"
            if gap
            else "none found"
        )
        checks.add_row("missed before it", missing)
        out.print(checks)
    if duplicates:
        repeats = Table(title="repeated deliveries (answered with this alert, not stored again)")
        repeats.add_column("received at")
        repeats.add_column("request id")
        for repeat in duplicates:
            repeats.add_row(shown(repeat["received_at"]), shown(repeat["request_id"]))
        out.print(repeats)
    if deliveries:
        sent = Table(title="deliveries")
        for column in ("destination", "kind", "status", "attempts", "last answer", "latency"):
            sent.add_column(column)
        for record in deliveries:
            answer = record["last_error"] or (
                f"HTTP {record['last_status_code']}" if record["last_status_code"] else ""
            )
            latency = f"{record['latency_ms']} ms" if record["latency_ms"] is not None else ""
            status = record["status"] if record["status"] == "delivered" else f"[yellow]{record['status']}[/]"
            sent.add_row(
                shown(record["destination_name"]),
                shown(record["kind"]),
                status,
                str(record["attempts"]),
                shown(answer),
                latency,
            )
        out.print(sent)


@alerts_app.command("stats")
def alerts_stats(
    strategy: Strategy = None,
    key_id: KeyIdFilter = None,
    ticker: Ticker = None,
    side: SideFilter = None,
    since: Since = None,
    until: Until = None,
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Counts by strategy, ticker and side, with the first and last alert times."""
    stats = call(
        _client_checking(api_url, token, strategy),
        "GET",
        "/alerts/stats",
        params=_filters(strategy, key_id, ticker, side, since, until),
    )
    if as_json:
        print(json.dumps(stats, indent=2))
        return
    from rich.table import Table

    out.print(
        f"{shown(stats['total'])} alert(s) from {shown(stats['first_seen'])} to {shown(stats['last_seen'])}"
        + (" (truncated)" if stats["truncated"] else "")
    )
    for group in ("by_strategy", "by_ticker", "by_side"):
        table = Table(title=group.replace("_", " "))
        table.add_column(group.removeprefix("by_"))
        table.add_column("alerts", justify="right")
        for name, count in sorted(stats[group].items(), key=lambda entry: -entry[1]):
            table.add_row(shown(name), shown(count))
        out.print(table)


@alerts_app.command("export")
def alerts_export(
    output: Annotated[Path, typer.Option("--out", help="File to write.")],
    file_format: Annotated[str, typer.Option("--format", help="csv or ndjson.")] = "csv",
    strategy: Strategy = None,
    key_id: KeyIdFilter = None,
    ticker: Ticker = None,
    side: SideFilter = None,
    since: Since = None,
    until: Until = None,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Write every matching alert (oldest first) to CSV or NDJSON, following every page."""
    import csv

    from rich.progress import Progress, SpinnerColumn, TextColumn

    from arrowhook_tools.cli.admin_client import AdminApiError

    if file_format not in ("csv", "ndjson"):
        console.print(f"[red]unknown format {shown(repr(file_format))}[/]: use csv or ndjson")
        raise typer.Exit(2)
    client = _client_checking(api_url, token, strategy)
    params = {**_filters(strategy, key_id, ticker, side, since, until), "limit": 500, "order": "oldest"}
    written = 0
    temporary = output.with_name(output.name + ".partial")
    try:
        with (
            temporary.open("w", newline="", encoding="utf-8") as handle,
            Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True) as progress,
        ):
            task = progress.add_task("exporting", total=None)
            writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
            if file_format == "csv":
                writer.writeheader()
            for page in client.pages("/alerts", params):
                for alert in page:
                    if file_format == "ndjson":
                        handle.write(json.dumps(alert) + "\n")
                    else:
                        writer.writerow(export_row(alert))
                written += len(page)
                progress.update(task, description=f"exported {written} alert(s)")
    except AdminApiError as error:
        temporary.unlink(missing_ok=True)
        console.print(f"[red]error:[/] {shown(error.detail)}")
        raise typer.Exit(1) from None
    temporary.replace(output)
    console.print(f"wrote {written} alert(s) to {output}")


@alerts_app.command("tail")
def alerts_tail(
    strategy: Strategy = None,
    key_id: KeyIdFilter = None,
    ticker: Ticker = None,
    side: SideFilter = None,
    since: Annotated[str, typer.Option(help="Start from (ISO 8601 or 10m, 1h...).")] = "1s",
    count: Annotated[int | None, typer.Option(min=1, help="Stop after this many alerts (default: never).")] = None,
    interval: Annotated[float, typer.Option(hidden=True, help="No effect: alerts are pushed, not polled.")] = 0,
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Print new alerts as they arrive (Ctrl-C to stop), pushed over the live WebSocket API: each alert
    stored after --since, once, in order, across reconnects."""
    from datetime import UTC, datetime

    from arrowhook.alerts.query import parse_moment
    from arrowhook.core.models import iso
    from arrowhook_tools.cli.live import LiveFollower, follow, tickets

    try:
        start = parse_moment(since, datetime.now(UTC))
    except ValueError as error:
        console.print(f"[red]invalid --since:[/] {shown(error)}")
        raise typer.Exit(2) from None
    if side is not None and side not in {"buy", "sell", "close"}:
        console.print(f"[red]invalid --side:[/] {shown(side)} (buy, sell or close)")
        raise typer.Exit(2)
    client = _client_checking(api_url, token, strategy)
    subscribed = strategy or key_id  # the socket carries that strategy's alerts only; the rest is sifted here

    def wanted(alert: dict[str, Any]) -> bool:
        return (
            (key_id is None or alert["key_id"] == key_id)
            and (ticker is None or (alert.get("ticker") or "").upper() == ticker.upper())
            and (side is None or alert.get("side") == side)
        )

    follower = LiveFollower(
        tickets(client, [subscribed] if subscribed else None),
        on_reconnect=lambda reason: console.print(f"[yellow]{shown(reason)}[/]"),
        after=f"{iso(start)}#",  # resumed from --since: what arrived since then first, in order
    )
    follow(follower, as_json=as_json, count=count, wanted=wanted)
