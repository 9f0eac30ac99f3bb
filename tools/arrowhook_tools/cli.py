"""`arrowhook`: the developer and operator command line."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    help="Arrowhook: TradingView alerts on AWS.",
)
keys_app = typer.Typer(no_args_is_help=True, help="Manage strategy keys.")
app.add_typer(keys_app, name="keys")
console = Console(stderr=True)


def _parameter_overrides(values: list[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for pair in (part for value in values for part in value.split()):
        name, separator, setting = pair.partition("=")
        if not separator or not name:
            console.print(f"[red]invalid parameter override {pair!r}[/]: use Name=Value")
            raise typer.Exit(2)
        overrides[name] = setting
    return overrides


def _stop_on_sigterm(_signal: int, _frame: object) -> None:
    """`kill` stops the stack as cleanly as Ctrl-C does."""
    raise KeyboardInterrupt


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
    from arrowhook_tools.local import DEMO_SECRET, STATE_FILE, local_stack, seed_demo_key, write_state
    from arrowhook_tools.samples import strategy_alert

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
            console.print("Ctrl-C to stop.")
            stack.api.serve_forever_until_interrupted()
    except KeyboardInterrupt:
        pass
    except OSError as error:
        console.print(f"[red]cannot start the local stack:[/] {error} (is another `make dev` running?)")
        raise typer.Exit(1) from None
    finally:
        if announced:
            with contextlib.suppress(FileNotFoundError):
                STATE_FILE.unlink()
    console.print("stopped")


@app.command()
def invoke(
    function_id: Annotated[str, typer.Argument(help="Logical id of the function in template.yaml.")],
    event: Annotated[Path, typer.Option("--event", "-e", help="Event JSON file (see events/).")],
) -> None:
    """Run one function in-process with an event, like `sam local invoke`, against the embedded endpoints."""
    from arrowhook_tools.embedded_aws import dynamodb, point_sdk_at
    from arrowhook_tools.local import local_stack, read_state, seed_demo_key
    from arrowhook_tools.runtime import LocalFunctions
    from arrowhook_tools.template import LocalTemplate

    try:
        payload: dict[str, Any] = json.loads(event.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        console.print(f"[red]cannot read event {event}:[/] {error}")
        raise typer.Exit(2) from None
    state = read_state()
    with contextlib.ExitStack() as stack:
        if state is not None:
            console.print(f"using the running local stack at {state['aws_endpoint']}")
            point_sdk_at(state["aws_endpoint"])
            template = LocalTemplate()
            functions = LocalFunctions(template, pool_size=1)
        else:
            console.print("no `make dev` running: using a temporary embedded AWS with the demo key")
            local = stack.enter_context(local_stack(api_port=None, pool_size=1))
            seed_demo_key(local.template, dynamodb(local.aws.endpoint))
            functions = local.functions
        if function_id not in functions:
            console.print(f"[red]no function {function_id!r}[/]; template.yaml has: {', '.join(functions.names())}")
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


def _client(api_url: str | None, token: str | None) -> Any:
    from arrowhook_tools.admin_client import AdminApiError, AdminClient, resolve_target

    try:
        target = resolve_target(api_url, token)
    except AdminApiError as error:
        console.print(f"[red]{error.detail}[/]")
        raise typer.Exit(1) from None
    console.print(f"[dim]admin API {target.api_url} ({target.source})[/]")
    return AdminClient(target)


def _call(client: Any, method: str, path: str, **kwargs: Any) -> Any:
    from arrowhook_tools.admin_client import AdminApiError

    try:
        return client.request(method, path, **kwargs)
    except AdminApiError as error:
        console.print(f"[red]error:[/] {error.detail}")
        raise typer.Exit(1) from None


def _show_keys(keys: list[dict[str, Any]], title: str | None = None) -> None:
    from rich.table import Table

    table = Table(title=title)
    table.add_column("id", no_wrap=True, min_width=26)
    for column in ("name", "status", "secret prefix", "created", "description"):
        table.add_column(column)
    for key in keys:
        status = key["status"] if key["status"] == "active" else f"[yellow]{key['status']}[/]"
        table.add_row(
            key["id"], key["name"], status, key["secret_prefix"] + "...", key["created_at"][:10], key["description"]
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
    from arrowhook_tools.admin_client import AdminApiError

    client = _client(api_url, token)
    try:
        keys = client.all_keys(name)
    except AdminApiError as error:
        console.print(f"[red]error:[/] {error.detail}")
        raise typer.Exit(1) from None
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
    units = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
    value = text.strip().lower()
    try:
        if value and value[-1] in units:
            return int(value[:-1]) * units[value[-1]]
        return int(value)
    except ValueError:
        console.print(f"[red]invalid duration {text!r}[/]: use seconds or 90s, 30m, 12h, 7d")
        raise typer.Exit(2) from None


@app.command()
def login(
    stack: Annotated[str, typer.Option(help="CloudFormation stack name, e.g. arrowhook-dev.")],
    region: Annotated[str | None, typer.Option(help="AWS region (default: your AWS configuration's).")] = None,
) -> None:
    """Save a deployed stack's API URL and admin token (read with your AWS credentials) for later commands."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from arrowhook_tools.admin_client import save_login

    try:
        described = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack)
        outputs = {output["OutputKey"]: output["OutputValue"] for output in described["Stacks"][0].get("Outputs", [])}
        secret_arn = outputs["AdminTokenSecretArn"]
        token = boto3.client("secretsmanager", region_name=region).get_secret_value(SecretId=secret_arn)
    except KeyError as missing:
        console.print(f"[red]stack {stack} has no output {missing}[/]: is it an Arrowhook stack?")
        raise typer.Exit(1) from None
    except (BotoCoreError, ClientError) as error:
        console.print(f"[red]cannot read stack {stack}:[/] {error}")
        raise typer.Exit(1) from None
    saved = save_login(outputs["ApiUrl"], token["SecretString"], stack)
    console.print(f"logged in to {outputs['ApiUrl']} (saved in {saved})")


@app.command()
def openapi(
    output: Annotated[Path, typer.Option(help="Where to write the merged OpenAPI document.")] = Path("openapi.json"),
) -> None:
    """Write one OpenAPI document for the whole HTTP API (webhook, health, admin routes)."""
    from arrowhook_tools.openapi import write

    console.print(f"wrote {write(output)}")


def main() -> None:
    app()
