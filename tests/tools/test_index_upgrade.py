"""`make upgrade-indexes`: from an older stack's three ALL-projected indexes to the two lean ones, one
deploy per index, waiting for each index to be built, resuming where an interrupted upgrade stopped.
AWS is stubbed with botocore's Stubber (no request leaves this machine)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from arrowhook_tools.cli.index_upgrade import (
    OLD_INDEXES,
    STEPS,
    IndexUpgrade,
    indexes_at,
    overrides_of,
    remaining_steps,
)


def _table(*indexes: tuple[str, str]) -> dict[str, Any]:
    return {
        "Table": {"GlobalSecondaryIndexes": [{"IndexName": name, "IndexStatus": status} for name, status in indexes]}
    }


def _active(names: frozenset[str]) -> dict[str, Any]:
    return _table(*((name, "ACTIVE") for name in sorted(names)))


def _upgrade(describes: list[dict[str, Any]], deployed: list[str]) -> tuple[IndexUpgrade, list[Stubber], list[float]]:
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    cfn_stub, ddb_stub = Stubber(cloudformation), Stubber(dynamodb)
    cfn_stub.add_response(
        "describe_stack_resource",
        {
            "StackResourceDetail": {
                "LogicalResourceId": "AlertsTable",
                "PhysicalResourceId": "arrowhook-AlertsTable-1",
                "ResourceType": "AWS::DynamoDB::Table",
                "LastUpdatedTimestamp": "2026-12-01T00:00:00Z",
                "ResourceStatus": "UPDATE_COMPLETE",
            }
        },
        {"StackName": "arrowhook-prod", "LogicalResourceId": "AlertsTable"},
    )
    for answer in describes:
        ddb_stub.add_response("describe_table", answer, {"TableName": "arrowhook-AlertsTable-1"})
    slept: list[float] = []
    upgrade = IndexUpgrade(
        "arrowhook-prod", deployed.append, cloudformation=cloudformation, dynamodb=dynamodb, sleep=slept.append
    )
    cfn_stub.activate()
    ddb_stub.activate()
    return upgrade, [cfn_stub, ddb_stub], slept


def test_an_old_stack_takes_every_step_and_waits_for_each_index_to_be_built() -> None:
    describes = [_active(OLD_INDEXES)]
    for step in STEPS:
        building = indexes_at(step)
        describes += [_table(*((name, "CREATING") for name in sorted(building))), _active(building)]
    deployed: list[str] = []
    upgrade, stubs, slept = _upgrade(describes, deployed)
    said: list[str] = []
    assert upgrade.run(said.append) == list(STEPS) == deployed
    assert len(slept) == len(STEPS), "one wait while each step's index was being built"
    assert any(line.startswith("waiting for") for line in said)
    for stub in stubs:
        stub.assert_no_pending_responses()


def test_an_interrupted_upgrade_resumes_after_the_step_it_reached() -> None:
    deployed: list[str] = []
    reached = indexes_at("add-day-index")
    rest = ["drop-ticker-index", "drop-strategy-index", "done"]
    upgrade, stubs, _ = _upgrade([_active(reached), *(_active(indexes_at(step)) for step in rest)], deployed)
    assert upgrade.run(lambda _: None) == rest == deployed
    for stub in stubs:
        stub.assert_no_pending_responses()


def test_an_upgraded_stack_needs_nothing_and_an_unknown_layout_is_refused() -> None:
    assert remaining_steps(indexes_at("done")) == []
    with pytest.raises(SystemExit, match="match no upgrade step"):
        remaining_steps(frozenset({"ByStrategy"}))


def test_a_step_keeps_the_environments_own_parameter_overrides() -> None:
    stack, overrides = overrides_of("prod")
    assert (stack, "DeletionProtection=true" in overrides) == ("arrowhook-prod", True)
