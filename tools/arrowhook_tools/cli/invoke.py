"""Run one of the template's functions now, as its schedule would: in this process against the running
`make dev`, or on a deployed stack with your AWS credentials (`--stack`)."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

import typer

from arrowhook_tools.cli.common import console


class FunctionError(Exception):
    """The function ran and failed (its error message is in `message`)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def invoke_function(
    logical_id: str, event: dict[str, Any], *, stack: str | None, region: str | None, read_timeout: float
) -> dict[str, Any]:
    return _deployed(logical_id, stack, region, event, read_timeout) if stack else _local(logical_id, event)


def _local(logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
    from arrowhook_tools.local.stack import read_state, running_stack_functions

    state = read_state()
    if state is None:
        console.print("[red]no `make dev` running[/]: start it, or pass --stack NAME for a deployed stack")
        raise typer.Exit(1)
    console.print(f"[dim]local stack at {state['aws_endpoint']}[/]")
    functions = running_stack_functions(state)
    with contextlib.redirect_stdout(sys.stderr):  # the function's logs to stderr, the result to stdout
        try:
            result: dict[str, Any] = functions.invoke(logical_id, event)
        except Exception as error:  # what Lambda reports as a FunctionError, not a traceback of ours
            raise FunctionError(f"{type(error).__name__}: {error}") from None
    return result


def _deployed(
    logical_id: str, stack: str, region: str | None, event: dict[str, Any], read_timeout: float
) -> dict[str, Any]:
    """Invoke the stack's function synchronously (it may run until its own timeout)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        resource = boto3.client("cloudformation", region_name=region).describe_stack_resource(
            StackName=stack, LogicalResourceId=logical_id
        )
        function_name = resource["StackResourceDetail"]["PhysicalResourceId"]
        console.print(f"[dim]invoking {function_name} (stack {stack})[/]")
        config = Config(read_timeout=read_timeout, retries={"total_max_attempts": 1})
        response = boto3.client("lambda", region_name=region, config=config).invoke(
            FunctionName=function_name, Payload=json.dumps(event).encode()
        )
    except (BotoCoreError, ClientError) as error:
        console.print(f"[red]cannot invoke {logical_id} of {stack}:[/] {error}")
        raise typer.Exit(1) from None
    result: dict[str, Any] = json.loads(response["Payload"].read() or b"{}")
    if response.get("FunctionError"):
        raise FunctionError(str(result.get("errorMessage", result)))
    return result
