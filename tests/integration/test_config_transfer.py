"""`arrowhook config export` from one local stack, `import` into a new one: everything but the secrets
moves; new strategy secrets work there and the old ones do not; running the import again changes nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from arrowhook_tools.cli.main import app
from arrowhook_tools.cli.samples import strategy_alert
from arrowhook_tools.local.stack import LocalStack, local_stack
from arrowhook_tools.standins.receivers import Receivers
from tests.integration.conftest import UNTHROTTLED, Strategy, in_process_stack, using

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def running() -> Iterator[LocalStack]:
    with in_process_stack({"AllowHttpDestinations": "true"}) as stack:
        yield stack


@pytest.fixture(scope="module")
def new_stack() -> Iterator[LocalStack]:
    overrides = {**UNTHROTTLED, "AllowHttpDestinations": "true"}
    with local_stack(
        api_port=0, aws_port=0, parameter_overrides=overrides, pool_size=1, stack_name="arrowhook-new"
    ) as stack:
        yield stack


def _cli(stack: LocalStack, *arguments: str) -> tuple[int, str]:
    assert stack.api is not None
    result = CliRunner().invoke(app, [*arguments, "--api-url", stack.api.url, "--token", stack.admin_token])
    return result.exit_code, result.stdout


def test_the_configuration_moves_without_a_secret_and_an_import_runs_twice(
    stack: LocalStack, admin: httpx.Client, receivers: Receivers, new_stack: LocalStack, tmp_path: Path
) -> None:
    trading = Strategy(admin, receivers)
    quiet = Strategy(admin, receivers)
    assert admin.patch(f"/keys/{trading.key_id}", json={"signals": {"max_lag_seconds": 30}}).status_code == 200
    assert admin.patch(f"/keys/{quiet.key_id}", json={"enabled": False}).status_code == 200
    hook = trading.destination("webhook", template="{strategy} {side} {ticker}")
    trading.destination("telegram", chat_id="-100777")
    trading.destination("discord")
    exported = tmp_path / "arrowhook-config.json"

    code, output = _cli(stack, "config", "export", "--file", str(exported))
    assert code == 0, output
    text = exported.read_text()
    for secret in (
        trading.secret,
        quiet.secret,
        trading.url("webhook"),
        trading.url("discord"),
        hook["signing_secret"],
    ):
        assert secret not in text
    assert trading.tag not in text.replace(f"-{trading.tag}", ""), "no bot token either"
    content = json.loads(text)
    assert {item["name"] for item in content["strategies"]} >= {trading.name, quiet.name}

    secrets = tmp_path / "secrets.json"
    secrets.write_text(
        json.dumps(
            {
                f"webhook-{trading.tag}": trading.url("webhook"),
                f"telegram-{trading.tag}": "888:NewBotTokenAAAAAAAAAAAAAAAAAAAAAAA",
            }
        )
    )
    secrets_out = tmp_path / "private" / "new-secrets.json"
    arguments = ("config", "import", "--file", str(exported), "--destination-secrets", str(secrets), "--no-input")
    code, output = _cli(new_stack, *arguments, "--secrets-out", str(secrets_out))
    assert code == 1, "the discord destination had no URL: skipped, said, and the exit code says it"
    assert f"destination discord-{trading.tag}: skipped, no url given" in output
    assert secrets_out.exists(), output
    new_secret = json.loads(secrets_out.read_text())[trading.name]
    assert new_secret in output and new_secret != trading.secret
    assert oct(secrets_out.stat().st_mode & 0o777) == "0o600"

    assert new_stack.api is not None
    headers = {"Authorization": f"Bearer {new_stack.admin_token}"}
    with using(new_stack), httpx.Client(base_url=new_stack.api.url, timeout=30, headers=headers) as new_admin:
        keys = {key["name"]: key for key in new_admin.get("/keys", params={"limit": 100}).json()["items"]}
        assert keys[trading.name]["signals"]["max_lag_seconds"] == 30
        assert keys[quiet.name]["status"] == "disabled"
        destinations = {item["name"]: item for item in new_admin.get("/destinations").json()["items"]}
        moved = destinations[f"webhook-{trading.tag}"]
        assert (moved["template"], moved["strategies"]) == ("{strategy} {side} {ticker}", [keys[trading.name]["id"]])
        assert destinations[f"telegram-{trading.tag}"]["chat_id"] == "-100777"
        assert f"discord-{trading.tag}" not in destinations
        webhook = f"{new_stack.api.url}/webhook"
        assert httpx.post(webhook, content=strategy_alert(new_secret), timeout=30).status_code == 200
        assert httpx.post(webhook, content=strategy_alert(trading.secret), timeout=30).status_code == 401

    code, again = _cli(new_stack, *arguments)
    assert code == 1
    assert re.search(rf"strategy {trading.name}: exists, left as it is", again)
    assert f"destination webhook-{trading.tag}: exists, left as it is" in again
    assert "created" not in again
