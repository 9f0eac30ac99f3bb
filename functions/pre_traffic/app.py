"""CodeDeploy's pre-traffic hook for every request-path function: invoke each new version with a read-only
request, report Succeeded or Failed (a failure rolls the whole release back before any traffic moved).

Thin: read the hook event, run arrowhook.release.pre_traffic, log what each version answered.
"""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from arrowhook.core.observability import logger, traced
from arrowhook.core.settings import PreTrafficSettings
from arrowhook.release.pre_traffic import check_release, release_status

settings = PreTrafficSettings.from_environment()
#: A new version's first invocation is a cold start; never retried (a retry could hide a failing init).
lambda_client = boto3.client("lambda", config=Config(read_timeout=60, retries={"max_attempts": 1}))
codedeploy = boto3.client("codedeploy")


@traced
@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    deployment_id = event.get("DeploymentId") if isinstance(event, dict) else None
    hook_execution_id = event.get("LifecycleEventHookExecutionId") if isinstance(event, dict) else None
    if not isinstance(deployment_id, str) or not isinstance(hook_execution_id, str):
        logger.warning("not a CodeDeploy lifecycle event: nothing checked")
        return {"status": "rejected", "errors": ["DeploymentId and LifecycleEventHookExecutionId are required"]}
    results = check_release(
        deployment_id, hook_execution_id, settings.targets(), lambda_client=lambda_client, codedeploy=codedeploy
    )
    for result in results:
        log = logger.error if result.problem else logger.info
        log("pre-traffic probe", extra={"role": result.role, "target": result.target, "problem": result.problem})
    return {
        "status": release_status(results),
        "failed": {result.role: result.problem for result in results if result.problem},
    }
