"""The whole stack on a laptop: embedded AWS, tables from template.yaml, and the local HTTP API."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arrowhook.aws.dynamodb import dynamodb_client
from arrowhook.core.models import StrategyKey, new_id, utc_now
from arrowhook.keys.credentials import display_prefix, hash_secret
from arrowhook.keys.store import KeyStore
from arrowhook_tools.local import snapshot as snapshots
from arrowhook_tools.local import state
from arrowhook_tools.local.containers import docker_bridge_address
from arrowhook_tools.local.ports import claim_port
from arrowhook_tools.local.reload import CodeWatcher
from arrowhook_tools.local.runtime import LocalFunctions
from arrowhook_tools.local.state import STATE_FILE, read_state, remove_state_if_ours
from arrowhook_tools.local.template import PROJECT_ROOT, LocalTemplate
from arrowhook_tools.standins.embedded_aws import (
    EmbeddedAws,
    dynamodb,
    point_sdk_at,
    provision,
    provision_buckets,
    provision_messaging,
    provision_secure_parameters,
    s3,
    ssm,
)
from arrowhook_tools.standins.gateway import LocalHttpApi
from arrowhook_tools.standins.metric_logs import MetricLogs
from arrowhook_tools.standins.queues import LocalQueues
from arrowhook_tools.standins.streams import LocalStreams
from arrowhook_tools.standins.websocket_api import Invoke, LocalWebSocketApi

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: The demo strategy's secret in the local stack only, so the samples in events/ authenticate.
#: Deployed keys are always random (arrowhook.keys.credentials.generate_secret).
DEMO_SECRET = "ahk_local-demo-secret-not-for-production-0000"  # noqa: S105 - local only  # nosec B105
DEMO_KEY_NAME = "demo"
#: Parameters the local stack sets unless told otherwise. The webhook's 0.8 s DynamoDB timeout is for
#: DynamoDB, which answers in milliseconds; moto in one Python process takes seconds under a burst, and
#: a timeout there would answer 503 for writes it then stores. Deployed stacks keep the template's default.
#: Destinations may be plain http:// URLs locally, so they can point at `arrowhook sink` and the tests' fakes;
#: the event bus is on (its Pipe's polling is what costs when deployed, and locally it costs nothing).
LOCAL_PARAMETER_DEFAULTS = {"WebhookStoreTimeoutSeconds": "5", "AllowHttpDestinations": "true", "EventBus": "on"}


@dataclass
class LocalStack:
    template: LocalTemplate
    aws: EmbeddedAws
    functions: LocalFunctions
    admin_token: str
    api: LocalHttpApi | None = None
    streams: LocalStreams | None = None
    websocket: LocalWebSocketApi | None = None
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)

    @property
    def environment(self) -> dict[str, str]:
        """Every function's environment merged: in one process they share table names and the endpoint."""
        merged: dict[str, str] = {}
        for spec in self.template.functions():
            merged.update(spec.environment)
        return merged


def seed_demo_key(template: LocalTemplate, client: DynamoDBClient) -> StrategyKey:
    """Create (once) the demo strategy key with the well-known local secret."""
    table = template.physical_name("KeysTable")
    store = KeyStore(table, client=client)
    existing = client.get_item(TableName=table, Key={"pk": {"S": f"SECRET#{hash_secret(DEMO_SECRET)}"}})
    if "Item" in existing:
        key_id = existing["Item"]["key_id"]["S"]
        found = store.get(key_id)
        if found is not None:
            return found
    now = utc_now()
    key = StrategyKey(
        id=new_id(),
        name=DEMO_KEY_NAME,
        description="created by make dev",
        secret_prefix=display_prefix(DEMO_SECRET),
        created_at=now,
        updated_at=now,
    )
    store.create(key, hash_secret(DEMO_SECRET))
    return key


@contextlib.contextmanager
def local_stack(
    *,
    api_port: int | None = 3000,
    aws_port: int = 0,
    parameter_overrides: Mapping[str, str] | None = None,
    pool_size: int = 4,
    streams: bool = True,
    snapshot: Path | None = None,
    reload: bool = False,
    containers: bool = False,
    stack_name: str = "arrowhook-local",
) -> Iterator[LocalStack]:
    """Start embedded AWS, the stream consumers (unless streams is False) and (unless api_port is None)
    the HTTP API; stop them on exit. With `containers`, the embedded AWS also listens on Docker's bridge
    (when there is one) for `sam local`. moto's data is per process: a stack with its own `stack_name` has
    its own tables, bucket and parameters beside earlier stacks of the same process."""
    parameter_overrides = {**LOCAL_PARAMETER_DEFAULTS, **(parameter_overrides or {})}
    template = LocalTemplate(parameter_overrides=parameter_overrides, stack_name=stack_name)
    aws = EmbeddedAws(port=aws_port).start(container_host=docker_bridge_address() if containers else None)
    api: LocalHttpApi | None = None
    consumers: LocalStreams | None = None
    pollers: LocalQueues | None = None
    watcher: CodeWatcher | None = None
    keeper: snapshots.Keeper | None = None
    websocket: LocalWebSocketApi | None = None
    metric_logs = MetricLogs(aws.endpoint).start()
    try:
        point_sdk_at(aws.endpoint)
        dynamodb_client.cache_clear()
        provision(template, dynamodb(aws.endpoint))
        provision_buckets(template, s3(aws.endpoint))
        provision_messaging(template, aws.endpoint)
        if snapshot is not None:  # before the secure parameters: a restored admin token is kept
            _restore(template, aws.endpoint, snapshot)
        secret_values = provision_secure_parameters(template, ssm(aws.endpoint))
        # The WebSocket API first: the functions' variables built from its domain point at it.
        websocket = _websocket_api(template, lambda name, event: functions.invoke(name, event))  # noqa: PLW0108 - bound once functions exist
        functions = LocalFunctions(template, pool_size=pool_size)
        stack = LocalStack(
            template=template,
            aws=aws,
            functions=functions,
            admin_token=secret_values["AdminTokenParameter"],
            parameter_overrides=dict(parameter_overrides or {}),
            websocket=websocket,
        )
        os.environ.update(stack.environment)
        if snapshot is not None:  # only once started: a stack that never started must not replace good data
            keeper = snapshots.Keeper(template, aws.endpoint, snapshot, lambda: aws.changes).start()
        if reload:
            watcher = CodeWatcher(lambda changed: _reload(functions, changed)).start()
        if streams:
            consumers = LocalStreams(template, functions, aws.endpoint).start()
            stack.streams = consumers
            pollers = LocalQueues(template, functions, aws.endpoint).start()
        if api_port is not None:
            if api_port:
                claim_port("127.0.0.1", api_port)
            api = LocalHttpApi(functions, port=api_port).start()
            stack.api = api
        yield stack
    finally:
        if api is not None:
            api.stop()
        if keeper is not None:  # first, while nothing new arrives: a delivery stuck below cannot lose it
            keeper.stop()
            keeper.keep()
        for running in (websocket, consumers, pollers, watcher, metric_logs):  # sockets first: their $disconnect
            if running is not None:
                running.stop()
        if keeper is not None and snapshot is not None:
            _keep(keeper, snapshot)  # and what the consumers did meanwhile
        aws.stop()


def _websocket_api(template: LocalTemplate, invoke: Invoke) -> LocalWebSocketApi:
    """The template's WebSocket API on this machine, its functions' endpoint variables pointed at it."""
    websocket = LocalWebSocketApi(template, invoke).start()
    websocket.serve_in(template)
    return websocket


def _restore(template: LocalTemplate, endpoint: str, snapshot: Path) -> None:
    restored = snapshots.restore(template, endpoint, snapshot)
    if restored:
        print(
            f"restored {restored['items']} items, {restored['parameters']} parameters, {restored['objects']} "
            f"objects and {restored['messages']} queued messages from {snapshot} "
            "(`arrowhook dev --fresh` starts clean)",
            flush=True,
        )


def _keep(keeper: snapshots.Keeper, snapshot: Path) -> None:
    saved = keeper.keep()
    kept = f"{saved['items']} items, {saved['parameters']} parameters, {saved['objects']} objects"
    print(f"kept {kept}, {saved['messages']} queued messages in {snapshot} for the next start", flush=True)


def _reload(functions: LocalFunctions, changed: list[Path]) -> None:
    names = ", ".join(str(path.relative_to(PROJECT_ROOT)) for path in changed[:3])
    more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
    functions.reload()
    print(f"reloaded: {names}{more} changed; the next event of each function runs the new code", flush=True)


def write_state(stack: LocalStack, path: Path | None = None) -> None:
    state.write_state(
        {
            "aws_endpoint": stack.aws.endpoint,
            "api_url": stack.api.url if stack.api else None,
            "admin_token": stack.admin_token,
            "parameter_overrides": dict(stack.parameter_overrides),
            # The APIs this stack serves itself (the WebSocket API): a function invoked against it reaches them.
            "local_endpoints": dict(stack.template.local_endpoints),
        },
        path,
    )


def running_stack_functions(state: Mapping[str, Any]) -> LocalFunctions:
    """The template's functions in this process, wired to a running `make dev` (its endpoint and parameters)."""
    point_sdk_at(state["aws_endpoint"])
    template = LocalTemplate(parameter_overrides=state.get("parameter_overrides"))
    template.local_endpoints.update(state.get("local_endpoints") or {})
    return LocalFunctions(template, pool_size=1)


__all__ = ["STATE_FILE", "LocalStack", "local_stack", "read_state", "remove_state_if_ours", "write_state"]
