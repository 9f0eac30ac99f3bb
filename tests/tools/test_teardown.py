"""`arrowhook destroy` / `make destroy`: nothing is deleted unless the stack's name is typed back; then
`sam delete` runs for that stack and region, and what stays (every retained resource of the template,
each with why, and the destinations' run-time secrets) is listed with the commands that remove it."""

from __future__ import annotations

import pytest
import typer

from arrowhook_tools.cli.teardown import kept_after_delete, teardown
from arrowhook_tools.local.template import LocalTemplate

PHYSICAL = {
    "AlertsTable": "arrowhook-prod-AlertsTable-1A",
    "KeysTable": "arrowhook-prod-KeysTable-2B",
    "DeliveriesTable": "arrowhook-prod-DeliveriesTable-3C",
    "ArchiveBucket": "arrowhook-prod-archivebucket-4d",
    "WebhookFunction": "arrowhook-prod-WebhookFunction-5E",
}


def _resources(stack: str, region: str | None) -> tuple[dict[str, str], str]:
    assert stack == "arrowhook-prod"
    return PHYSICAL, region or "eu-west-1"


def test_every_retained_resource_says_why_and_is_listed_with_its_removal() -> None:
    template = LocalTemplate()
    retained = {name for name, item in template.raw["Resources"].items() if item.get("DeletionPolicy") == "Retain"}
    assert retained == {"AlertsTable", "KeysTable", "DeliveriesTable", "ArchiveBucket"}
    assert all(template.raw["Resources"][name]["Metadata"]["RetainedBecause"] for name in retained)
    kept = {item.what.split()[0]: item for item in kept_after_delete(template, PHYSICAL, "arrowhook-prod", "eu-west-1")}
    assert set(kept) == retained | {"SSM"}
    assert kept["AlertsTable"].remove[-1] == (
        "aws dynamodb delete-table --region eu-west-1 --table-name arrowhook-prod-AlertsTable-1A"
    )
    assert "--no-deletion-protection-enabled" in kept["KeysTable"].remove[0]
    assert kept["ArchiveBucket"].remove[-1] == "aws s3 rb --region eu-west-1 s3://arrowhook-prod-archivebucket-4d"
    assert "/arrowhook/arrowhook-prod/destinations/" in kept["SSM"].remove[0]


def test_nothing_is_deleted_unless_the_name_is_typed_back(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr(typer, "prompt", lambda *args, **kwargs: "arrowhook-dev")
    with pytest.raises(typer.Exit):
        teardown("arrowhook-prod", None, resources=_resources, run=ran.append)
    assert ran == []


def test_the_typed_name_runs_sam_delete_then_lists_what_stays(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr(typer, "prompt", lambda *args, **kwargs: "arrowhook-prod")
    teardown("arrowhook-prod", "us-east-2", resources=_resources, run=ran.append)
    ((command),) = ran
    assert command[1:] == ["delete", "--stack-name", "arrowhook-prod", "--region", "us-east-2", "--no-prompts"]
    printed = capsys.readouterr().out
    assert "arrowhook-prod deleted" in printed
    assert "aws s3 rb --region us-east-2 s3://arrowhook-prod-archivebucket-4d" in printed
    assert printed.index("these stay") < printed.index("deleted"), "the list comes before the question too"
