"""`arrowhook archive run` against its own `make dev` stack: alerts in over HTTP, out to S3, nothing lost."""

from __future__ import annotations

import gzip
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from arrowhook_tools.cli.samples import strategy_alert
from arrowhook_tools.local.stack import DEMO_SECRET
from arrowhook_tools.local.template import LocalTemplate
from arrowhook_tools.standins.embedded_aws import s3
from tests.integration.conftest import DevStack, running_dev_stack


@pytest.fixture(scope="module")
def archive_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    """A stack of its own: archiving everything older than a second would empty the shared one."""
    with running_dev_stack(tmp_path_factory.mktemp("archive"), tmp_path_factory.mktemp("archive-config")) as stack:
        yield stack


def _admin(stack: DevStack) -> httpx.Client:
    return httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {stack.admin_token}"}, timeout=30)


def _archived(stack: DevStack) -> dict[str, dict[str, Any]]:
    client = s3(stack.aws_endpoint)
    bucket = LocalTemplate().physical_name("ArchiveBucket")
    lines: dict[str, dict[str, Any]] = {}
    for entry in client.list_objects_v2(Bucket=bucket, Prefix="alerts/").get("Contents", []):
        body = client.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
        for line in gzip.decompress(body).splitlines():
            record = json.loads(line)
            assert record["alert_id"] not in lines, "no alert twice in the archive"
            lines[record["alert_id"]] = record
    return lines


def test_archive_run_moves_posted_alerts_to_s3_exactly_as_the_api_showed_them(archive_stack: DevStack) -> None:
    with httpx.Client(base_url=archive_stack.api_url, timeout=30) as webhook:
        posted = [
            webhook.post(
                "/webhook",
                content=strategy_alert(DEMO_SECRET, ticker=f"T{number}", nonce=uuid.uuid4().hex).encode(),
                headers={"Content-Type": "application/json"},
            ).json()["alert_id"]
            for number in range(20)
        ]
    with _admin(archive_stack) as admin:
        shown = {alert_id: admin.get(f"/alerts/{alert_id}").json() for alert_id in posted}
    time.sleep(1.1)

    dry = archive_stack.cli("archive", "run", "--older-than", "1s", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would archive 20 alerts" in dry.stdout

    run = archive_stack.cli("archive", "run", "--older-than", "1s")
    assert run.returncode == 0, run.stderr
    assert re.search(r"archived 20 alerts .* into 1 object in s3://arrowhook-local-archivebucket/alerts/", run.stdout)
    assert re.search(r"s3://\S+/alerts/year=\d{4}/month=\d\d/day=\d\d/\w{26}\.jsonl\.gz", run.stdout)

    archived = _archived(archive_stack)
    assert set(archived) == set(posted)
    # The archive keeps the alert as received; its delivery records stay in their own table (they expire
    # there), `message` and `fill` are derived from the stored fields, and the repeated deliveries listed
    # on it and the signal checks' findings are bookkeeping about the alert, not part of it
    # (docs/operations.md).
    derived = ("deliveries", "message", "text", "duplicates", "health", "fill")
    shown_alerts = {alert_id: {k: v for k, v in alert.items() if k not in derived} for alert_id, alert in shown.items()}
    assert all(archived[alert_id] == shown_alerts[alert_id] for alert_id in posted), (
        "what the API showed, field for field"
    )
    with _admin(archive_stack) as admin:
        assert admin.get("/alerts", params={"since": "1d"}).json()["items"] == []
        assert admin.get(f"/alerts/{posted[0]}").status_code == 404

    again = archive_stack.cli("archive", "run", "--older-than", "1s", "--json")
    assert again.returncode == 0, again.stderr
    assert (json.loads(again.stdout)["archived"], len(_archived(archive_stack))) == (0, 20)


def test_archive_restore_brings_the_day_back_once(archive_stack: DevStack) -> None:
    archived = _archived(archive_stack)
    assert archived, "the test above archived alerts"
    day = next(iter(archived.values()))["received_at"][:10]
    first = archive_stack.cli("archive", "restore", "--day", day)
    assert first.returncode == 0, first.stderr
    assert re.search(rf"restored {len(archived)} alerts of {day} from 1 object \(0 already in the table", first.stdout)
    with _admin(archive_stack) as admin:
        back = admin.get(f"/alerts/{next(iter(archived))}").json()
    assert back["alert_id"] == next(iter(archived))
    again = archive_stack.cli("archive", "restore", "--day", day, "--json")
    assert again.returncode == 0, again.stderr
    assert (json.loads(again.stdout)["restored"], json.loads(again.stdout)["already_present"]) == (0, len(archived))
    nothing = archive_stack.cli("archive", "restore", "--day", "2001-01-01")
    assert "nothing archived on 2001-01-01" in nothing.stdout
    bad = archive_stack.cli("archive", "restore", "--day", "yesterday")
    assert bad.returncode == 2


def test_the_scheduler_sample_event_runs_through_invoke(archive_stack: DevStack) -> None:
    result = archive_stack.cli("invoke", "ArchiveFunction", "--event", "events/archive-schedule.json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "complete"


def test_a_bad_duration_is_refused(archive_stack: DevStack) -> None:
    result = archive_stack.cli("archive", "run", "--older-than", "ninety days")
    assert result.returncode == 2
    assert "invalid duration" in result.stderr
