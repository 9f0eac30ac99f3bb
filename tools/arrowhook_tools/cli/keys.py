"""`arrowhook strategies ...`: strategy keys through the admin API."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from arrowhook_tools.cli.common import (
    ApiUrl,
    AsJson,
    KeyId,
    Token,
    api_client,
    api_errors,
    call,
    console,
    duration_seconds,
    out,
)
from arrowhook_tools.cli.render import shown

keys_app = typer.Typer(
    no_args_is_help=True, help="Manage strategies: their keys, signal expectations and test alerts (alias: keys)."
)


def _show_keys(keys: list[dict[str, Any]], title: str | None = None) -> None:
    from rich.table import Table

    table = Table(title=title)
    table.add_column("id", no_wrap=True, min_width=26)
    for column in ("name", "status", "secret prefix", "created", "description"):
        table.add_column(column)
    for key in keys:
        status = shown(key["status"]) if key["status"] == "active" else f"[yellow]{shown(key['status'])}[/]"
        table.add_row(
            shown(key["id"]),
            shown(key["name"]),
            status,
            shown(key["secret_prefix"]) + "...",
            shown(key["created_at"][:10]),
            shown(key["description"]),
        )
    out.print(table)


def _emit(key: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(key, indent=2))
        return
    _show_keys([key])
    if "secret" in key:
        from arrowhook.admin.tradingview_messages import indicator_message, strategy_message

        console.print(
            '\nSecret, shown once: put it in the TradingView message as "key" (or end the webhook URL with it):'
        )
        print(key["secret"], flush=True)
        console.print("\nTradingView message for a strategy (one alert covers every order fill):")
        print(strategy_message(key["secret"]), flush=True)
        console.print("\nFor an indicator (write the side per alert):")
        print(indicator_message(key["secret"]), flush=True)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Strategy name (unique).")],
    description: Annotated[str, typer.Option(help="Free text.")] = "",
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Create a strategy key and print its secret (shown once)."""
    _emit(
        call(api_client(api_url, token), "POST", "/keys", json_body={"name": name, "description": description}), as_json
    )


@keys_app.command("list")
def keys_list(
    name: Annotated[str | None, typer.Option(help="Name prefix (case-insensitive).")] = None,
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List keys by name (every page)."""
    client = api_client(api_url, token)
    with api_errors():
        keys = client.all_keys(name)
    if as_json:
        print(json.dumps(keys, indent=2))
    else:
        _show_keys(keys, title=f"{len(keys)} key(s)")


@keys_app.command("show")
def keys_show(key_id: KeyId, api_url: ApiUrl = None, token: Token = None, as_json: AsJson = False) -> None:
    """Show one key (by id or name)."""
    _emit(resolve_key(api_client(api_url, token), key_id), as_json)


@keys_app.command("update")
def keys_update(
    key_id: KeyId,
    name: Annotated[str | None, typer.Option(help="New name (unique).")] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Rename a key or change its description."""
    body = {field: value for field, value in (("name", name), ("description", description)) if value is not None}
    if not body:
        console.print("[red]nothing to update:[/] pass --name and/or --description")
        raise typer.Exit(2)
    client = api_client(api_url, token)
    _emit(call(client, "PATCH", f"/keys/{_key_id(client, key_id)}", json_body=body), as_json)


@keys_app.command("disable")
def keys_disable(key_id: KeyId, api_url: ApiUrl = None, token: Token = None, as_json: AsJson = False) -> None:
    """Disable a key: its webhooks get 401 (within the webhook's key cache TTL)."""
    client = api_client(api_url, token)
    _emit(call(client, "PATCH", f"/keys/{_key_id(client, key_id)}", json_body={"enabled": False}), as_json)


@keys_app.command("enable")
def keys_enable(key_id: KeyId, api_url: ApiUrl = None, token: Token = None, as_json: AsJson = False) -> None:
    """Enable a disabled key."""
    client = api_client(api_url, token)
    _emit(call(client, "PATCH", f"/keys/{_key_id(client, key_id)}", json_body={"enabled": True}), as_json)


@keys_app.command("rotate")
def keys_rotate(
    key_id: KeyId,
    grace: Annotated[str, typer.Option(help="How long the old secret keeps working: 0, 90s, 30m, 12h, 7d.")] = "0",
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Issue a new secret (printed once); the old one works for the grace period."""
    seconds = duration_seconds(grace)
    client = api_client(api_url, token)
    path = f"/keys/{_key_id(client, key_id)}/rotate"
    _emit(call(client, "POST", path, json_body={"grace_seconds": seconds}), as_json)


@keys_app.command("delete")
def keys_delete(
    key_id: KeyId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Delete a key: it stops authenticating (within the key cache TTL); its alerts are kept."""
    client = api_client(api_url, token)
    key = resolve_key(client, key_id)
    if not yes and not typer.confirm(f"Delete key {key['name']} ({key['id']})? Its webhooks will be rejected"):
        raise typer.Exit(1)
    call(client, "DELETE", f"/keys/{key['id']}")
    console.print(f"deleted {shown(key['name'])} ({key['id']})")


@keys_app.command("positions")
def keys_positions(
    strategy: Annotated[str, typer.Argument(help="Strategy name or key id.")],
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """What the strategy's alerts imply it holds, per ticker, and when that was last confirmed."""
    from urllib.parse import quote

    from rich.table import Table

    found = call(api_client(api_url, token), "GET", f"/strategies/{quote(strategy, safe='')}/positions")
    if as_json:
        print(json.dumps(found, indent=2))
        return
    table = Table(title=f"{found['strategy']}: positions implied by its alerts")
    for column in ("ticker", "position", "size", "confirmed (UTC)", "alert"):
        table.add_column(column)
    for position in found["positions"]:
        table.add_row(
            shown(position["ticker"]),
            shown(position["position"] or "unknown"),
            shown(position["size"] or ""),
            shown(position["confirmed_at"][:19].replace("T", " ")),
            shown(position["alert_id"]),
        )
    out.print(table)
    if not found["complete"]:
        console.print(f"read the newest {found['alerts_read']} alerts only: older tickers may be missing")


@keys_app.command("test")
def keys_test(
    strategy: Annotated[str, typer.Argument(help="Strategy name or key id.")],
    secret: Annotated[
        str | None,
        typer.Option(envvar="ARROWHOOK_SECRET", help="The strategy's secret (asked for when not given; never echoed)."),
    ] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for each stage.")] = 60.0,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Send a real alert, marked as a test, through the public webhook with the strategy's secret, and
    report each stage it reaches (accepted, stored, delivered to each destination) with timings."""
    import time

    import httpx

    client = api_client(api_url, token)
    key = resolve_key(client, strategy)  # and the admin API answers, before anything is sent
    secret = secret or typer.prompt("Secret", hide_input=True)
    _refuse_unless_its_own(client, key, secret)
    webhook_url = client.target.api_url.rstrip("/") + "/webhook"
    body = _test_alert(secret)
    started = time.monotonic()

    def stage(name: str, ok: bool, detail: str = "") -> None:
        mark = "[green]ok[/]" if ok else "[red]failed[/]"
        console.print(f"  {name:28} {mark}  {time.monotonic() - started:6.2f} s  {shown(detail)}")

    console.print(f"test alert for {shown(key['name'])} through {shown(webhook_url)}")
    try:
        answer = httpx.post(webhook_url, json=body, timeout=wait)
    except httpx.HTTPError as error:
        stage("accepted by the webhook", False, str(error))
        raise typer.Exit(1) from None
    if answer.status_code != 200:
        stage("accepted by the webhook", False, f"HTTP {answer.status_code}: {answer.text[:200]}")
        raise typer.Exit(1)
    alert_id = answer.json()["alert_id"]
    stage("accepted by the webhook", True, f"alert {alert_id}")
    with api_errors():
        stored = _poll(lambda: _get_or_none(client, f"/alerts/{alert_id}"), wait)
    stage("stored", stored is not None)
    if stored is None:
        raise typer.Exit(1)
    destinations = [
        item
        for item in call(client, "GET", "/destinations")["items"]
        if (item["enabled"] or item.get("paused_reason"))
        and (not item["strategies"] or key["id"] in item["strategies"])
    ]
    if not destinations:
        console.print("  no destination for this strategy: nothing to deliver")
        return
    final = {"delivered", "failed", "skipped", "held"}
    wanted = {destination["id"] for destination in destinations}

    def settled() -> dict[str, Any] | None:
        """This strategy's destinations' records, once each has a final one (None until then)."""
        found = {
            record["destination_id"]: record
            for record in _get_or_none(client, f"/alerts/{alert_id}")["deliveries"]
            if record["destination_id"] in wanted
        }
        done = len(found) == len(wanted) and all(record["status"] in final for record in found.values())
        return found if done else None

    with api_errors():
        by_id = _poll(settled, wait) or {}
    failed = False
    for destination in destinations:
        record = by_id.get(destination["id"])
        delivered = record is not None and record["status"] == "delivered"
        failed = failed or not delivered
        detail = "no record in time" if record is None else f"{record['status']}, {record['attempts']} attempt(s)"
        stage(f"delivered to {destination['name']}", delivered, detail)
    if failed:
        raise typer.Exit(1)


def _refuse_unless_its_own(client: Any, key: dict[str, Any], secret: str) -> None:
    """Before anything is sent: another strategy's secret would test that strategy's destinations."""
    verified = call(client, "POST", f"/keys/{key['id']}/verify", json_body={"secret": secret})
    if not verified["matches"]:
        console.print(f"[red]this secret is not {shown(key['name'])}'s[/]: nothing was sent (another strategy's?)")
        raise typer.Exit(1)
    if not verified["active"]:
        console.print(f"[red]{shown(key['name'])} is disabled[/]: nothing was sent (arrowhook strategies enable ...)")
        raise typer.Exit(1)


def _test_alert(secret: str) -> dict[str, Any]:
    """Marked as a test; `timenow` as TradingView sends it: a lag for the health, and a distinct body each
    time (a repeat inside the dedupe window would be answered as a duplicate and deliver nothing)."""
    from datetime import UTC, datetime

    fired = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"key": secret, "ticker": "ARROWHOOK-TEST", "side": "buy", "price": "1", "comment": "arrowhook test",
            "timenow": fired, "test": True}  # fmt: skip


def resolve_key(client: Any, reference: str) -> dict[str, Any]:
    """The key a strategy name (case-insensitive) or key id names; exits 1 when there is none."""
    from urllib.parse import quote

    with api_errors():
        found = _get_or_none(client, f"/keys/{quote(reference, safe='')}")
        if found is None:
            named = (key for key in client.all_keys(reference) if key["name"].lower() == reference.lower())
            found = next(named, None)
    if found is None:
        console.print(f"[red]no strategy {shown(repr(reference))}[/]")
        raise typer.Exit(1)
    return dict(found)


def _key_id(client: Any, reference: str) -> str:
    """The id of the key a name or an id names (exits 1 when none does)."""
    return str(resolve_key(client, reference)["id"])


def _get_or_none(client: Any, path: str) -> Any:
    from arrowhook_tools.cli.admin_client import AdminApiError

    try:
        return client.request("GET", path)
    except AdminApiError as error:
        if error.status == 404:
            return None
        raise


def _poll(read: Any, wait: float) -> Any:
    """`read()` until it answers something, every 0.3 s, for at most `wait` seconds (None then)."""
    import time

    deadline = time.monotonic() + wait
    while True:
        found = read()
        if found is not None or time.monotonic() > deadline:
            return found
        time.sleep(0.3)
