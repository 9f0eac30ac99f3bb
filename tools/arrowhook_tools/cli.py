"""`arrowhook`: the developer and operator command line."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from arrowhook_tools.render import shown

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    help="Arrowhook: TradingView alerts on AWS.",
)
keys_app = typer.Typer(no_args_is_help=True, help="Manage strategy keys.")
app.add_typer(keys_app, name="keys")
alerts_app = typer.Typer(no_args_is_help=True, help="Read stored alerts.")
app.add_typer(alerts_app, name="alerts")
archive_app = typer.Typer(no_args_is_help=True, help="Move old alerts to the S3 archive.")
app.add_typer(archive_app, name="archive")
console = Console(stderr=True)
#: Set by the global `--profile` option (or ARROWHOOK_PROFILE): which saved login commands use.
_selected_profile: str | None = None


@app.callback()
def _global_options(
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile", envvar="ARROWHOOK_PROFILE", help="Saved login to use (see `arrowhook login --profile`)."
        ),
    ] = None,
) -> None:
    global _selected_profile  # noqa: PLW0603 - typer hands global options to a callback
    _selected_profile = profile


def _parameter_overrides(values: list[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for pair in (part for value in values for part in value.split()):
        name, separator, setting = pair.partition("=")
        if not separator or not name:
            console.print(f"[red]invalid parameter override {shown(repr(pair))}[/]: use Name=Value")
            raise typer.Exit(2)
        overrides[name] = setting
    return overrides


SHUTDOWN_SECONDS = 15.0


def _exit_if_stopping_hangs(state_file: Path | None) -> None:
    """Ctrl-C must stop `make dev`: if a server thread does not stop in time, report where it hangs and exit."""
    import faulthandler
    import os
    import threading

    def force() -> None:
        console.print(f"[yellow]a server thread did not stop within {SHUTDOWN_SECONDS:.0f} s; threads:[/]")
        faulthandler.dump_traceback(all_threads=True)
        if state_file is not None:
            from arrowhook_tools.state import remove_state_if_ours

            remove_state_if_ours(state_file)
        console.print("stopped (forced)")
        os._exit(0)

    timer = threading.Timer(SHUTDOWN_SECONDS, force)
    timer.daemon = True
    timer.start()


def _stop_on_sigterm(_signal: int, _frame: object) -> None:
    """`kill` stops the stack as cleanly as Ctrl-C does."""
    raise KeyboardInterrupt


def _refuse_a_second_stack_on_one_state_file(running: dict[str, Any] | None) -> None:
    """The CLI finds a running stack through its state file: a second one there would hide the first."""
    if running is not None:
        console.print(
            f"[red]another `arrowhook dev` (pid {running['pid']}) is running at {running['api_url']}[/]: stop it "
            f"first, or give this one its own state file (ARROWHOOK_STATE_FILE) so the CLI keeps track of both"
        )
        raise typer.Exit(1)


def _announce(stack: Any, key: Any) -> None:
    from arrowhook_tools.local import DEMO_SECRET
    from arrowhook_tools.samples import strategy_alert

    url = stack.api.url
    console.print(f"[bold green]Arrowhook local stack is up[/]  (embedded AWS at {stack.aws.endpoint})")
    for route in stack.template.routes():
        console.print(f"  {route.method:6} {url}{route.path}  -> {route.function_id}")
    console.print(f"\nDemo strategy [bold]{key.name}[/] ({key.id}), secret: [bold]{DEMO_SECRET}[/]")
    body = strategy_alert(DEMO_SECRET)
    console.print(f"Admin token: [bold]{stack.admin_token}[/]  (admin routes need Authorization: Bearer ...)")
    console.print("Try it:\n")
    print(f"curl -s -X POST {url}/webhook -H 'Content-Type: application/json' -d '{body}'\n", flush=True)
    print(f"curl -s {url}/keys -H 'Authorization: Bearer {stack.admin_token}'\n", flush=True)


@app.command()
def dev(
    port: Annotated[int, typer.Option(help="Port of the local HTTP API.")] = 3000,
    aws_port: Annotated[int, typer.Option(help="Port of the embedded AWS endpoints (0: any free port).")] = 4566,
    parameter_overrides: Annotated[
        list[str] | None,
        typer.Option(help="Template parameters, as for sam deploy: Name=Value (repeatable).", show_default=False),
    ] = None,
) -> None:
    """Run the stack locally: embedded AWS (moto) + template.yaml's HTTP API on 127.0.0.1. Ctrl-C stops."""
    from arrowhook_tools.embedded_aws import dynamodb
    from arrowhook_tools.local import (
        STATE_FILE,
        local_stack,
        read_state,
        remove_state_if_ours,
        seed_demo_key,
        write_state,
    )
    from arrowhook_tools.ports import PortInUseError
    from arrowhook_tools.template import ParameterError

    _refuse_a_second_stack_on_one_state_file(read_state())
    # Ctrl-C stops the stack even when it was started from a background job, where the shell leaves
    # SIGINT ignored (and Python then keeps it ignored): `make test` under `nohup ... &` hung here.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    announced = False
    try:
        overrides = _parameter_overrides(parameter_overrides or [])
        with local_stack(api_port=port, aws_port=aws_port, parameter_overrides=overrides) as stack:
            if stack.api is None:
                raise typer.Exit(1)
            key = seed_demo_key(stack.template, dynamodb(stack.aws.endpoint))
            write_state(stack)
            announced = True
            _announce(stack, key)
            console.print("Ctrl-C to stop.")
            try:
                stack.api.serve_forever_until_interrupted()
            except KeyboardInterrupt:
                _exit_if_stopping_hangs(STATE_FILE if announced else None)
    except KeyboardInterrupt:
        pass
    except ParameterError as error:
        console.print(f"[red]invalid parameter override:[/] {shown(error)}")
        raise typer.Exit(2) from None
    except PortInUseError as error:
        console.print(f"[red]cannot start the local stack:[/] {error.strerror}")
        raise typer.Exit(1) from None
    except OSError as error:
        console.print(f"[red]cannot start the local stack:[/] {error}")
        raise typer.Exit(1) from None
    finally:
        if announced:
            remove_state_if_ours()
    console.print("stopped")
    # Our servers are down and the state file is gone. Skip interpreter finalization: after heavy use,
    # library worker threads (anyio, asyncio executors) have been seen to keep it waiting for minutes.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@app.command()
def invoke(
    function_id: Annotated[str, typer.Argument(help="Logical id of the function in template.yaml.")],
    event: Annotated[Path, typer.Option("--event", "-e", help="Event JSON file (see events/).")],
) -> None:
    """Run one function in-process with an event, like `sam local invoke`, against the embedded endpoints."""
    from arrowhook_tools.embedded_aws import dynamodb
    from arrowhook_tools.local import local_stack, read_state, running_stack_functions, seed_demo_key

    try:
        payload: dict[str, Any] = json.loads(event.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        console.print(f"[red]cannot read event {shown(event)}:[/] {shown(error)}")
        raise typer.Exit(2) from None
    state = read_state()
    with contextlib.ExitStack() as stack:
        if state is not None:
            console.print(f"using the running local stack at {state['aws_endpoint']}")
            functions = running_stack_functions(state)
        else:
            console.print("no `make dev` running: using a temporary embedded AWS with the demo key")
            local = stack.enter_context(local_stack(api_port=None, pool_size=1))
            seed_demo_key(local.template, dynamodb(local.aws.endpoint))
            functions = local.functions
        if function_id not in functions:
            console.print(
                f"[red]no function {shown(repr(function_id))}[/]; template.yaml has: {', '.join(functions.names())}"
            )
            raise typer.Exit(2)
        with contextlib.redirect_stdout(sys.stderr):  # function logs to stderr, the result to stdout
            result = functions.invoke(function_id, payload)
    print(json.dumps(result, indent=2))


ApiUrl = Annotated[str | None, typer.Option("--api-url", envvar="ARROWHOOK_API_URL", help="Admin API base URL.")]
Token = Annotated[
    str | None, typer.Option("--token", envvar="ARROWHOOK_ADMIN_TOKEN", help="Admin bearer token.", show_default=False)
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
KeyId = Annotated[str, typer.Argument(help="Key id (see `arrowhook keys list`).")]
out = Console()


@contextlib.contextmanager
def _api_errors() -> Iterator[None]:
    """Any admin API failure becomes one message on stderr and exit code 1."""
    from arrowhook_tools.admin_client import AdminApiError

    try:
        yield
    except AdminApiError as error:
        console.print(f"[red]error:[/] {shown(error.detail)}")
        raise typer.Exit(1) from None


def _client(api_url: str | None, token: str | None) -> Any:
    from arrowhook_tools.admin_client import AdminClient, resolve_target

    with _api_errors():
        target = resolve_target(api_url, token, profile=_selected_profile)
    console.print(f"[dim]admin API {target.api_url} ({target.source})[/]")
    return AdminClient(target)


def _call(client: Any, method: str, path: str, **kwargs: Any) -> Any:
    with _api_errors():
        return client.request(method, path, **kwargs)


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
        console.print(
            '\nSecret, shown once: put it in the TradingView message as "key" (or end the webhook URL with it):'
        )
        print(key["secret"], flush=True)


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
        _call(_client(api_url, token), "POST", "/keys", json_body={"name": name, "description": description}), as_json
    )


@keys_app.command("list")
def keys_list(
    name: Annotated[str | None, typer.Option(help="Name prefix (case-insensitive).")] = None,
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List keys by name (every page)."""
    client = _client(api_url, token)
    with _api_errors():
        keys = client.all_keys(name)
    if as_json:
        print(json.dumps(keys, indent=2))
    else:
        _show_keys(keys, title=f"{len(keys)} key(s)")


@keys_app.command("show")
def keys_show(key_id: KeyId, api_url: ApiUrl = None, token: Token = None, as_json: AsJson = False) -> None:
    """Show one key."""
    _emit(_call(_client(api_url, token), "GET", f"/keys/{key_id}"), as_json)


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
    _emit(_call(_client(api_url, token), "PATCH", f"/keys/{key_id}", json_body=body), as_json)


@keys_app.command("disable")
def keys_disable(key_id: KeyId, api_url: ApiUrl = None, token: Token = None, as_json: AsJson = False) -> None:
    """Disable a key: its webhooks get 401 (within the webhook's key cache TTL)."""
    _emit(_call(_client(api_url, token), "PATCH", f"/keys/{key_id}", json_body={"enabled": False}), as_json)


@keys_app.command("enable")
def keys_enable(key_id: KeyId, api_url: ApiUrl = None, token: Token = None, as_json: AsJson = False) -> None:
    """Enable a disabled key."""
    _emit(_call(_client(api_url, token), "PATCH", f"/keys/{key_id}", json_body={"enabled": True}), as_json)


@keys_app.command("rotate")
def keys_rotate(
    key_id: KeyId,
    grace: Annotated[str, typer.Option(help="How long the old secret keeps working: 0, 90s, 30m, 12h, 7d.")] = "0",
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Issue a new secret (printed once); the old one works for the grace period."""
    seconds = _duration_seconds(grace)
    _emit(
        _call(_client(api_url, token), "POST", f"/keys/{key_id}/rotate", json_body={"grace_seconds": seconds}), as_json
    )


@keys_app.command("delete")
def keys_delete(
    key_id: KeyId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Delete a key: it stops authenticating (within the key cache TTL); its alerts are kept."""
    if not yes and not typer.confirm(f"Delete key {key_id}? Its webhooks will be rejected", default=False):
        raise typer.Exit(1)
    _call(_client(api_url, token), "DELETE", f"/keys/{key_id}")
    console.print(f"deleted {key_id}")


def _duration_seconds(text: str) -> int:
    """The API's duration grammar (arrowhook.durations), so `--grace 2w` means what `since=2w` does."""
    from arrowhook.durations import HELP, parse_duration

    try:
        return int(parse_duration(text).total_seconds())
    except ValueError:
        console.print(f"[red]invalid duration {shown(repr(text))}[/]: use {HELP}")
        raise typer.Exit(2) from None


Strategy = Annotated[str | None, typer.Option(help="Strategy (key) name.")]
KeyIdFilter = Annotated[str | None, typer.Option("--key-id", help="Strategy key id.")]
Ticker = Annotated[str | None, typer.Option(help="Ticker, e.g. BTCUSDT.")]
SideFilter = Annotated[str | None, typer.Option(help="buy, sell or close.")]
Since = Annotated[str | None, typer.Option(help="From: ISO 8601 or a duration back from now (24h, 7d).")]
Until = Annotated[str | None, typer.Option(help="To: ISO 8601 or a duration back from now.")]
EXPORT_COLUMNS = (
    "alert_id",
    "received_at",
    "strategy",
    "key_id",
    "ticker",
    "exchange",
    "side",
    "price",
    "quantity",
    "position_size",
    "market_position",
    "market_position_size",
    "prev_market_position",
    "interval",
    "order_id",
    "comment",
    "alert_message",
    "tv_time",
    "tv_timenow",
    "body_format",
    "parse_issues",
    "extra",
)


def _filters(
    strategy: str | None, key_id: str | None, ticker: str | None, side: str | None, since: str | None, until: str | None
) -> dict[str, Any]:
    return {"strategy": strategy, "key_id": key_id, "ticker": ticker, "side": side, "since": since, "until": until}


def _show_alerts(alerts: list[dict[str, Any]], title: str | None = None) -> None:
    from rich.table import Table

    table = Table(title=title)
    table.add_column("received (UTC)", no_wrap=True)
    for column in ("strategy", "ticker", "side", "price", "qty", "issues"):
        table.add_column(column)
    table.add_column("id", no_wrap=True, min_width=26)
    for alert in alerts:
        issues = len(alert.get("parse_issues") or [])
        table.add_row(
            shown(alert["received_at"][:23].replace("T", " ")),
            shown(alert["strategy"]),
            shown(alert.get("ticker") or ""),
            shown(alert.get("side") or ""),
            shown(alert.get("price") or ""),
            shown(alert.get("quantity") or ""),
            f"[yellow]{issues}[/]" if issues else "",
            shown(alert["alert_id"]),
        )
    out.print(table)


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
    client = _client(api_url, token)
    params = {**_filters(strategy, key_id, ticker, side, since, until), "limit": limit, "order": order}
    with _api_errors():
        if all_pages:
            alerts = [alert for page in client.pages("/alerts", params) for alert in page]
        else:
            alerts = client.request("GET", "/alerts", params=params)["items"]
    if as_json:
        print(json.dumps(alerts, indent=2))
    else:
        _show_alerts(alerts, title=f"{len(alerts)} alert(s)")


@alerts_app.command("show")
def alerts_show(
    alert_id: Annotated[str, typer.Argument(help="Alert id.")],
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """One alert: parsed fields, raw payload (secret removed), parse issues, receive metadata."""
    alert = _call(_client(api_url, token), "GET", f"/alerts/{alert_id}")
    if as_json:
        print(json.dumps(alert, indent=2))
        return
    from rich.table import Table

    table = Table(show_header=False, title=f"alert {alert_id}")
    for name, value in alert.items():
        if value not in (None, [], {}, ""):
            table.add_row(shown(name), shown(value if isinstance(value, str) else json.dumps(value)))
    out.print(table)


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
    stats = _call(
        _client(api_url, token), "GET", "/alerts/stats", params=_filters(strategy, key_id, ticker, side, since, until)
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

    from arrowhook_tools.admin_client import AdminApiError

    if file_format not in ("csv", "ndjson"):
        console.print(f"[red]unknown format {shown(repr(file_format))}[/]: use csv or ndjson")
        raise typer.Exit(2)
    client = _client(api_url, token)
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
                        row = {name: alert.get(name) for name in EXPORT_COLUMNS}
                        row["parse_issues"] = json.dumps(alert.get("parse_issues") or [])
                        row["extra"] = json.dumps(alert.get("extra") or {})
                        writer.writerow(row)
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
    interval: Annotated[float, typer.Option(help="Seconds between polls.")] = 2.0,
    max_polls: Annotated[int, typer.Option(hidden=True, help="Stop after this many polls (0: never).")] = 0,
    api_url: ApiUrl = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Print new alerts as they arrive (Ctrl-C to stop): each alert stored after it starts, once, in order."""
    import time

    from arrowhook_tools.tail import AlertFollower

    try:
        follower = AlertFollower.starting(since)
    except ValueError as error:
        console.print(f"[red]invalid --since:[/] {shown(error)}")
        raise typer.Exit(2) from None
    client = _client(api_url, token)
    polls = 0
    try:
        while True:
            params = {
                **_filters(strategy, key_id, ticker, side, follower.query_since(), None),
                "limit": 500,
                "order": "oldest",
            }
            with _api_errors():
                listed = [alert for page in client.pages("/alerts", params) for alert in page]
            for alert in follower.fresh(listed):
                if as_json:
                    print(json.dumps(alert), flush=True)
                else:
                    out.print(
                        f"{shown(alert['received_at'][:23].replace('T', ' '))}  {shown(alert['strategy']):<16} "
                        f"{shown(alert.get('ticker') or '-'):<10} {shown(alert.get('side') or '-'):<5} "
                        f"{shown(alert.get('price') or '-'):>14}  {shown(alert['alert_id'])}"
                    )
            polls += 1
            if max_polls and polls >= max_polls:
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        console.print("stopped")


def _invoke_local_archive(event: dict[str, Any]) -> dict[str, Any]:
    """Run the template's ArchiveFunction in this process against the running `make dev` stack."""
    from arrowhook_tools.local import read_state, running_stack_functions

    state = read_state()
    if state is None:
        console.print("[red]no `make dev` running[/]: start it, or pass --stack NAME for a deployed stack")
        raise typer.Exit(1)
    console.print(f"[dim]local stack at {state['aws_endpoint']}[/]")
    functions = running_stack_functions(state)
    with contextlib.redirect_stdout(sys.stderr):  # the function's logs to stderr, the result to stdout
        result: dict[str, Any] = functions.invoke("ArchiveFunction", event)
    return result


def _invoke_deployed_archive(stack: str, region: str | None, event: dict[str, Any]) -> dict[str, Any]:
    """Invoke the stack's ArchiveFunction synchronously with your AWS credentials (it may run 15 minutes)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        resource = boto3.client("cloudformation", region_name=region).describe_stack_resource(
            StackName=stack, LogicalResourceId="ArchiveFunction"
        )
        function_name = resource["StackResourceDetail"]["PhysicalResourceId"]
        console.print(f"[dim]invoking {function_name} (stack {stack})[/]")
        config = Config(read_timeout=910, retries={"total_max_attempts": 1})
        response = boto3.client("lambda", region_name=region, config=config).invoke(
            FunctionName=function_name, Payload=json.dumps(event).encode()
        )
    except (BotoCoreError, ClientError) as error:
        console.print(f"[red]cannot invoke the archive function of {stack}:[/] {error}")
        raise typer.Exit(1) from None
    result: dict[str, Any] = json.loads(response["Payload"].read() or b"{}")
    if response.get("FunctionError"):
        console.print(f"[red]the archive run failed:[/] {shown(result.get('errorMessage', result))}")
        console.print("nothing is lost: the next run resumes from the journal (see docs/operations.md)")
        raise typer.Exit(1)
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
        event["older_than_seconds"] = _duration_seconds(older_than)
    result = _invoke_deployed_archive(stack, region, event) if stack else _invoke_local_archive(event)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    status = result.get("status")
    if status == "rejected":
        console.print(f"[red]rejected:[/] {shown('; '.join(result.get('errors', [])))}")
        raise typer.Exit(2)
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


@app.command()
def login(
    stack: Annotated[str, typer.Option(help="CloudFormation stack name, e.g. arrowhook-dev.")],
    region: Annotated[str | None, typer.Option(help="AWS region (default: your AWS configuration's).")] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="Save under this name (default: the global --profile or 'default').")
    ] = None,
) -> None:
    """Save a deployed stack's API URL and admin token (read with your AWS credentials) for later commands."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from arrowhook_tools.admin_client import DEFAULT_PROFILE, save_login

    try:
        described = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack)
        outputs = {output["OutputKey"]: output["OutputValue"] for output in described["Stacks"][0].get("Outputs", [])}
        parameter = boto3.client("ssm", region_name=region).get_parameter(
            Name=outputs["AdminTokenParameterName"], WithDecryption=True
        )
    except KeyError as missing:
        console.print(f"[red]stack {stack} has no output {missing}[/]: is it an Arrowhook stack?")
        raise typer.Exit(1) from None
    except (BotoCoreError, ClientError) as error:
        console.print(f"[red]cannot read stack {stack}:[/] {error}")
        raise typer.Exit(1) from None
    name = profile or _selected_profile or DEFAULT_PROFILE
    saved = save_login(outputs["ApiUrl"], parameter["Parameter"]["Value"], stack, profile=name)
    console.print(f"logged in to {outputs['ApiUrl']} as profile {name!r} (saved in {saved})")


@app.command()
def openapi(
    output: Annotated[Path, typer.Option(help="Where to write the merged OpenAPI document.")] = Path("openapi.json"),
) -> None:
    """Write one OpenAPI document for the whole HTTP API (webhook, health, admin routes)."""
    from arrowhook_tools.openapi import write

    console.print(f"wrote {write(output)}")


def main() -> None:
    app()
