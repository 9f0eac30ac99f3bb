"""The pre-traffic check of a deploy: before CodeDeploy moves any traffic to a new version of a function on
the request path, invoke every new version with a request a healthy version answers, read-only.

One check for the whole release, run by each function's deployment: a release goes live whole or not at
all (a failed check rolls back every function of it, never half a release). Each probe changes nothing:
the webhook's /health (which reads the store), a wrong admin token, the first page of each admin list, the
console's sign-in page, and a WebSocket connect without a ticket (refused before anything is written).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

#: What a probe says about an answer: None when it is the healthy one, else what is wrong.
Verdict = Callable[[dict[str, Any]], str | None]


class Invoker(Protocol):
    """boto3's Lambda client, as far as the check uses it."""

    def invoke(self, *, FunctionName: str, Payload: bytes) -> Any: ...  # noqa: N803 - boto3's names


class HookStatus(Protocol):
    def put_lifecycle_event_hook_execution_status(self, **kwargs: Any) -> dict[str, Any]: ...


def http_event(method: str, path: str, query: str = "") -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) request, as the function receives it behind the API."""
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "pre-traffic-check", "user-agent": "arrowhook-pre-traffic"},
        "queryStringParameters": dict(part.split("=", 1) for part in query.split("&") if "=" in part) or None,
        "requestContext": {
            "accountId": "pre-traffic",
            "apiId": "pre-traffic",
            "domainName": "pre-traffic-check",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "arrowhook-pre-traffic",
            },
            "requestId": "pre-traffic-check",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 0,
        },
        "isBase64Encoded": False,
    }


def answers_status(expected: int, *, body_has: Mapping[str, Any] | None = None) -> Verdict:
    def verdict(answer: dict[str, Any]) -> str | None:
        status = answer.get("statusCode")
        if status != expected:
            return f"answered {status}, expected {expected}"
        if body_has:
            try:
                body = json.loads(answer.get("body") or "null")
            except ValueError:
                return "answered a body that is not JSON"
            if not isinstance(body, dict):
                return f"answered {body!r}, expected an object with {dict(body_has)}"
            wrong = {name: body.get(name) for name, value in body_has.items() if body.get(name) != value}
            if wrong:
                return f"answered {wrong}, expected {dict(body_has)}"
        return None

    return verdict


def refuses_authorization(answer: dict[str, Any]) -> str | None:
    return None if answer.get("isAuthorized") is False else f"answered {answer!r} to a wrong admin token"


@dataclass(frozen=True)
class Probe:
    """One read-only request to a function's new version, and how a healthy version answers it."""

    event: dict[str, Any]
    healthy: Verdict


#: By the role a function plays (the hook's environment names each role's new version).
PROBES: dict[str, Probe] = {
    "webhook": Probe(http_event("GET", "/health"), answers_status(200, body_has={"status": "ok"})),
    "authorizer": Probe(
        {
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": "arn:aws:execute-api:pre-traffic:0:pre-traffic/$default/GET/alerts",
            "identitySource": ["Bearer pre-traffic-check-is-not-the-admin-token"],
            "headers": {"authorization": "Bearer pre-traffic-check-is-not-the-admin-token"},
            "routeKey": "GET /alerts",
            "rawPath": "/alerts",
            "requestContext": {"http": {"method": "GET", "path": "/alerts", "sourceIp": "127.0.0.1"}},
        },
        refuses_authorization,
    ),
    "keys": Probe(http_event("GET", "/strategies", "limit=1"), answers_status(200)),
    "alerts": Probe(http_event("GET", "/alerts", "limit=1"), answers_status(200)),
    "destinations": Probe(http_event("GET", "/destinations"), answers_status(200)),
    "console": Probe(http_event("GET", "/console/login"), answers_status(200)),
    "live": Probe(
        {"requestContext": {"eventType": "CONNECT", "connectionId": "pre-traffic-check", "routeKey": "$connect"}},
        answers_status(401),
    ),
}


@dataclass(frozen=True)
class ProbeResult:
    role: str
    target: str
    problem: str | None


def probe(role: str, target: str, lambda_client: Invoker) -> ProbeResult:
    """Invoke `target` (a version's ARN) with the role's probe: a crash, an error or a wrong answer fails."""
    check = PROBES[role]
    try:
        response = lambda_client.invoke(FunctionName=target, Payload=json.dumps(check.event).encode())
    except Exception as error:  # any failure to invoke is a failed check, said as such
        return ProbeResult(role, target, f"could not be invoked: {type(error).__name__}: {error}")
    payload = response["Payload"].read()
    if response.get("FunctionError"):
        return ProbeResult(role, target, f"raised {response['FunctionError']}: {payload[:300]!r}")
    try:
        answer = json.loads(payload)
    except ValueError:
        return ProbeResult(role, target, f"answered something that is not JSON: {payload[:300]!r}")
    if not isinstance(answer, dict):
        return ProbeResult(role, target, f"answered {answer!r}")
    return ProbeResult(role, target, check.healthy(answer))


def release_status(results: list[ProbeResult]) -> str:
    """What CodeDeploy is told: Succeeded only when every new version answered as a healthy one."""
    return "Failed" if any(result.problem for result in results) else "Succeeded"


def check_release(
    deployment_id: str,
    hook_execution_id: str,
    targets: Mapping[str, str],
    *,
    lambda_client: Invoker,
    codedeploy: HookStatus,
) -> list[ProbeResult]:
    """Probe every new version, then tell CodeDeploy (release_status)."""
    results = [probe(role, target, lambda_client) for role, target in sorted(targets.items())]
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=deployment_id, lifecycleEventHookExecutionId=hook_execution_id, status=release_status(results)
    )
    return results
