"""Deploy-time custom resource `Custom::SecureParameter`: creates and deletes the stack's SSM SecureStrings.

CloudFormation cannot create a SecureString itself. This function runs only while a stack is created,
updated or deleted (it costs nothing otherwise); the value never leaves it: not in the response to
CloudFormation (only the parameter's name), not in a log line.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import boto3
from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrowhook.aws import secure_parameters
from arrowhook.core.observability import logger

ssm = boto3.client("ssm")


def apply(request: CloudFormationCustomResourceEvent) -> str:
    """Do what the request asks; returns the physical id (the parameter's name)."""
    if request.request_type == "Delete":
        name = request.physical_resource_id
        if name.startswith(secure_parameters.NAME_PREFIX):  # a create that failed before naming it: nothing to do
            secure_parameters.delete(ssm, name)
        return name
    properties = request.resource_properties
    name = secure_parameters.check_name(properties.get("Name"))
    # Update with the same name keeps the value; a new name is a new parameter (CloudFormation then
    # deletes the old physical id).
    if request.request_type == "Create" or name != request.physical_resource_id:
        secure_parameters.create(
            ssm,
            name,
            str(properties.get("Description", "")),
            int(properties.get("EntropyBytes", secure_parameters.DEFAULT_ENTROPY_BYTES)),
        )
    return name


def describe(error: Exception) -> str:
    code = getattr(error, "response", {}).get("Error", {}).get("Code")
    return f"{type(error).__name__} {code}" if code else type(error).__name__


def send_response(url: str, body: dict[str, Any]) -> None:
    """The answer CloudFormation waits for: a PUT to the pre-signed S3 URL it gave."""
    if not url.startswith("https://"):
        raise ValueError("ResponseURL must be https")
    data = json.dumps(body).encode()
    # https only (checked above): never file:// or another scheme urllib would open.
    request = urllib.request.Request(url, data=data, method="PUT", headers={"Content-Type": ""})  # noqa: S310
    with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310  # nosec B310
        response.read()


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    request = CloudFormationCustomResourceEvent(event)
    status, reason, physical_id = "SUCCESS", "", request.get("PhysicalResourceId") or ""
    try:
        physical_id = apply(request)
        logger.info("secure parameter", extra={"request_type": request.request_type, "parameter": physical_id})
    except Exception as error:  # CloudFormation waits an hour for an answer that never comes: always answer
        # AWS validation messages can quote the request, and the request held the value: name the error only.
        problem = str(error) if isinstance(error, ValueError) else describe(error)
        logger.error("secure parameter failed", extra={"request_type": request.request_type, "problem": problem})
        status, reason = "FAILED", f"{problem} (log stream {context.log_stream_name})"
    send_response(
        request.response_url,
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": physical_id or context.log_stream_name,
            "StackId": request.stack_id,
            "RequestId": request.request_id,
            "LogicalResourceId": request.logical_resource_id,
            "NoEcho": True,
            "Data": {"Name": physical_id},
        },
    )
