"""The end-to-end suite talks only HTTP and the `arrowhook` CLI, as a trader and an operator do.

Without ARROWHOOK_E2E_STACK it starts `arrowhook dev` (part of `make test`); with it (`make e2e
STACK=<name>`) it runs against that deployed stack, logged in as `arrowhook login --stack` does, with
your AWS credentials. Every test makes its own strategy key and removes it."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from arrowhook_tools.local.template import PROJECT_ROOT
from tests.integration.conftest import ARROWHOOK, running_dev_stack


@dataclass
class Target:
    api_url: str
    admin_token: str
    environment: dict[str, str] = field(default_factory=dict)

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [ARROWHOOK, *args],
            cwd=PROJECT_ROOT,
            env={**os.environ, **self.environment, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def admin(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        return httpx.Client(base_url=self.api_url, headers=headers, timeout=30)


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    stack = os.environ.get("ARROWHOOK_E2E_STACK")
    config_home = tmp_path_factory.mktemp("e2e-config")
    if stack:
        environment = {"XDG_CONFIG_HOME": str(config_home), "ARROWHOOK_PROFILE": "e2e"}
        deployed = Target("", "", environment)
        login = deployed.cli("login", "--stack", stack)
        assert login.returncode == 0, login.stderr
        saved = json.loads((config_home / "arrowhook" / "config.json").read_text())["profiles"]["e2e"]
        yield Target(saved["api_url"], saved["token"], environment)
        return
    with running_dev_stack(tmp_path_factory.mktemp("e2e-dev"), config_home) as local:
        environment = {
            "ARROWHOOK_STATE_DIR": str(local.state_file.parent),
            "XDG_CONFIG_HOME": local.config_home,
        }
        yield Target(local.api_url, local.admin_token, environment)


@dataclass
class OwnStrategy:
    name: str
    key_id: str
    secret: str


@pytest.fixture
def strategy(target: Target) -> Iterator[OwnStrategy]:
    created = target.cli("keys", "create", "--name", f"e2e-{uuid.uuid4().hex[:8]}", "--json")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    yield OwnStrategy(key["name"], key["id"], key["secret"])
    target.cli("keys", "delete", key["id"], "--yes")


__all__ = ["OwnStrategy", "Path", "Target"]
