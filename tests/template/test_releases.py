"""Safe deploys and retention, checked on the CloudFormation that SAM makes of template.yaml."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from arrowhook.release.pre_traffic import PROBES
from arrowhook_tools.local.template import PROJECT_ROOT, load_template
from tests.template.test_template import sam_binary

pytestmark = pytest.mark.template
#: The functions an HTTP or WebSocket request reaches: each deploys gradually through its `live` alias.
REQUEST_PATH = {
    "WebhookFunction": "webhook",
    "AuthorizerFunction": "authorizer",
    "KeysFunction": "keys",
    "AlertsFunction": "alerts",
    "DestinationsFunction": "destinations",
    "ConsoleFunction": "console",
    "LiveFunction": "live",
}


@pytest.fixture(scope="module")
def deployed() -> dict[str, Any]:
    """The template as CloudFormation receives it from `sam deploy` (SAM's transform applied)."""
    python = Path(sam_binary()).with_name("python")
    result = subprocess.run(
        [str(python), str(PROJECT_ROOT / "tests/template/sam_transform.py"), "{}"],
        capture_output=True,
        text=True,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    resources: dict[str, Any] = json.loads(result.stdout)["Resources"]
    return resources


def _of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {logical_id: resource for logical_id, resource in resources.items() if resource["Type"] == kind}


def test_each_request_path_function_shifts_traffic_through_its_alias_after_the_check(deployed: dict[str, Any]) -> None:
    aliases = _of_type(deployed, "AWS::Lambda::Alias")
    assert set(aliases) == {f"{function}Aliaslive" for function in REQUEST_PATH}
    for function in REQUEST_PATH:
        update = aliases[f"{function}Aliaslive"]["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        assert update["DeploymentGroupName"] == {"Ref": f"{function}DeploymentGroup"}
        assert update["BeforeAllowTrafficHook"] == {"Ref": "PreTrafficCheckFunction"}


def test_deployments_are_a_canary_rolled_back_by_the_5xx_alarm(deployed: dict[str, Any]) -> None:
    groups = _of_type(deployed, "AWS::CodeDeploy::DeploymentGroup")
    assert set(groups) == {f"{function}DeploymentGroup" for function in REQUEST_PATH}
    for group in groups.values():
        properties = group["Properties"]
        assert properties["DeploymentConfigName"] == {"Fn::Sub": "CodeDeployDefault.LambdaCanary10Percent5Minutes"}
        assert properties["AlarmConfiguration"] == {
            "Fn::If": ["MonitoringOn", {"Enabled": True, "Alarms": [{"Name": {"Ref": "Api5xxRateAlarm"}}]}, {}]
        }
        rollback = properties["AutoRollbackConfiguration"]
        assert rollback["Enabled"] is True
        assert {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"} <= set(rollback["Events"])
    parameter = load_template()["Parameters"]["DeploymentType"]
    assert parameter["Default"] == "Canary10Percent5Minutes"
    assert "AllAtOnce" in parameter["AllowedValues"]


def test_every_api_integration_and_the_authorizer_call_an_alias(deployed: dict[str, Any]) -> None:
    body = deployed["HttpApi"]["Properties"]["Body"]
    uris = [
        operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        for path in body["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict) and "x-amazon-apigateway-integration" in operation
    ]
    assert len(uris) > 20
    for uri in uris:
        assert "Aliaslive}/invocations" in uri, uri
    authorizer = body["components"]["securitySchemes"]["AdminAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert authorizer["authorizerUri"]["Fn::Sub"][1] == {"__FunctionArn__": {"Ref": "AuthorizerFunctionAliaslive"}}
    live = deployed["LiveIntegration"]["Properties"]["IntegrationUri"]
    assert "LiveFunctionAliaslive" in json.dumps(live)
    invokers = [
        permission["Properties"]["FunctionName"]
        for permission in _of_type(deployed, "AWS::Lambda::Permission").values()
        if permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    assert invokers
    for function_name in invokers:
        assert "Aliaslive" in json.dumps(function_name), function_name


def test_the_pre_traffic_check_probes_every_new_version_and_may_report_only_that(deployed: dict[str, Any]) -> None:
    hook = deployed["PreTrafficCheckFunction"]["Properties"]
    assert hook["FunctionName"] == {"Fn::Sub": "CodeDeployHook_${AWS::StackName}"}
    variables = hook["Environment"]["Variables"]
    probed = {
        name.removesuffix("_VERSION_ARN").lower(): value
        for name, value in variables.items()
        if name.endswith("_VERSION_ARN")
    }
    assert set(probed) == set(PROBES) == set(REQUEST_PATH.values())
    for function, role in REQUEST_PATH.items():
        version = probed[role]
        assert version["Ref"].startswith(f"{function}Version"), version
    role = deployed[hook["Role"]["Fn::GetAtt"][0]]
    statements = [
        statement for policy in role["Properties"]["Policies"] for statement in policy["PolicyDocument"]["Statement"]
    ]
    by_sid = {statement["Sid"]: statement for statement in statements}
    assert set(by_sid) == {"InvokeTheNewVersions", "ReportTheCheck"}
    assert sorted(json.dumps(ref) for ref in by_sid["InvokeTheNewVersions"]["Resource"]) == sorted(
        json.dumps(ref) for ref in probed.values()
    )
    groups = json.dumps(by_sid["ReportTheCheck"]["Resource"])
    for function in REQUEST_PATH:
        assert f"${{{function}DeploymentGroup}}" in groups
    assert "/*" not in groups


def test_the_functions_off_the_request_path_deploy_at_once() -> None:
    """Stream, queue and schedule consumers have no alias: their event sources call the function itself."""
    resources = load_template()["Resources"]
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        assert ("DeploymentPreference" in properties) == (logical_id in REQUEST_PATH), logical_id
        assert ("AutoPublishAlias" in properties) == (logical_id in REQUEST_PATH), logical_id


def test_what_holds_data_is_retained_with_its_reason_and_the_rest_goes_with_the_stack() -> None:
    resources = load_template()["Resources"]
    retained = {logical_id for logical_id, resource in resources.items() if resource.get("DeletionPolicy") == "Retain"}
    assert retained == {"AlertsTable", "KeysTable", "DeliveriesTable", "ArchiveBucket"}
    for logical_id in retained:
        resource = resources[logical_id]
        assert resource.get("UpdateReplacePolicy") == "Retain", logical_id
        assert len(resource["Metadata"]["RetainedBecause"]) > 40, logical_id
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::Logs::LogGroup":
            assert resource.get("DeletionPolicy") == "Delete", logical_id
    bucket = resources["ArchiveBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    expiry = [rule for rule in bucket["LifecycleConfiguration"]["Rules"] if "NoncurrentVersionExpiration" in rule]
    assert expiry and expiry[0]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30


def test_one_version_number_for_the_release() -> None:
    """What /health and /version report (the template), the layer's and the project's: one number."""
    import tomllib

    from arrowhook import __version__

    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert variables["ARROWHOOK_VERSION"] == __version__ == project
    assert f"## {__version__}" in (PROJECT_ROOT / "CHANGELOG.md").read_text(), "the CHANGELOG names it"
