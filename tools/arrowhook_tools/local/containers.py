"""`sam local invoke` and `sam local start-api` against `make dev`: where containers reach the embedded AWS,
and the `--env-vars` file that points every function there.

SAM runs each function in a container on Docker's default bridge, and overrides only the environment
variables the template declares: the template declares `AWS_ENDPOINT_URL` (absent when deployed), and
this file gives it, with the local stack's table, bucket and parameter names, to every function.
"""

from __future__ import annotations

import json
import socket
import struct
from pathlib import Path
from typing import Any

from arrowhook_tools.local.state import STATE_FILE, write_private
from arrowhook_tools.local.template import LocalTemplate

#: What samconfig.toml's `local` environments pass to `sam local` as `--env-vars` (.arrowhook/sam-env.json
#: in `make dev`'s state folder; a stack with its own ARROWHOOK_STATE_DIR writes in that one).
SAM_ENV_FILE = STATE_FILE.with_name("sam-env.json")
DOCKER_BRIDGE = "docker0"
_SIOCGIFADDR = 0x8915


def docker_bridge_address(interface: str = DOCKER_BRIDGE) -> str | None:
    """This host's IPv4 address on Docker's default bridge, where its containers reach it; None without
    one (no Docker, or not Linux: Docker Desktop's containers reach the host as host.docker.internal)."""
    try:
        import fcntl  # Unix only
    except ImportError:  # pragma: no cover - Windows
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, struct.pack("256s", interface.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(answer[20:24])


def sam_env_vars(template: LocalTemplate, endpoint: str) -> dict[str, Any]:
    """SAM's `--env-vars` document: each function's environment as the local stack resolves it (names of
    its tables, bucket, queues, parameters), with every SDK client sent to `endpoint`."""
    # No X-Ray daemon runs beside a local container: tracing off, as `make dev` has it.
    local = {"AWS_ENDPOINT_URL": endpoint, "POWERTOOLS_TRACE_DISABLED": "true"}
    return {spec.logical_id: {**spec.environment, **local} for spec in template.functions()}


def write_sam_env(template: LocalTemplate, endpoint: str, path: Path = SAM_ENV_FILE) -> Path:
    """Written by `make dev` on every start (the endpoint's port may change)."""
    return write_env_vars(sam_env_vars(template, endpoint), path)


def write_env_vars(documents: dict[str, Any], path: Path) -> Path:
    write_private(path, json.dumps(documents, indent=2, sort_keys=True) + "\n")
    return path


def deployed_env_vars(template: LocalTemplate, stack: str, cloudformation: Any, lambda_client: Any) -> dict[str, Any]:
    """SAM's `--env-vars` document for a deployed stack: each function's variables as Lambda has them (real
    table, bucket and parameter names), so `sam local invoke` runs the local code against its resources."""
    wanted = {spec.logical_id for spec in template.functions()}
    physical: dict[str, str] = {}
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack):
        for resource in page["StackResourceSummaries"]:
            if resource["ResourceType"] == "AWS::Lambda::Function" and resource["LogicalResourceId"] in wanted:
                physical[resource["LogicalResourceId"]] = resource["PhysicalResourceId"]
    documents: dict[str, Any] = {}
    for logical_id, function_name in sorted(physical.items()):
        configuration = lambda_client.get_function_configuration(FunctionName=function_name)
        documents[logical_id] = dict(configuration.get("Environment", {}).get("Variables", {}))
    return documents


__all__ = [
    "SAM_ENV_FILE",
    "deployed_env_vars",
    "docker_bridge_address",
    "sam_env_vars",
    "write_env_vars",
    "write_sam_env",
]
