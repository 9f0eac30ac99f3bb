"""The deploy-time custom resource that makes the stack's SecureStrings, driven the way CloudFormation does."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from arrowhook.aws import secure_parameters
from arrowhook_tools.local.runtime import LocalContext
from arrowhook_tools.local.template import PROJECT_ROOT, LocalTemplate
from tests.conftest import load_module

NAME = "/arrowhook/arrowhook-local/admin-token"


@pytest.fixture
def custom_resource(aws: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, list[dict[str, Any]]]:
    """The function, with CloudFormation's pre-signed response URL replaced by a list of answers."""
    module = load_module(PROJECT_ROOT / "functions/secure_parameter/app.py", "secure_parameter_under_test")
    answers: list[dict[str, Any]] = []

    def answer(url: str, body: dict[str, Any]) -> None:
        assert url == "https://cloudformation-custom-resource-response.s3.amazonaws.com/signed"
        answers.append(json.loads(json.dumps(body)))

    monkeypatch.setattr(module, "send_response", answer)
    return module, answers


def _event(request_type: str, name: object = NAME, physical_id: str | None = None, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:secure",
        "ResponseURL": "https://cloudformation-custom-resource-response.s3.amazonaws.com/signed",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/arrowhook-local/1",
        "RequestId": "request-1",
        "LogicalResourceId": "AdminTokenParameter",
        "ResourceType": "Custom::SecureParameter",
        # CloudFormation passes every property as a string.
        "ResourceProperties": {"ServiceToken": "arn", "Name": name, "Description": "token", "EntropyBytes": "36"},
        **extra,
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    return event


def _value(name: str = NAME) -> str:
    return str(boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])


def test_create_makes_a_secure_string_and_answers_only_its_name(
    custom_resource: tuple[ModuleType, list[dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    module, answers = custom_resource
    module.lambda_handler(_event("Create"), LocalContext("SecureParameterFunction", timeout_seconds=60))
    described = boto3.client("ssm").get_parameter(Name=NAME)["Parameter"]
    assert described["Type"] == "SecureString"
    value = _value()
    assert len(value) == 48
    [answer] = answers
    assert (answer["Status"], answer["PhysicalResourceId"], answer["Data"]) == ("SUCCESS", NAME, {"Name": NAME})
    assert answer["NoEcho"] is True
    assert value not in json.dumps(answer) and value not in capsys.readouterr().out, "the value never leaves"


def test_update_keeps_the_value_a_new_name_makes_a_new_parameter_and_delete_removes_it(
    custom_resource: tuple[ModuleType, list[dict[str, Any]]],
) -> None:
    module, answers = custom_resource
    context = LocalContext("SecureParameterFunction", timeout_seconds=60)
    module.lambda_handler(_event("Create"), context)
    first = _value()
    module.lambda_handler(_event("Update", physical_id=NAME), context)
    assert _value() == first, "an update of anything else never changes a token operators hold"
    renamed = "/arrowhook/arrowhook-local/admin-token-2"
    module.lambda_handler(_event("Update", name=renamed, physical_id=NAME), context)
    assert answers[-1]["PhysicalResourceId"] == renamed and _value(renamed) != first
    for name in (NAME, renamed):  # CloudFormation deletes the old physical id, then (stack delete) the new
        module.lambda_handler(_event("Delete", physical_id=name), context)
    module.lambda_handler(_event("Delete", physical_id=NAME), context)  # already gone: still a success
    assert [answer["Status"] for answer in answers] == ["SUCCESS"] * 6
    assert boto3.client("ssm").describe_parameters()["Parameters"] == []


@pytest.mark.parametrize("name", ["/other/app/secret", "arrowhook/no-slash", "", None])
def test_a_name_outside_the_stacks_prefix_fails_the_deploy_and_touches_nothing(
    custom_resource: tuple[ModuleType, list[dict[str, Any]]], name: object
) -> None:
    module, answers = custom_resource
    boto3.client("ssm").put_parameter(Name="/other/app/secret", Value="theirs", Type="SecureString")
    module.lambda_handler(_event("Create", name=name), LocalContext("SecureParameterFunction", timeout_seconds=60))
    [answer] = answers
    assert answer["Status"] == "FAILED" and "/arrowhook/" in answer["Reason"]
    module.lambda_handler(
        _event("Delete", physical_id=answer["PhysicalResourceId"]),
        LocalContext("SecureParameterFunction", timeout_seconds=60),
    )
    assert _value("/other/app/secret") == "theirs", "the rollback's delete leaves what the stack does not own"


def test_an_aws_error_fails_the_deploy_without_quoting_the_request(
    custom_resource: tuple[ModuleType, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, answers = custom_resource

    def refuse(**arguments: Any) -> None:
        message = f"Value '{arguments['Value']}' at 'value' failed to satisfy constraint"
        raise ClientError({"Error": {"Code": "ValidationException", "Message": message}}, "PutParameter")

    monkeypatch.setattr(module.ssm, "put_parameter", refuse)
    module.lambda_handler(_event("Create"), LocalContext("SecureParameterFunction", timeout_seconds=60))
    [answer] = answers
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("ClientError ValidationException") and "Value" not in answer["Reason"]


def test_the_response_goes_only_to_https(custom_resource: tuple[ModuleType, list[dict[str, Any]]]) -> None:
    module = load_module(PROJECT_ROOT / "functions/secure_parameter/app.py", "secure_parameter_unpatched")
    with pytest.raises(ValueError, match="https"):
        module.send_response("file:///etc/passwd", {})


def test_the_local_stack_provisions_the_same_parameters_and_keeps_them(aws: Any, template: LocalTemplate) -> None:
    from arrowhook_tools.standins.embedded_aws import provision_secure_parameters

    client = boto3.client("ssm")
    first = provision_secure_parameters(template, client)
    assert set(first) == {"AdminTokenParameter", "CursorKeyParameter", "ConsoleSessionKeyParameter"}
    assert len(first["CursorKeyParameter"]) == 64  # 48 random bytes
    assert provision_secure_parameters(template, client) == first, "a restart keeps the admin token"
    assert secure_parameters.secure_value(NAME, max_age_seconds=0) == first["AdminTokenParameter"]
