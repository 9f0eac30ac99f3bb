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


def _stop_on_sigterm(_signal: int, _frame: object) -> None:
    """`kill` stops the stack as cleanly as Ctrl-C does."""
    raise KeyboardInterrupt


@app.command()
def dev(
    port: Annotated[int, typer.Option(help="Port of the local HTTP API.")] = 3000,
    aws_port: Annotated[int, typer.Option(help="Port of the embedded AWS endpoints (0: any free port).")] = 4566,
) -> None:
    """Run the stack locally: embedded AWS (moto) + template.yaml's HTTP API on 127.0.0.1. Ctrl-C stops."""
    from arrowhook_tools.embedded_aws import dynamodb
    from arrowhook_tools.local import DEMO_SECRET, STATE_FILE, local_stack, seed_demo_key, write_state
    from arrowhook_tools.samples import strategy_alert

    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    announced = False
    try:
        with local_stack(api_port=port, aws_port=aws_port) as stack:
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


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Strategy name (unique).")],
    description: Annotated[str, typer.Option(help="Free text.")] = "",
    table: Annotated[
        str | None,
        typer.Option(help="Keys table of a deployed stack (stack output KeysTableName); uses your AWS credentials."),
    ] = None,
) -> None:
    """Create a strategy key and print its secret (shown once): in `make dev`'s stack, or a deployed one."""
    import boto3
    from pydantic import ValidationError

    from arrowhook.errors import ArrowhookError, NameTakenError
    from arrowhook.keys import create_key
    from arrowhook.store import KeyStore
    from arrowhook_tools.embedded_aws import dynamodb
    from arrowhook_tools.local import read_state
    from arrowhook_tools.template import LocalTemplate

    if table is not None:
        store = KeyStore(table, client=boto3.client("dynamodb"))
    else:
        state = read_state()
        if state is None:
            console.print("[red]no local stack running:[/] start one with `make dev`, or pass --table")
            raise typer.Exit(1)
        store = KeyStore(LocalTemplate().physical_name("KeysTable"), client=dynamodb(state["aws_endpoint"]))
    try:
        key, secret = create_key(store, name, description)
    except NameTakenError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(1) from None
    except ValidationError as error:
        console.print(f"[red]invalid key:[/] {error.errors()[0]['msg']}")
        raise typer.Exit(2) from None
    except ArrowhookError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(1) from None
    print(json.dumps({**key.model_dump(mode="json"), "secret": secret}, indent=2))


def main() -> None:
    app()
