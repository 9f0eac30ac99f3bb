"""The pre-traffic check against the local stack's functions: a healthy release passes every probe with
the answers it really gives, and one version that cannot reach its store fails the whole release."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from arrowhook.core.settings import PreTrafficSettings
from arrowhook.release.pre_traffic import PROBES, check_release
from arrowhook_tools.local.stack import LocalStack
from tests.fakes.release import RecordedHookStatus
from tests.integration.conftest import in_process_stack, using

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def running() -> Iterator[LocalStack]:
    with in_process_stack() as stack:
        yield stack


class LocalVersions:
    """Lambda's Invoke answered by the local stack: each version ARN the hook is given runs its function."""

    def __init__(self, stack: LocalStack) -> None:
        self._stack = stack
        self.invoked: list[str] = []

    def invoke(self, *, FunctionName: str, Payload: bytes) -> dict[str, Any]:  # noqa: N803 - boto3's names
        logical_id = next(
            name
            for name in self._stack.functions.names()
            if FunctionName.startswith(self._stack.template.arn(name) + ":")
        )
        self.invoked.append(logical_id)
        try:
            answer = self._stack.functions.invoke(logical_id, json.loads(Payload))
        except Exception as error:  # what Lambda reports of a handler that raised
            body = json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)})
            return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": io.BytesIO(body.encode())}
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(answer).encode())}


def _targets(stack: LocalStack) -> dict[str, str]:
    environment = stack.template.function_spec("PreTrafficCheckFunction").environment
    return PreTrafficSettings.model_validate(environment).targets()


def test_a_healthy_release_passes_every_probe_and_is_reported_once(running: LocalStack) -> None:
    with using(running) as stack:
        versions, codedeploy = LocalVersions(stack), RecordedHookStatus()
        results = check_release("d-1", "hook-1", _targets(stack), lambda_client=versions, codedeploy=codedeploy)
    assert {result.role: result.problem for result in results} == dict.fromkeys(PROBES)
    assert sorted(versions.invoked) == sorted(
        ["WebhookFunction", "AuthorizerFunction", "KeysFunction", "AlertsFunction", "DestinationsFunction",
         "ConsoleFunction", "LiveFunction"]
    )  # fmt: skip
    assert codedeploy.reported == [
        {"deploymentId": "d-1", "lifecycleEventHookExecutionId": "hook-1", "status": "Succeeded"}
    ]


def test_a_version_that_cannot_reach_its_store_fails_the_release(running: LocalStack) -> None:
    with using(running) as stack:
        stack.aws.inject("GetItem", error="AccessDeniedException", times=-1, matching="HEALTH")
        versions, codedeploy = LocalVersions(stack), RecordedHookStatus()
        results = check_release("d-2", "hook-2", _targets(stack), lambda_client=versions, codedeploy=codedeploy)
    problems = {result.role: result.problem for result in results if result.problem}
    assert list(problems) == ["webhook"]
    assert "503" in str(problems["webhook"])
    assert codedeploy.reported[-1]["status"] == "Failed"
