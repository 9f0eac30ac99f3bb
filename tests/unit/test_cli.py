"""CLI pieces that need no running stack: `login` against a (moto) CloudFormation stack, target resolution."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import boto3
import pytest
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
