"""`arrowhook archive run`: the archive, locally or on a deployed stack."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Annotated, Any

import typer

from arrowhook_tools.cli.common import (
    AsJson,
    console,
    duration_seconds,
    out,
)
from arrowhook_tools.render import shown

archive_app = typer.Typer(no_args_is_help=True, help="Move old alerts to the S3 archive.")


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
        event["older_than_seconds"] = duration_seconds(older_than)
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
