"""`arrowhook destroy` (`make destroy STACK=...`): delete a deployed stack with `sam delete`, after the
operator types its name, and list what stays, with the commands that remove each.

What stays is read from template.yaml, not kept by hand: every resource with `DeletionPolicy: Retain`
(each says why in its `RetainedBecause` metadata), plus what the stack creates at run time and so
CloudFormation never knew: the destinations' secrets under `/arrowhook/<stack>/destinations/`.
"""

from __future__ import annotations

import subprocess  # nosec B404 - runs sam delete, a fixed argument list
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from arrowhook_tools.cli.common import console, out
from arrowhook_tools.cli.render import shown
from arrowhook_tools.local.template import PROJECT_ROOT, LocalTemplate

SAM = PROJECT_ROOT / ".venv-sam" / "bin" / "sam"


@dataclass(frozen=True)
class Kept:
    """Something the stack's deletion leaves in the account: what, why, and how to remove it."""

    what: str
    why: str
    remove: tuple[str, ...]


def _removal(kind: str, physical: str, region: str) -> tuple[str, ...]:
    if kind == "AWS::DynamoDB::Table":
        return (
            f"aws dynamodb update-table --region {region} --table-name {physical} --no-deletion-protection-enabled",
            f"aws dynamodb delete-table --region {region} --table-name {physical}",
        )
    if kind == "AWS::S3::Bucket":  # versioned: every version goes first (the console's "Empty" does it)
        return (
            f"empty s3://{physical} of every object version (S3 console: Empty), then",
            f"aws s3 rb --region {region} s3://{physical}",
        )
    return (f"remove {physical} ({kind}) in the AWS console",)


def kept_after_delete(template: LocalTemplate, physical: Mapping[str, str], stack: str, region: str) -> list[Kept]:
    """What `sam delete` leaves: the retained resources (by their physical names) and run-time secrets."""
    kept = []
    for logical_id, resource in template.raw["Resources"].items():
        if resource.get("DeletionPolicy") != "Retain":
            continue
        name = physical.get(logical_id, logical_id)
        why = str((resource.get("Metadata") or {}).get("RetainedBecause", "kept by the template"))
        kept.append(Kept(f"{logical_id} {name}", why, _removal(resource["Type"], name, region)))
    prefix = f"/arrowhook/{stack}/destinations/"
    kept.append(
        Kept(
            f"SSM parameters under {prefix}",
            "The destinations' URLs and bot tokens, created when a destination is added, not by CloudFormation.",
            (
                f"aws ssm get-parameters-by-path --region {region} --path {prefix} --query 'Parameters[].Name' "
                f"--output text | xargs -r -n 10 aws ssm delete-parameters --region {region} --names",
            ),
        )
    )
    return kept


def stack_resources(stack: str, region: str | None) -> tuple[dict[str, str], str]:
    """The stack's logical id -> physical id, and its region (from the SDK's configuration)."""
    import boto3

    client = boto3.client("cloudformation", region_name=region)
    found: dict[str, str] = {}
    for page in client.get_paginator("list_stack_resources").paginate(StackName=stack):
        found.update(
            {item["LogicalResourceId"]: item.get("PhysicalResourceId", "") for item in page["StackResourceSummaries"]}
        )
    return found, client.meta.region_name


def destroy(
    stack: Annotated[str, typer.Option("--stack", help="The deployed stack's name.")],
    region: Annotated[str | None, typer.Option(help="Its region (default: the AWS CLI's).")] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Do not ask (scripts): the stack name is the confirmation.")
    ] = False,
) -> None:
    """Delete a deployed stack (`sam delete`) after you type its name, then list what stays (retained
    tables and archive, destination secrets) with the commands that remove each."""
    teardown(stack, region, yes=yes)


def teardown(
    stack: str,
    region: str | None,
    *,
    yes: bool = False,
    resources: Callable[[str, str | None], tuple[dict[str, str], str]] = stack_resources,
    run: Callable[[list[str]], Any] = lambda command: subprocess.run(command, check=True),  # nosec B603
    sam: Path = SAM,
) -> None:
    try:
        physical, region_name = resources(stack, region)
    except Exception as error:  # no such stack, no credentials: nothing to delete
        console.print(f"[red]cannot read stack {shown(stack)}:[/] {shown(error)}")
        raise typer.Exit(1) from None
    kept = kept_after_delete(LocalTemplate(), physical, stack, region_name)
    out.print(f"sam delete removes {shown(stack)}'s {len(physical)} resources in {shown(region_name)}; these stay:")
    for item in kept:
        out.print(f"  {shown(item.what)}: {shown(item.why)}")
    if not yes and typer.prompt("Type the stack's name to delete it", default="") != stack:
        console.print("not deleted: the name did not match")
        raise typer.Exit(1)
    run([str(sam), "delete", "--stack-name", stack, "--region", region_name, "--no-prompts"])
    out.print(f"\n{shown(stack)} deleted. What stays, and how to remove it (only if you are sure):")
    for item in kept:
        out.print(f"  {shown(item.what)}")
        for command in item.remove:
            out.print(f"    {shown(command)}")
