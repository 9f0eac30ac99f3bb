"""Integration fixtures: a real `arrowhook dev` process, talked to over HTTP like TradingView would."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from arrowhook_tools.cli.samples import strategy_alert
from arrowhook_tools.local.template import PROJECT_ROOT
from arrowhook_tools.standins.embedded_aws import dynamodb, point_sdk_at
from arrowhook_tools.standins.receivers import Receivers

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from arrowhook_tools.local.stack import LocalStack

ARROWHOOK = str(Path(sys.executable).with_name("arrowhook"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class DevStack:
    api_url: str
    aws_endpoint: str
    state_file: Path
    process: subprocess.Popen[str]
    config_home: str
    log_file: Path

    @property
    def dynamodb(self) -> DynamoDBClient:
        return dynamodb(self.aws_endpoint)

    @property
    def admin_token(self) -> str:
        return str(json.loads(self.state_file.read_text())["admin_token"])

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run the `arrowhook` command the way a developer would, pointed at this stack."""
        return subprocess.run(
            [ARROWHOOK, *args],
            cwd=PROJECT_ROOT,
            env={
                **os.environ,
                "ARROWHOOK_STATE_DIR": str(self.state_file.parent),
                "XDG_CONFIG_HOME": self.config_home,
                "COLUMNS": "200",
            },
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@contextlib.contextmanager
def running_dev_stack(workdir: Path, config_home: Path, *options: str, crash: bool = False) -> Iterator[DevStack]:
    """`arrowhook dev` as a developer starts it, on free ports; Ctrl-C at the end must stop it cleanly
    (`crash`: `kill -9` instead, as a crashed terminal would). Its kept data is `workdir`'s (the same
    workdir again: a restart)."""
    api_port, aws_port = free_port(), free_port()
    state_file, log_file = workdir / "dev.json", workdir / "dev.log"
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment["XDG_CONFIG_HOME"] = str(config_home)  # never a developer's saved login
    log = log_file.open("w")  # a file, not a pipe: nobody drains a pipe while tests run, and a full one blocks
    process = subprocess.Popen(
        # Key cache off, so that disabling or rotating a key shows in the very next webhook; webhook
        # and admin throttling far above what the suites send at once (tests/unit covers the 429 itself).
        [
            ARROWHOOK,
            "dev",
            "--port",
            str(api_port),
            "--aws-port",
            str(aws_port),
            "--parameter-overrides",
            "KeyCacheTtlSeconds=0 WebhookRateLimit=100000 WebhookBurstLimit=100000",
            "--parameter-overrides",
            "ApiRateLimit=100000 ApiBurstLimit=100000",
            *options,
        ],
        cwd=PROJECT_ROOT,
        env={
            **environment,
            "ARROWHOOK_STATE_DIR": str(workdir),  # never the developer's state file or kept data
        },
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack = DevStack(
        f"http://127.0.0.1:{api_port}",
        f"http://127.0.0.1:{aws_port}",
        state_file,
        process,
        environment["XDG_CONFIG_HOME"],
        log_file,
    )
    deadline = time.monotonic() + 60
    while _announced_pid(state_file) != process.pid:  # a crashed stack's file may still be there
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output = log_file.read_text()
            pytest.fail(f"arrowhook dev did not start:\n{output}")
        time.sleep(0.1)
    httpx.post(f"{stack.api_url}/webhook", content=b"warm-up", timeout=30)
    yield stack
    if crash:
        process.kill()
        process.wait(timeout=60)
        log.close()
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    log.close()
    output = log_file.read_text()
    assert process.returncode == 0, output[-2000:]
    assert "stopped" in output
    assert not state_file.exists(), "Ctrl-C removes the state file"


def _announced_pid(state_file: Path) -> int | None:
    try:
        return int(json.loads(state_file.read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None


@pytest.fixture(scope="session")
def dev_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    with running_dev_stack(tmp_path_factory.mktemp("dev"), tmp_path_factory.mktemp("config")) as stack:
        yield stack


@pytest.fixture
def client(dev_stack: DevStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=dev_stack.api_url, timeout=30) as http:
        yield http


#: In-process stacks: the key cache off (a change shows in the next webhook), throttles far above what a
#: suite sends at once (tests/unit covers the 429 itself).
UNTHROTTLED = {
    "KeyCacheTtlSeconds": "0",
    "WebhookRateLimit": "100000",
    "WebhookBurstLimit": "100000",
    "ApiRateLimit": "100000",
    "ApiBurstLimit": "100000",
}


@contextlib.contextmanager
def in_process_stack(overrides: dict[str, str] | None = None) -> Iterator[LocalStack]:
    """The local stack in the test's own process (so tests can script fakes and inject AWS faults), with
    the demo key. A module provides it as its `running` fixture; `stack` below wraps each test."""
    from arrowhook_tools.local.stack import local_stack, seed_demo_key

    with local_stack(
        api_port=0, aws_port=0, parameter_overrides={**UNTHROTTLED, **(overrides or {})}, pool_size=2
    ) as stack:
        seed_demo_key(stack.template, dynamodb(stack.aws.endpoint))
        yield stack


@pytest.fixture
def stack(running: LocalStack) -> Iterator[LocalStack]:
    with using(running) as stack:
        yield stack


@contextlib.contextmanager
def using(running: LocalStack) -> Iterator[LocalStack]:
    """An in-process stack for one test: the SDK pointed at it again (the autouse isolation fixture reset
    the environment), and the faults a test injected cleared after it."""
    point_sdk_at(running.aws.endpoint)
    os.environ.update(running.environment)
    yield running
    running.aws.clear_faults()


@dataclass(frozen=True)
class OwnStrategy:
    name: str
    key_id: str
    secret: str


def own_strategy(dev_stack: DevStack, prefix: str) -> OwnStrategy:
    """A strategy key of the test's own: the shared stack's demo key may be renamed or disabled by other
    suites on the same worker (schemathesis follows the links it finds)."""
    import uuid

    created = dev_stack.cli("keys", "create", "--name", f"{prefix}-{uuid.uuid4().hex[:8]}", "--json")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    return OwnStrategy(name=key["name"], key_id=key["id"], secret=key["secret"])


#: Generous: the stack shares two cores with the rest of the suite.
ARRIVAL_SECONDS = 60.0


class Strategy:
    """A strategy of its own per test, so destinations and counts never mix between tests."""

    def __init__(self, admin: httpx.Client, receivers: Receivers) -> None:
        self.admin, self.receivers = admin, receivers
        created = admin.post("/keys", json={"name": f"s-{uuid.uuid4().hex[:10]}"})
        assert created.status_code == 201, created.text
        self.name, self.key_id, self.secret = created.json()["name"], created.json()["id"], created.json()["secret"]
        self.tag = uuid.uuid4().hex[:8]

    def destination(self, kind: str, **values: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": kind, "strategies": [self.name], "name": f"{kind}-{self.tag}", **values}
        if kind in ("discord", "slack", "webhook") and "url" not in body:
            body["url"] = self.url(kind)
        if kind == "telegram":
            body.setdefault("bot_token", f"777:{self.tag}AAAAAAAAAAAAAAAAAAAAAAAA")
            body.setdefault("chat_id", "-100123")
        created = self.admin.post("/destinations", json=body)
        assert created.status_code == 201, created.text
        return dict(created.json())

    def url(self, kind: str) -> str:
        return {
            "discord": f"{self.receivers.url}/discord/api/webhooks/1/{self.tag}",
            "slack": f"{self.receivers.url}/slack/services/T0/B0/{self.tag}",
            "webhook": f"{self.receivers.url}/hook/{self.tag}",
        }[kind]

    def path(self, kind: str) -> str:
        if kind == "telegram":
            return f"/telegram/bot777:{self.tag}"
        return self.url(kind).removeprefix(self.receivers.url)

    def send(self, stack: LocalStack, **fields: Any) -> str:
        assert stack.api is not None
        body = json.loads(strategy_alert(self.secret))
        body.update(fields)
        body = {name: value for name, value in body.items() if value is not None}  # None: leave the field out
        answer = httpx.post(f"{stack.api.url}/webhook", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["alert_id"])

    def deliveries(self, alert_id: str, until: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
        deadline = time.monotonic() + ARRIVAL_SECONDS
        while True:
            found: list[dict[str, Any]] = self.admin.get(f"/alerts/{alert_id}").json()["deliveries"]
            if until(found) or time.monotonic() > deadline:
                return found
            time.sleep(0.2)


def settled(count: int) -> Callable[[list[dict[str, Any]]], bool]:
    """Until `count` delivery records exist and none is still pending (a record is written before its send)."""
    return lambda found: len(found) == count and all(item["status"] != "pending" for item in found)


@pytest.fixture(scope="module")
def receivers() -> Iterator[Receivers]:
    """Fake Discord, Slack, Telegram and webhook receivers, one set per module."""
    fakes = Receivers().start()
    yield fakes
    fakes.stop()


@pytest.fixture
def admin(stack: LocalStack) -> Iterator[httpx.Client]:
    """The admin API of the module's in-process stack, with its token."""
    assert stack.api is not None
    headers = {"Authorization": f"Bearer {stack.admin_token}"}
    with httpx.Client(base_url=stack.api.url, headers=headers, timeout=30) as client:
        yield client
