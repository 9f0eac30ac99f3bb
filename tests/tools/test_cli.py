"""CLI pieces that need no running stack: `login` against a (moto) CloudFormation stack, target resolution."""

from __future__ import annotations

import io
import json
import re
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from moto import mock_aws
from typer.testing import CliRunner

from arrowhook_tools.cli import admin_client, app
from arrowhook_tools.cli.admin_client import AdminApiError, resolve_target, save_login

STACK_TEMPLATE = {
    "Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}},
    "Parameters": {"TokenName": {"Type": "String"}},
    "Outputs": {
        "ApiUrl": {"Value": "https://abc123.execute-api.us-east-1.amazonaws.com"},
        "AdminTokenParameterName": {"Value": {"Ref": "TokenName"}},
    },
}


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "arrowhook" / "config.json"
    monkeypatch.setattr(admin_client, "CONFIG_FILE", path)
    monkeypatch.setattr("arrowhook_tools.local.state.STATE_FILE", tmp_path / "no-dev.json")
    return path


def test_login_saves_api_url_and_token_privately(config_file: Path) -> None:
    with mock_aws():
        boto3.client("ssm").put_parameter(Name="/arrowhook/test/admin-token", Value="t0ken", Type="SecureString")
        boto3.client("cloudformation").create_stack(
            StackName="arrowhook-test",
            TemplateBody=json.dumps(STACK_TEMPLATE),
            Parameters=[{"ParameterKey": "TokenName", "ParameterValue": "/arrowhook/test/admin-token"}],
        )
        result = CliRunner().invoke(app, ["login", "--stack", "arrowhook-test"])
    assert result.exit_code == 0, result.output
    saved = json.loads(config_file.read_text())["profiles"]["default"]
    assert saved == {
        "api_url": "https://abc123.execute-api.us-east-1.amazonaws.com",
        "token": "t0ken",
        "stack": "arrowhook-test",
    }
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_file.parent.stat().st_mode) == 0o700
    target = resolve_target(None, None)
    assert (target.api_url, target.token, target.source) == (saved["api_url"], "t0ken", "arrowhook login")
    assert resolve_target("http://x/", "y").api_url == "http://x"


def test_a_saved_token_is_only_ever_sent_to_the_url_it_was_saved_for(config_file: Path) -> None:
    save_login("https://prod.example", "prod-token", "arrowhook-prod", path=config_file)
    assert resolve_target("https://prod.example/", None).token == "prod-token"
    with pytest.raises(AdminApiError, match=re.escape("no admin token saved for http://127.0.0.1:9")):
        resolve_target("http://127.0.0.1:9", None)
    result = CliRunner().invoke(app, ["keys", "list", "--api-url", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and "pass --token" in result.output


def test_profiles_keep_dev_and_prod_logins_apart(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_login("https://dev.example", "dev-token", "arrowhook-dev", path=config_file)
    save_login("https://prod.example", "prod-token", "arrowhook-prod", path=config_file, profile="prod")
    assert resolve_target(None, None).token == "dev-token"
    assert (resolve_target(None, None, profile="prod").api_url, resolve_target(None, None, profile="prod").token) == (
        "https://prod.example",
        "prod-token",
    )
    monkeypatch.setenv("ARROWHOOK_PROFILE", "prod")
    assert resolve_target(None, None).source == "profile prod"
    with pytest.raises(AdminApiError, match="no saved login named 'staging'"):
        resolve_target(None, None, profile="staging")


def test_a_login_file_from_before_profiles_is_the_default_profile(config_file: Path) -> None:
    config_file.parent.mkdir(parents=True)
    config_file.write_text(json.dumps({"api_url": "https://old.example", "token": "old", "stack": "s"}))
    assert resolve_target(None, None).token == "old"
    save_login("https://prod.example", "prod-token", "arrowhook-prod", path=config_file, profile="prod")
    assert resolve_target(None, None).token == "old", "the old login survives as the default profile"


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


HOSTILE = {
    "alert_id": "01HOSTILE000000000000000000",
    "received_at": "2026-11-23T12:00:00.000Z",
    "strategy": "[bold]strat[/]",
    "ticker": "[/]",
    "side": "buy",
    "price": "\x1b[2J\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "quantity": "1",
    "comment": "[link=http://evil.example]click me[/link] \u202eevil",
    "parse_issues": [],
}


@pytest.fixture
def hostile_api(monkeypatch: pytest.MonkeyPatch, config_file: Path) -> None:
    def request(self: Any, method: str, path: str, **_: Any) -> Any:
        if path == "/alerts":
            return {"items": [HOSTILE], "next_cursor": None}
        if path.startswith("/alerts/"):
            return HOSTILE
        if path == "/keys":
            return {"items": [{**KEY_WITH_MARKUP}], "next_cursor": None}
        raise AssertionError(path)

    monkeypatch.setattr(admin_client.AdminClient, "request", request)
    from arrowhook_tools.cli import common, live

    monkeypatch.setattr(live.LiveFollower, "alerts", lambda self: iter([HOSTILE]))  # as the socket pushes it

    monkeypatch.setattr(common.out, "_width", 250)  # wide enough that no cell is cut: what is shown is what is checked


KEY_WITH_MARKUP = {
    "id": "01KEY00000000000000000000",
    "name": "[/]",
    "status": "disabled",
    "secret_prefix": "ahk_abc",
    "created_at": "2026-11-23T12:00:00Z",
    "description": "\x1b[31mred[/red]",
}


@pytest.mark.parametrize(
    "command",
    [
        ["alerts", "list"],
        ["alerts", "show", "01HOSTILE000000000000000000"],
        ["alerts", "tail", "--count", "1"],
        ["keys", "list"],
    ],
)
def test_alert_and_key_content_is_printed_as_data_not_terminal_markup(hostile_api: None, command: list[str]) -> None:
    """Any key holder controls tickers and comments: `[/]` crashed list/show/tail (MarkupError), link
    markup became a terminal hyperlink, and raw escape codes reached the terminal."""
    result = CliRunner().invoke(app, [*command, "--api-url", "http://127.0.0.1:9", "--token", "t"])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert "[/]" in result.stdout, "the markup is shown literally"
    if command[1] == "show":
        assert "[link=http://evil.example]click me[/link]" in result.stdout


def test_json_output_stays_exact(hostile_api: None) -> None:
    result = CliRunner().invoke(
        app, ["alerts", "show", "x", "--json", "--api-url", "http://127.0.0.1:9", "--token", "t"]
    )
    assert json.loads(result.stdout) == HOSTILE


def test_destination_secrets_come_from_stdin_or_a_prompt_never_only_the_command_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A URL with a token on the command line lands in shell history: '-' reads stdin, omitted asks."""
    from arrowhook_tools.cli import destinations

    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(destinations, "api_client", lambda *_: None)

    def call(_client: Any, _method: str, _path: str, json_body: dict[str, Any]) -> dict[str, Any]:
        sent.append(json_body)
        return json_body

    monkeypatch.setattr(destinations, "call", call)
    runner = CliRunner()
    piped = runner.invoke(app, ["destinations", "add", "discord", "--url", "-", "--json"], input="https://d/1/tok\n")
    asked = runner.invoke(app, ["destinations", "add", "telegram", "--chat-id", "1", "--json"], input="1:secret\n")
    assert piped.exit_code == 0 and asked.exit_code == 0, piped.output + asked.output
    assert sent[0]["url"] == "https://d/1/tok" and sent[1]["bot_token"] == "1:secret"
    assert "1:secret" not in asked.output.split("\n")[0], "the prompt does not echo it"


def test_csv_export_never_writes_a_formula_and_keeps_text_alerts_and_health() -> None:
    """`=HYPERLINK(...)` in a comment ran as a formula in a spreadsheet; a text alert's body was missing."""
    from arrowhook.admin.export import EXPORT_COLUMNS, export_row

    row = export_row(
        {
            "alert_id": "A",
            "ticker": '=HYPERLINK("https://evil.test","x")',
            "comment": "@SUM(A1:A2)",
            "order_id": "-2+3",
            "exchange": "+cmd|' /C calc'!A0",
            "price": "-1.5",
            "position_size": "-3",
            "body_format": "text",
            "text": "BUY BTCUSDT\nnow",
            "health": {"lag_ms": 1200, "late": False, "gap_before": {"expected": "flat", "found": "long 1"}},
        }
    )
    assert set(row) == set(EXPORT_COLUMNS)
    assert row["ticker"].startswith("'=") and row["comment"] == "'@SUM(A1:A2)"
    assert row["order_id"] == "'-2+3" and row["exchange"].startswith("'+")
    assert (row["price"], row["position_size"]) == ("-1.5", "-3"), "numbers stay numbers"
    assert row["message"] == "BUY BTCUSDT\nnow"
    assert (row["lag_ms"], row["late"], row["gap_before"]) == (1200, False, "expected flat, found long 1")


def test_a_local_function_that_fails_is_one_line_and_a_retry_hint_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`arrowhook archive run` once ended with a traceback through archive_source._query (DynamoDB busy)."""
    from arrowhook.core.errors import StoreUnavailableError

    class Failing:
        def invoke(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
            raise StoreUnavailableError("DynamoDB request failed: ThrottlingException")

    monkeypatch.setattr("arrowhook_tools.local.stack.read_state", lambda: {"aws_endpoint": "http://127.0.0.1:1"})
    monkeypatch.setattr("arrowhook_tools.local.stack.running_stack_functions", lambda state: Failing())
    result = CliRunner().invoke(app, ["archive", "run"])
    assert result.exit_code == 1
    assert "the archive run failed: StoreUnavailableError: DynamoDB request failed: ThrottlingException" in " ".join(
        result.output.split()
    )
    assert "the next run resumes" in result.output and "Traceback" not in result.output
