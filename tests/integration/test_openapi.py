"""The merged OpenAPI document: up to date, served locally, and honoured by the running API (Schemathesis)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from arrowhook_tools.generators import openapi
from arrowhook_tools.local.template import PROJECT_ROOT
from tests.integration.conftest import DevStack, running_dev_stack

pytestmark = pytest.mark.integration
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))


def test_committed_openapi_json_is_current() -> None:
    committed = json.loads((PROJECT_ROOT / "openapi.json").read_text())
    assert committed == json.loads(json.dumps(openapi.build())), "run `make openapi` and commit openapi.json"


def test_document_covers_every_template_route() -> None:
    from arrowhook_tools.local.template import LocalTemplate

    document = openapi.build()
    for route in LocalTemplate().routes():
        if route.function_id == "ConsoleFunction":
            continue  # the console's pages are HTML for people, not API (tests/integration/console/)
        assert route.method.lower() in document["paths"][route.path], route.route_key
        operation = document["paths"][route.path][route.method.lower()]
        assert (operation["security"] == []) is (route.authorizer is None), route.route_key


def test_local_gateway_serves_the_spec_and_docs(client: httpx.Client) -> None:
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    assert "/webhook" in spec.json()["paths"] and "/keys" in spec.json()["paths"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text


@pytest.fixture(scope="module")
def fuzzed_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    """A stack of its own: Schemathesis follows the links it finds (it renames and deletes keys), which
    must not reach the shared stack other suites rely on."""
    with running_dev_stack(tmp_path_factory.mktemp("fuzzed"), tmp_path_factory.mktemp("fuzzed-config")) as stack:
        yield stack


@pytest.mark.parametrize("authenticated", [True, False])
def test_schemathesis_finds_no_server_error_or_schema_violation(
    fuzzed_stack: DevStack, authenticated: bool, tmp_path: Path
) -> None:
    dev_stack = fuzzed_stack
    headers = ["-H", f"Authorization: Bearer {dev_stack.admin_token}"] if authenticated else []
    result = subprocess.run(
        [
            SCHEMATHESIS,
            "run",
            str(PROJECT_ROOT / "openapi.json"),
            "--url",
            dev_stack.api_url,
            *headers,
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
            "--max-examples",
            "20",
            "--seed",
            "20261122",
            "--workers",
            "2",
            # Schemathesis waits 10 s by default: one request of thousands took longer on a loaded machine
            # (a fresh clone beside a CPU-heavy process, with the suite's other stacks running).
            "--request-timeout",
            "30",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,  # Schemathesis writes a cache into its working directory
    )
    report = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    assert " passed" in result.stdout, report
