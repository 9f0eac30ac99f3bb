"""CLI pieces that need no running stack: `login` against a (moto) CloudFormation stack, target resolution."""

from __future__ import annotations

import io
import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from moto import mock_aws
from typer.testing import CliRunner

from arrowhook_tools import admin_client
from arrowhook_tools.admin_client import AdminApiError, resolve_target
from arrowhook_tools.cli import app

STACK_TEMPLATE = {
    "Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}},
    "Parameters": {"SecretArn": {"Type": "String"}},
    "Outputs": {
        "ApiUrl": {"Value": "https://abc123.execute-api.us-east-1.amazonaws.com"},
        "AdminTokenSecretArn": {"Value": {"Ref": "SecretArn"}},
    },
}


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "arrowhook" / "config.json"
    monkeypatch.setattr(admin_client, "CONFIG_FILE", path)
    monkeypatch.setattr("arrowhook_tools.local.STATE_FILE", tmp_path / "no-dev.json")
    return path


def test_login_saves_api_url_and_token_privately(config_file: Path) -> None:
    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(Name="admin", SecretString="t0ken")["ARN"]
        boto3.client("cloudformation").create_stack(
            StackName="arrowhook-test",
            TemplateBody=json.dumps(STACK_TEMPLATE),
            Parameters=[{"ParameterKey": "SecretArn", "ParameterValue": arn}],
        )
        result = CliRunner().invoke(app, ["login", "--stack", "arrowhook-test"])
    assert result.exit_code == 0, result.output
    saved = json.loads(config_file.read_text())
    assert saved == {
        "api_url": "https://abc123.execute-api.us-east-1.amazonaws.com",
        "token": "t0ken",
        "stack": "arrowhook-test",
    }
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    target = resolve_target(None, None)
    assert (target.api_url, target.token, target.source) == (saved["api_url"], "t0ken", "arrowhook login")
    assert resolve_target("http://x/", "y").api_url == "http://x"


def test_login_to_a_missing_stack_fails_clearly(config_file: Path) -> None:
    with mock_aws():
        result = CliRunner().invoke(app, ["login", "--stack", "nope"])
    assert result.exit_code == 1
    assert "cannot read stack nope" in result.output
    assert not config_file.exists()


def test_no_target_is_a_clear_error(config_file: Path) -> None:
    with pytest.raises(AdminApiError, match="arrowhook login"):
        resolve_target(None, None)
    result = CliRunner().invoke(app, ["keys", "list"])
    assert result.exit_code == 1
    assert "start `make dev`" in result.output


def test_archive_run_without_make_dev_or_stack_says_what_to_do(config_file: Path) -> None:
    result = CliRunner().invoke(app, ["archive", "run"])
    assert result.exit_code == 1
    assert "no `make dev` running" in result.output and "--stack" in result.output


def _stubbed_deployed_archive(monkeypatch: pytest.MonkeyPatch, payload: dict[str, object], error: bool) -> Stubber:
    """CloudFormation names the function; Lambda answers `payload`; everything else is refused."""
    cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
    lambda_client = boto3.client("lambda", region_name="eu-west-1")
    names = Stubber(cloudformation)
    names.add_response(
        "describe_stack_resource",
        {
            "StackResourceDetail": {
                "LogicalResourceId": "ArchiveFunction",
                "PhysicalResourceId": "arrowhook-prod-ArchiveFunction-abc",
                "ResourceType": "AWS::Lambda::Function",
                "LastUpdatedTimestamp": datetime(2026, 11, 23, tzinfo=UTC),
                "ResourceStatus": "UPDATE_COMPLETE",
            }
        },
        {"StackName": "arrowhook-prod", "LogicalResourceId": "ArchiveFunction"},
    )
    stubber = Stubber(lambda_client)
    response: dict[str, object] = {
        "StatusCode": 200,
        "Payload": StreamingBody(io.BytesIO(json.dumps(payload).encode()), len(json.dumps(payload))),
    }
    if error:
        response["FunctionError"] = "Unhandled"
    stubber.add_response(
        "invoke",
        response,
        {"FunctionName": "arrowhook-prod-ArchiveFunction-abc", "Payload": ANY},
    )
    for stubbed in (names, stubber):
        stubbed.activate()
    clients = {"cloudformation": cloudformation, "lambda": lambda_client}
    monkeypatch.setattr(boto3, "client", lambda service, **_: clients[service])
    return stubber


def test_archive_run_with_stack_invokes_the_deployed_function(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = {
        "status": "complete",
        "cutoff": "2026-08-25T03:00:00Z",
        "bucket": "arrowhook-prod-archivebucket-xyz",
        "archived": 1200,
        "objects": ["alerts/year=2026/month=08/day=24/01K0000000000000000000000A.jsonl.gz"],
        "resumed": 0,
    }
    _stubbed_deployed_archive(monkeypatch, report, error=False)
    result = CliRunner().invoke(app, ["archive", "run", "--stack", "arrowhook-prod", "--older-than", "90d"])
    assert result.exit_code == 0, result.output
    assert "archived 1200 alerts" in result.output
    assert "s3://arrowhook-prod-archivebucket-xyz/alerts/year=2026/month=08/day=24/" in result.output


def test_archive_run_reports_a_failed_deployed_run(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _stubbed_deployed_archive(monkeypatch, {"errorMessage": "S3 PutObject failed: AccessDenied"}, error=True)
    result = CliRunner().invoke(app, ["archive", "run", "--stack", "arrowhook-prod"])
    assert result.exit_code == 1
    assert "AccessDenied" in result.output and "resumes" in result.output
