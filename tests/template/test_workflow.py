"""The GitHub Actions pipeline users adopt as is (.github/workflows/ci-cd.yml): what runs when, and with
which AWS access. `make lint` runs zizmor on it (permissions, injection, credentials)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from arrowhook_tools.local.template import PROJECT_ROOT

WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "ci-cd.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    return loaded


def _runs(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def test_pull_requests_main_and_tags_trigger_it(workflow: dict[Any, Any]) -> None:
    triggers = workflow[True]  # YAML 1.1 reads the `on` key as true
    assert "pull_request" in triggers
    assert triggers["push"] == {"branches": ["main"], "tags": ["v*"]}
    assert workflow["permissions"] == {"contents": "read"}, "least privilege by default"


def test_every_change_runs_make_test_first(workflow: dict[Any, Any]) -> None:
    jobs = workflow["jobs"]
    assert _runs(jobs["test"]) == ["make test"]
    assert "if" not in jobs["test"]
    assert jobs["deploy-dev"]["needs"] == "test" and jobs["deploy-prod"]["needs"] == "test"


def test_main_deploys_dev_and_a_tag_deploys_prod_behind_its_environment(workflow: dict[Any, Any]) -> None:
    dev, prod = workflow["jobs"]["deploy-dev"], workflow["jobs"]["deploy-prod"]
    assert dev["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert prod["if"] == "github.event_name == 'push' && startsWith(github.ref, 'refs/tags/v')"
    assert (dev["environment"], prod["environment"]) == ("dev", "prod")  # prod: required reviewers approve
    assert any(run.startswith("make deploy ENV=default ") for run in _runs(dev))
    assert any(run.startswith("make deploy ENV=prod ") for run in _runs(prod))


def test_aws_access_is_an_oidc_role_never_stored_keys(workflow: dict[Any, Any]) -> None:
    text = WORKFLOW.read_text()
    assert "secrets." not in text and "aws-access-key-id" not in text
    for name in ("deploy-dev", "deploy-prod"):
        job = workflow["jobs"][name]
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        [credentials] = [step for step in job["steps"] if "configure-aws-credentials" in step.get("uses", "")]
        assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"


def test_every_action_is_pinned_to_a_commit_of_a_maintained_major(workflow: dict[Any, Any]) -> None:
    """Tags can be moved, and the node20 majors (checkout@v4, setup-python@v5, configure-aws-credentials@v4)
    run on a runtime GitHub is removing: a 40-hex commit, its release in a comment."""
    import re

    minimum = {"actions/checkout": 6, "actions/setup-python": 6, "aws-actions/configure-aws-credentials": 5}
    lines = [line for line in WORKFLOW.read_text().splitlines() if "uses:" in line]
    assert lines
    for line in lines:
        match = re.search(r"uses: ([\w-]+/[\w-]+)@([0-9a-f]{40}) # v(\d+)\.\d+\.\d+$", line)
        assert match is not None, line
        assert int(match.group(3)) >= minimum[match.group(1)], line
