"""`arrowhook`: the developer and operator command line, one module per command group."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from arrowhook_tools.cli import ledger  # noqa: F401 - registers `strategies ledger` and `reconcile`
from arrowhook_tools.cli.alerts import alerts_app
from arrowhook_tools.cli.archive import archive_app
from arrowhook_tools.cli.common import (
    console,
    selected,
)
from arrowhook_tools.cli.config import config_app
from arrowhook_tools.cli.deliveries import deliveries_app
from arrowhook_tools.cli.destinations import destinations_app
from arrowhook_tools.cli.dev import dev, invoke, sam_env, sink
from arrowhook_tools.cli.keys import keys_app
from arrowhook_tools.cli.live import live
from arrowhook_tools.cli.restore import restore_app
from arrowhook_tools.cli.signals import signals_app
from arrowhook_tools.cli.teardown import destroy

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    help="Arrowhook: TradingView alerts on AWS.",
)
app.add_typer(keys_app, name="strategies")
app.add_typer(keys_app, name="keys", hidden=True)  # the first spelling, kept as an alias
app.add_typer(alerts_app, name="alerts")
app.add_typer(archive_app, name="archive")
app.add_typer(restore_app, name="restore")
app.add_typer(config_app, name="config")
app.add_typer(destinations_app, name="destinations")
app.add_typer(deliveries_app, name="deliveries")
app.add_typer(signals_app, name="signals")
app.command()(dev)
app.command()(live)
app.command()(destroy)
app.command()(invoke)
app.command(name="sam-env")(sam_env)
app.command()(sink)


@app.callback()
def _global_options(
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile", envvar="ARROWHOOK_PROFILE", help="Saved login to use (see `arrowhook login --profile`)."
        ),
    ] = None,
) -> None:
    selected.profile = profile


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

    from arrowhook_tools.cli.admin_client import DEFAULT_PROFILE, save_login

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
    name = profile or selected.profile or DEFAULT_PROFILE
    saved = save_login(outputs["ApiUrl"], parameter["Parameter"]["Value"], stack, profile=name)
    console.print(f"logged in to {outputs['ApiUrl']} as profile {name!r} (saved in {saved})")


@app.command()
def openapi(
    output: Annotated[Path, typer.Option(help="Where to write the merged OpenAPI document.")] = Path("openapi.json"),
) -> None:
    """Write one OpenAPI document for the whole HTTP API (webhook, health, admin routes)."""
    from arrowhook_tools.generators.openapi import write

    console.print(f"wrote {write(output)}")


def main() -> None:
    app()
