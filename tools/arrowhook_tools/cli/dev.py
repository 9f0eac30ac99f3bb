"""`arrowhook dev` and `arrowhook invoke`: the local stack and running one function in-process."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from arrowhook_tools.cli.common import (
    console,
)
from arrowhook_tools.cli.render import shown


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
            from arrowhook_tools.local.state import remove_state_if_ours

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
            f"first, or give this one a folder of its own (ARROWHOOK_STATE_DIR=<folder>): its state file, its kept "
            f"data and its sam-env.json live there, so the two never share one"
        )
        raise typer.Exit(1)


def _announce(stack: Any, key: Any) -> None:
    from arrowhook_tools.cli.samples import strategy_alert
    from arrowhook_tools.local.stack import DEMO_SECRET

    url = stack.api.url
    console.print(f"[bold green]Arrowhook local stack is up[/]  (embedded AWS at {stack.aws.endpoint})")
    for route in stack.template.routes():
        console.print(f"  {route.method:6} {url}{route.path}  -> {route.function_id}")
    console.print(f"\nWeb console: [bold]{url}/console[/] (sign in with the admin token below)")
    console.print(f"API docs:    {url}/docs")
    if stack.websocket is not None:
        console.print(f"Live alerts: {stack.websocket.url}  (a ticket first: arrowhook live, docs/live.md)")
    console.print(f"\nDemo strategy [bold]{key.name}[/] ({key.id}), secret: [bold]{DEMO_SECRET}[/]")
    body = strategy_alert(DEMO_SECRET)
    console.print(f"Admin token: [bold]{stack.admin_token}[/]  (admin routes need Authorization: Bearer ...)")
    console.print("Try it:\n")
    print(f"curl -s -X POST {url}/webhook -H 'Content-Type: application/json' -d '{body}'\n", flush=True)
    print(f"curl -s {url}/strategies -H 'Authorization: Bearer {stack.admin_token}'\n", flush=True)


def _announce_sam_local(stack: Any, env_file: Path) -> None:
    if stack.aws.container_endpoint is None:
        console.print(f"sam local: no Docker bridge found; {env_file} points at {stack.aws.endpoint} (host only)")
        return
    console.print(
        f"sam local: containers reach the embedded AWS at {stack.aws.container_endpoint}; every function's "
        f"variables are in {env_file}:"
    )
    print("  .venv-sam/bin/sam local invoke --config-env local WebhookFunction -e events/webhook-strategy-alert.json")
    print("  .venv-sam/bin/sam local start-api --config-env local   # on port 3001\n", flush=True)


def dev(
    port: Annotated[int, typer.Option(help="Port of the local HTTP API.")] = 3000,
    aws_port: Annotated[int, typer.Option(help="Port of the embedded AWS endpoints (0: any free port).")] = 4566,
    parameter_overrides: Annotated[
        list[str] | None,
        typer.Option(help="Template parameters, as for sam deploy: Name=Value (repeatable).", show_default=False),
    ] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Start from nothing: forget the keys, alerts and admin token kept so far.")
    ] = False,
    reload: Annotated[
        bool, typer.Option("--reload/--no-reload", help="Run changed function or layer code without a restart.")
    ] = True,
    containers: Annotated[
        bool,
        typer.Option(
            "--containers/--no-containers",
            help="Also serve the embedded AWS on Docker's bridge, for `sam local` (only where docker0 exists).",
        ),
    ] = True,
) -> None:
    """Run the stack locally: embedded AWS (moto) + template.yaml's HTTP API on 127.0.0.1. Ctrl-C stops.
    Its data (keys, alerts, destinations, the admin token) is kept across restarts in .arrowhook/state/."""
    from arrowhook_tools.local import snapshot as snapshots
    from arrowhook_tools.local.containers import write_sam_env
    from arrowhook_tools.local.ports import PortInUseError
    from arrowhook_tools.local.stack import (
        STATE_FILE,
        local_stack,
        read_state,
        remove_state_if_ours,
        seed_demo_key,
        write_state,
    )
    from arrowhook_tools.local.template import ParameterError
    from arrowhook_tools.standins.embedded_aws import dynamodb

    _refuse_a_second_stack_on_one_state_file(read_state())
    # Ctrl-C stops the stack even when it was started from a background job, where the shell leaves
    # SIGINT ignored (and Python then keeps it ignored): `make test` under `nohup ... &` hung here.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    announced = False
    try:
        overrides = _parameter_overrides(parameter_overrides or [])
        if fresh:
            snapshots.discard(snapshots.SNAPSHOT_FILE)
        with local_stack(
            api_port=port,
            aws_port=aws_port,
            parameter_overrides=overrides,
            snapshot=snapshots.SNAPSHOT_FILE,
            reload=reload,
            containers=containers,
        ) as stack:
            if stack.api is None:
                raise typer.Exit(1)
            key = seed_demo_key(stack.template, dynamodb(stack.aws.endpoint))
            write_state(stack)
            sam_env = write_sam_env(stack.template, stack.aws.container_endpoint or stack.aws.endpoint)
            announced = True
            _announce(stack, key)
            _announce_sam_local(stack, sam_env)
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


def invoke(
    function_id: Annotated[str, typer.Argument(help="Logical id of the function in template.yaml.")],
    event: Annotated[Path, typer.Option("--event", "-e", help="Event JSON file (see events/).")],
) -> None:
    """Run one function in-process with an event, like `sam local invoke`, against the embedded endpoints."""
    from arrowhook_tools.local.stack import local_stack, read_state, running_stack_functions, seed_demo_key
    from arrowhook_tools.standins.embedded_aws import dynamodb

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
            local = stack.enter_context(local_stack(api_port=None, pool_size=1, streams=False))
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


def sink(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 3001,
) -> None:
    """Local stand-ins for Discord, Slack, Telegram and webhook receivers that print what they get.

    Point a destination at it under `make dev` (which allows http:// destinations), for example
    `arrowhook destinations add webhook --url http://127.0.0.1:3001/hook/me`; Ctrl-C stops it."""
    import threading

    from arrowhook_tools.standins.receivers import Received, Receivers

    def show(received: Received) -> None:
        body = received.body.decode("utf-8", "replace")
        signed = f"  webhook-id {received.headers.get('webhook-id')}" if "webhook-id" in received.headers else ""
        console.print(f"[bold]POST {shown(received.path)}[/]{signed}")
        print(body, flush=True)

    try:
        receivers = Receivers(port=port, on_receive=show).start()
    except OSError as error:
        console.print(f"[red]cannot listen on 127.0.0.1:{port}:[/] {shown(error)}")
        raise typer.Exit(1) from None
    console.print(f"sink listening at {receivers.url}: /discord/api/webhooks/<id>/<token>, /slack/..., /hook/<name>")
    console.print(f"  (Telegram: arrowhook dev --parameter-overrides TelegramApiUrl={receivers.url}/telegram)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        receivers.stop()
        console.print("stopped")


DEPLOYED_SAM_ENV = Path(".arrowhook/sam-env-deployed.json")


def sam_env(
    stack: Annotated[str, typer.Option(help="Deployed stack whose functions' variables to write.")],
    output: Annotated[Path, typer.Option(help="The --env-vars file to write.")] = DEPLOYED_SAM_ENV,
    region: Annotated[str | None, typer.Option(help="AWS region of --stack.")] = None,
) -> None:
    """Write `sam local invoke --env-vars` for a deployed stack: its functions' variables as Lambda has them,
    so local code runs against that stack's tables and bucket (`make dev` writes the local one itself)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from arrowhook_tools.local.containers import deployed_env_vars, write_env_vars
    from arrowhook_tools.local.template import LocalTemplate

    try:
        documents = deployed_env_vars(
            LocalTemplate(),
            stack,
            boto3.client("cloudformation", region_name=region),
            boto3.client("lambda", region_name=region),
        )
    except (BotoCoreError, ClientError) as error:
        console.print(f"[red]cannot read the functions of {shown(stack)}:[/] {shown(error)}")
        raise typer.Exit(1) from None
    written = write_env_vars(documents, output)
    console.print(
        f"wrote {written} ({len(documents)} functions of {shown(stack)}); then, with that stack's credentials:"
    )
    print(f"  sam local invoke WebhookFunction -e events/webhook-strategy-alert.json --env-vars {written}")
