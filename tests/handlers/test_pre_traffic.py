"""The pre-traffic hook's handler: a CodeDeploy lifecycle event in, every probe run, one status reported."""

from __future__ import annotations

import io
import json
from types import ModuleType
from typing import Any

import pytest

from arrowhook.release.pre_traffic import PROBES
from arrowhook_tools.local.runtime import LocalContext
from arrowhook_tools.local.template import PROJECT_ROOT, LocalTemplate
from tests.conftest import load_module
from tests.fakes.release import RecordedHookStatus


class ScriptedVersions:
    """Lambda's Invoke: each probed version answers what a healthy one would, except those told otherwise."""

    def __init__(self, broken: dict[str, dict[str, Any]] | None = None) -> None:
        self.broken = broken or {}
        self.invoked: list[str] = []

    def invoke(self, *, FunctionName: str, Payload: bytes) -> dict[str, Any]:  # noqa: N803 - boto3's names
        self.invoked.append(FunctionName)
        role = next(role for role in PROBES if f"-{role}:" in FunctionName.lower())
        answers: dict[str, dict[str, Any]] = {
            "webhook": {"statusCode": 200, "body": json.dumps({"status": "ok"})},
            "authorizer": {"isAuthorized": False},
            "live": {"statusCode": 401},
        }
        healthy = answers.get(role, {"statusCode": 200, "body": "{}"})
        answer = self.broken.get(role, healthy)
        if "FunctionError" in answer:
            return {"StatusCode": 200, "FunctionError": answer["FunctionError"], "Payload": io.BytesIO(b"{}")}
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(answer).encode())}


@pytest.fixture
def hook(aws: Any, template: LocalTemplate, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    for role in PROBES:
        monkeypatch.setenv(
            f"{role.upper()}_VERSION_ARN", f"arn:aws:lambda:us-east-1:123456789012:function:stack-{role}:7"
        )
    module = load_module(PROJECT_ROOT / "functions/pre_traffic/app.py", "pre_traffic_under_test")
    monkeypatch.setattr(module, "codedeploy", RecordedHookStatus())
    return module


def _event() -> dict[str, str]:
    return {"DeploymentId": "d-ABC", "LifecycleEventHookExecutionId": "hook-1"}


def test_every_new_version_is_probed_and_success_reported(hook: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    versions = ScriptedVersions()
    monkeypatch.setattr(hook, "lambda_client", versions)
    answer = hook.lambda_handler(_event(), LocalContext(function_name="PreTrafficCheckFunction"))
    assert answer == {"status": "Succeeded", "failed": {}}
    assert len(versions.invoked) == len(PROBES)
    assert all(name.endswith(":7") for name in versions.invoked), "the new version, never the alias"
    assert hook.codedeploy.reported == [
        {"deploymentId": "d-ABC", "lifecycleEventHookExecutionId": "hook-1", "status": "Succeeded"}
    ]


@pytest.mark.parametrize(
    ("role", "answer", "problem"),
    [
        ("webhook", {"statusCode": 503, "body": json.dumps({"error": "store"})}, "answered 503, expected 200"),
        ("webhook", {"statusCode": 200, "body": "[]"}, "expected an object with {'status': 'ok'}"),
        ("authorizer", {"isAuthorized": True}, "to a wrong admin token"),
        ("console", {"FunctionError": "Unhandled"}, "raised Unhandled"),
        ("live", {"statusCode": 200}, "answered 200, expected 401"),
    ],
)
def test_one_wrong_answer_fails_the_release(
    hook: ModuleType, monkeypatch: pytest.MonkeyPatch, role: str, answer: dict[str, Any], problem: str
) -> None:
    monkeypatch.setattr(hook, "lambda_client", ScriptedVersions({role: answer}))
    result = hook.lambda_handler(_event(), LocalContext(function_name="PreTrafficCheckFunction"))
    assert result["status"] == "Failed"
    assert list(result["failed"]) == [role]
    assert problem in result["failed"][role]
    assert hook.codedeploy.reported[-1]["status"] == "Failed"


def test_an_invoke_that_fails_is_a_failed_check_not_a_crash(hook: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    class Unreachable(ScriptedVersions):
        def invoke(self, *, FunctionName: str, Payload: bytes) -> dict[str, Any]:  # noqa: N803
            raise ConnectionError("no route")

    monkeypatch.setattr(hook, "lambda_client", Unreachable())
    result = hook.lambda_handler(_event(), LocalContext(function_name="PreTrafficCheckFunction"))
    assert result["status"] == "Failed"
    assert set(result["failed"]) == set(PROBES)
    assert len(hook.codedeploy.reported) == 1


@pytest.mark.parametrize("event", [{}, {"DeploymentId": "d-1"}, [], "x"])
def test_not_a_lifecycle_event_reports_nothing(hook: ModuleType, event: Any) -> None:
    answer = hook.lambda_handler(event, LocalContext(function_name="PreTrafficCheckFunction"))
    assert answer["status"] == "rejected"
    assert hook.codedeploy.reported == []
