"""`sam local` against the local stack: where containers reach the embedded AWS, the `--env-vars` file, and
`make sam-local` where there is no Docker."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from botocore.exceptions import EndpointConnectionError

from arrowhook_tools.local import sam_local
from arrowhook_tools.local.containers import docker_bridge_address, sam_env_vars, write_sam_env
from arrowhook_tools.local.template import LocalTemplate
from arrowhook_tools.standins.embedded_aws import EmbeddedAws, dynamodb


def test_the_bridge_address_is_read_from_the_interface() -> None:
    assert docker_bridge_address("lo") == "127.0.0.1"
    assert docker_bridge_address("no-such-if0") is None


def test_the_env_vars_file_gives_every_function_its_variables_and_the_endpoint(tmp_path: Path) -> None:
    template = LocalTemplate()
    written = json.loads(write_sam_env(template, "http://172.17.0.1:4566", tmp_path / "sam-env.json").read_text())
    assert set(written) == {spec.logical_id for spec in template.functions()}
    function_globals = template.raw["Globals"]["Function"]["Environment"]["Variables"]
    for spec in template.functions():
        variables = written[spec.logical_id]
        assert variables["AWS_ENDPOINT_URL"] == "http://172.17.0.1:4566"
        # SAM sets only variables the template declares for the function; anything else would be ignored.
        own = template.resources[spec.logical_id]["Properties"].get("Environment", {}).get("Variables", {})
        assert set(variables) <= set(function_globals) | set(own), spec.logical_id
    assert written["WebhookFunction"]["ALERTS_TABLE_NAME"] == template.physical_name("AlertsTable")
    assert (tmp_path / "sam-env.json").stat().st_mode & 0o077 == 0


def test_sam_env_vars_match_the_local_stacks_own_environment() -> None:
    template = LocalTemplate()
    variables = sam_env_vars(template, "http://host:1")["WebhookFunction"]
    expected = template.function_spec("WebhookFunction").environment
    assert {name: variables[name] for name in expected if name != "POWERTOOLS_TRACE_DISABLED"} == {
        name: value for name, value in expected.items() if name != "POWERTOOLS_TRACE_DISABLED"
    }
    assert variables["POWERTOOLS_TRACE_DISABLED"] == "true", "no X-Ray daemon beside a local container"


def test_the_embedded_aws_also_listens_where_containers_reach_it() -> None:
    aws = EmbeddedAws().start(container_host="127.0.0.2")  # any loopback address stands in for docker0
    try:
        assert aws.container_endpoint is not None
        assert aws.container_endpoint == f"http://127.0.0.2:{aws.port}", "the same port when it is free"
        from_container = dynamodb(aws.container_endpoint)
        from_host = dynamodb(aws.endpoint)
        assert from_container.list_tables()["TableNames"] == from_host.list_tables()["TableNames"]
        endpoint = aws.container_endpoint
    finally:
        aws.stop()
    assert aws.container_endpoint is None
    with pytest.raises(EndpointConnectionError):
        dynamodb(endpoint).list_tables()


def test_two_embedded_aws_of_one_process_take_one_lock() -> None:
    """moto's tables are process-wide: a request on one must wait for a request on the other."""
    first, second = EmbeddedAws().start(), EmbeddedAws().start()
    try:
        assert first._requests_lock is second._requests_lock
        client = dynamodb(second.endpoint)
        client.list_tables()  # connected, so only the lock can hold the next call up
        with first._requests_lock:
            waiter = threading.Thread(target=client.list_tables)
            waiter.start()
            waiter.join(timeout=0.5)
            assert waiter.is_alive(), "the second endpoint answered while the first held the lock"
        waiter.join(timeout=60)
        assert not waiter.is_alive()
    finally:
        first.stop()
        second.stop()


def test_make_sam_local_without_docker_says_skipped_and_succeeds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("arrowhook_tools.local.sam_local.shutil.which", lambda _name: None)
    assert sam_local.main() == 0
    assert capsys.readouterr().out.startswith("skipped: no Docker")


def test_the_local_image_is_the_one_sam_asks_for() -> None:
    assert sam_local.lambda_architecture("x86_64") == "x86_64"
    assert sam_local.lambda_architecture("aarch64") == "arm64"
    assert sam_local.lambda_architecture("arm64") == "arm64"
    assert sam_local.image_tag("x86_64") == "public.ecr.aws/lambda/python:3.13-x86_64"


def test_env_vars_for_a_deployed_stack_are_its_functions_own() -> None:
    import boto3
    from botocore.stub import Stubber

    from arrowhook_tools.local.containers import deployed_env_vars

    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    functions = boto3.client("lambda", region_name="us-east-1")
    summaries = [
        {
            "LogicalResourceId": "WebhookFunction",
            "PhysicalResourceId": "arrowhook-dev-WebhookFunction-AbC",
            "ResourceType": "AWS::Lambda::Function",
            "ResourceStatus": "UPDATE_COMPLETE",
            "LastUpdatedTimestamp": "2026-12-01T00:00:00Z",
        },
        {  # the alias SAM adds beside it: not a function
            "LogicalResourceId": "WebhookFunctionAliaslive",
            "PhysicalResourceId": "arn:aws:lambda:us-east-1:1:function:x:live",
            "ResourceType": "AWS::Lambda::Alias",
            "ResourceStatus": "UPDATE_COMPLETE",
            "LastUpdatedTimestamp": "2026-12-01T00:00:00Z",
        },
    ]
    variables = {"ALERTS_TABLE_NAME": "arrowhook-dev-AlertsTable-1X2Y", "DEDUPE_WINDOW_SECONDS": "300"}
    with Stubber(cloudformation) as stacks, Stubber(functions) as lambdas:
        stacks.add_response(
            "list_stack_resources", {"StackResourceSummaries": summaries}, {"StackName": "arrowhook-dev"}
        )
        lambdas.add_response(
            "get_function_configuration",
            {"Environment": {"Variables": variables}},
            {"FunctionName": "arrowhook-dev-WebhookFunction-AbC"},
        )
        documents = deployed_env_vars(LocalTemplate(), "arrowhook-dev", cloudformation, functions)
        lambdas.assert_no_pending_responses()
    assert documents == {"WebhookFunction": variables}
    assert "AWS_ENDPOINT_URL" not in documents["WebhookFunction"]
