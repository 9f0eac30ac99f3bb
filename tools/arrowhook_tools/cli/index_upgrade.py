"""`make upgrade-indexes`: move a stack deployed before the lean alert indexes onto them, one deploy per
index (CloudFormation creates or deletes one global secondary index per table update, and does not wait
for a new one to be built: a further update fails until it is).

It reads where the table stands (so an interrupted upgrade resumes), then for each remaining step of the
template's AlertIndexUpgrade parameter: waits until every index is built, runs `sam deploy` with that
step (the environment's own parameter overrides kept), and waits again. The last step is `done`, the
parameter's default, so later plain deploys change nothing. docs/deploy.md, "Upgrading".
"""

from __future__ import annotations

import argparse
import subprocess  # nosec B404 - runs sam, as make deploy does
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

from arrowhook_tools.local.template import PROJECT_ROOT, LocalTemplate

#: The template's AlertIndexUpgrade values in the order a deploy takes them.
STEPS = ("add-strategy-index", "add-day-index", "drop-ticker-index", "drop-strategy-index", "done")
#: The indexes of a stack deployed before the upgrade existed.
OLD_INDEXES = frozenset({"ByStrategy", "ByTicker", "ByDay"})


def indexes_at(step: str) -> frozenset[str]:
    """The alerts table's indexes once a step is deployed, as the template says."""
    template = LocalTemplate(parameter_overrides={"AlertIndexUpgrade": step})
    table = template.tables()[template.physical_name("AlertsTable")]
    return frozenset(index["IndexName"] for index in table.get("GlobalSecondaryIndexes", []))


def remaining_steps(current: frozenset[str]) -> list[str]:
    """The steps still to deploy from a table with these indexes (all of them from the old layout)."""
    if current == OLD_INDEXES:
        return list(STEPS)
    for position, step in enumerate(STEPS):
        if indexes_at(step) == current:
            return list(STEPS[position + 1 :])
    raise SystemExit(f"the alerts table's indexes {sorted(current)} match no upgrade step: see docs/deploy.md")


def overrides_of(config_env: str, samconfig: Path = PROJECT_ROOT / "samconfig.toml") -> tuple[str, str]:
    """(stack name, parameter overrides) of a samconfig environment: a step's override is added to them,
    since `--parameter-overrides` on the command line replaces the file's."""
    config = tomllib.loads(samconfig.read_text())[config_env]
    stack = config["global"]["parameters"]["stack_name"]
    return stack, str(config.get("deploy", {}).get("parameters", {}).get("parameter_overrides", ""))


class IndexUpgrade:
    def __init__(
        self,
        stack: str,
        deploy: Callable[[str], None],
        *,
        cloudformation: Any = None,
        dynamodb: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        poll_seconds: float = 30,
    ) -> None:
        self.stack = stack
        self._deploy = deploy
        self._cloudformation = cloudformation or boto3.client("cloudformation")
        self._dynamodb = dynamodb or boto3.client("dynamodb")
        self._sleep = sleep
        self._poll_seconds = poll_seconds

    def run(self, say: Callable[[str], None] = print) -> list[str]:
        """Deploy each remaining step; returns the steps deployed."""
        table = self._cloudformation.describe_stack_resource(StackName=self.stack, LogicalResourceId="AlertsTable")[
            "StackResourceDetail"
        ]["PhysicalResourceId"]
        steps = remaining_steps(self._built(table, say))
        for step in steps:
            say(f"deploying AlertIndexUpgrade={step}")
            self._deploy(step)
            self._built(table, say)
        say("the alert indexes are upgraded" if steps else "nothing to do: the alert indexes are upgraded")
        return steps

    def _built(self, table: str, say: Callable[[str], None]) -> frozenset[str]:
        """Wait until no index of the table is being built or dropped; its indexes then."""
        while True:
            described = self._dynamodb.describe_table(TableName=table)["Table"]
            indexes = described.get("GlobalSecondaryIndexes", [])
            busy = sorted(index["IndexName"] for index in indexes if index.get("IndexStatus") != "ACTIVE")
            if not busy:
                return frozenset(index["IndexName"] for index in indexes)
            say(f"waiting for {', '.join(busy)} (an index is built in minutes per GB of alerts)")
            self._sleep(self._poll_seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config-env", default="default", help="samconfig.toml environment (make's ENV)")
    parser.add_argument("--sam", default="sam", help="the sam executable")
    arguments = parser.parse_args(argv)
    stack, overrides = overrides_of(arguments.config_env)

    def deploy(step: str) -> None:
        command = [arguments.sam, "deploy", "--config-env", arguments.config_env, "--no-confirm-changeset"]
        command += ["--parameter-overrides", f"{overrides} AlertIndexUpgrade={step}".strip()]
        subprocess.run(command, check=True, cwd=PROJECT_ROOT)  # nosec B603

    IndexUpgrade(stack, deploy).run()


if __name__ == "__main__":
    main(sys.argv[1:])
