"""Archival against moto (DynamoDB + S3): lossless, exactly once, resumable after a crash anywhere."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from arrowhook.archive import STATE_KEY, Archiver, ArchiveRequest, archive_line, object_key, read_archive
from arrowhook.errors import ArchiveIntegrityError, StoreUnavailableError
from arrowhook.ingest import IncomingAlert, KeyResolver, ingest_alert
from arrowhook.settings import get_settings
from arrowhook.store import AlertStore, alert_from_item
from arrowhook_tools.samples import strategy_alert
from arrowhook_tools.template import PROJECT_ROOT, LocalTemplate
from tests.conftest import Strategy, alert_items, load_module, sample_event

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NOW = datetime.now(UTC)
CUTOFF = NOW - timedelta(days=90)
OLD_START = NOW - timedelta(days=100)


class Crash(BaseException):
    """Stands in for the process dying: the archiver's own error handling never catches it."""


@pytest.fixture
def table(template: LocalTemplate) -> str:
    return template.physical_name("AlertsTable")


@pytest.fixture
def bucket(template: LocalTemplate) -> str:
    return template.physical_name("ArchiveBucket")


@pytest.fixture
def s3(aws: DynamoDBClient) -> Any:
    return boto3.client("s3")


@pytest.fixture
def seed(aws: DynamoDBClient, strategy: Strategy, table: str) -> Callable[..., list[str]]:
    """Store alerts through the real ingest path, `spacing` apart from `start`; returns their ids."""
    settings = get_settings()
    keys = KeyResolver(settings.keys_table_name, 0)
    store = AlertStore(table, client=aws)
    bodies = [
        strategy_alert(strategy.secret, comment="größer €"),
        strategy_alert(strategy.secret, ticker="ETHUSD", action="sell")[:-1] + ",",  # malformed JSON
        "BUY BTCUSDT @ 65000",  # a text alert, authenticated by the URL token
    ]

    stored = 0

    def store_alerts(count: int, start: datetime = OLD_START, spacing: timedelta = timedelta(minutes=7)) -> list[str]:
        nonlocal stored
        ids = []
        for number in range(count):
            stored += 1
            body = bodies[number % len(bodies)] + " " * stored  # distinct bodies, so none is a duplicate
            incoming = IncomingAlert(
                body=body.encode(),
                received_at=start + spacing * number,
                path_token=strategy.secret if number % len(bodies) == 2 else None,
                source_ip="52.89.214.238",
                request_id=f"r{number}",
            )
            ids.append(ingest_alert(incoming, settings, keys, store).alert_id)
        return ids

    return store_alerts


def archiver(aws: DynamoDBClient, table: str, bucket: str, s3: Any, **options: Any) -> Archiver:
    return Archiver(table, bucket, dynamodb=aws, s3=s3, sleep=lambda _: None, **options)


def archived_lines(s3: Any, bucket: str) -> dict[str, list[bytes]]:
    """Current object versions only (what Athena reads): key -> its JSON lines."""
    objects: dict[str, list[bytes]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="alerts/"):
        for entry in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
            objects[entry["Key"]] = gzip.decompress(body).splitlines()
    return objects


def stored_lines(aws: DynamoDBClient, template: LocalTemplate) -> dict[str, bytes]:
    return {item["alert_id"]["S"]: archive_line(alert_from_item(item)) for item in alert_items(aws, template)}


def assert_exactly_once(s3: Any, bucket: str, expected: dict[str, bytes]) -> None:
    lines = [line for body in archived_lines(s3, bucket).values() for line in body]
    counts = Counter(json.loads(line)["alert_id"] for line in lines)
    assert set(counts) == set(expected), "every archived alert, and only those"
    assert max(counts.values()) == 1, "no alert twice in the archive"
    for line in lines:
        assert line == expected[json.loads(line)["alert_id"]], "byte-for-byte what DynamoDB held"


def remaining_ids(aws: DynamoDBClient, template: LocalTemplate) -> set[str]:
    return {item["alert_id"]["S"] for item in alert_items(aws, template)}


def test_old_alerts_move_to_s3_byte_for_byte_and_young_ones_stay(
    aws: DynamoDBClient, template: LocalTemplate, table: str, bucket: str, s3: Any, seed: Callable[..., list[str]]
) -> None:
    old = seed(45, spacing=timedelta(hours=1))  # about two days of alerts
    young = seed(5, start=NOW - timedelta(days=1))
    before = stored_lines(aws, template)
    assert len(before) == 50

    report = archiver(aws, table, bucket, s3).run(CUTOFF)

    assert report.status == "complete"
    assert report.archived == 45
    assert remaining_ids(aws, template) == set(young)
    assert_exactly_once(s3, bucket, {alert_id: before[alert_id] for alert_id in old})
    objects = archived_lines(s3, bucket)
    assert sorted(objects) == sorted(report.objects)
    days = {(OLD_START + timedelta(hours=hour)).strftime("year=%Y/month=%m/day=%d") for hour in range(45)}
    assert {key.rsplit("/", 1)[0] for key in objects} == {f"alerts/{day}" for day in days}, "one object per day"
    for key, lines in objects.items():
        first = json.loads(lines[0])
        assert key.endswith(f"/{first['alert_id']}.jsonl.gz"), "named after the first alert: reruns overwrite"
    assert report.bytes_written == sum(s3.head_object(Bucket=bucket, Key=key)["ContentLength"] for key in objects)


def test_archived_lines_keep_the_payload_and_parse_issues(
    aws: DynamoDBClient, template: LocalTemplate, table: str, bucket: str, s3: Any, seed: Callable[..., list[str]]
) -> None:
    seed(3)
    stored = {item["alert_id"]["S"]: alert_from_item(item) for item in alert_items(aws, template)}
    archiver(aws, table, bucket, s3).run(CUTOFF)
    [(key, _)] = archived_lines(s3, bucket).items()
    archived = read_archive(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert [line.payload for line in archived] == [stored[line.alert_id].payload for line in archived]
    assert archived[0].comment == "größer €" and '"key": "***"' in archived[0].payload
    assert archived[1].parse_issues, "the malformed body is archived with its parse problems"
    assert all("ahk_" not in line.model_dump_json() for line in archived), "never a secret"


def test_objects_hold_at_most_the_configured_alerts_and_deletes_go_25_at_a_time(
    aws: DynamoDBClient, template: LocalTemplate, table: str, bucket: str, s3: Any, seed: Callable[..., list[str]]
) -> None:
    seed(60, spacing=timedelta(seconds=30))
    calls: Counter[str] = Counter()
    aws.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.update([model.name]))
    report = archiver(aws, table, bucket, s3, alerts_per_object=25).run(CUTOFF)
    sizes = sorted(len(lines) for lines in archived_lines(s3, bucket).values())
    assert sizes == [10, 25, 25]
    assert report.archived == 60 and len(report.objects) == 3
    assert calls["BatchWriteItem"] == 3, "one full BatchWriteItem per 25 alerts"


def test_a_second_run_finds_nothing_and_rewrites_nothing(
    aws: DynamoDBClient, template: LocalTemplate, table: str, bucket: str, s3: Any, seed: Callable[..., list[str]]
) -> None:
    seed(10)
    archiver(aws, table, bucket, s3).run(CUTOFF)
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    again = archiver(aws, table, bucket, s3).run(CUTOFF)
    assert (again.status, again.archived, again.objects) == ("complete", 0, [])
    assert s3.list_object_versions(Bucket=bucket)["Versions"] == versions


def test_later_alerts_are_archived_by_a_later_run_from_the_watermark(
    aws: DynamoDBClient, template: LocalTemplate, table: str, bucket: str, s3: Any, seed: Callable[..., list[str]]
) -> None:
    seed(10)
    first = archiver(aws, table, bucket, s3).run(CUTOFF)
    later = seed(4, start=NOW - timedelta(days=20))
    scans: list[str] = []
    aws.meta.events.register("before-call.dynamodb.Scan", lambda model, **_: scans.append(model.name))
    second = archiver(aws, table, bucket, s3).run(NOW - timedelta(days=10))
    assert (first.archived, second.archived) == (10, 4)
    assert not scans, "only the very first run looks for the oldest day"
    assert remaining_ids(aws, template).isdisjoint(later)


def test_dry_run_counts_without_writing(
    aws: DynamoDBClient, template: LocalTemplate, table: str, bucket: str, s3: Any, seed: Callable[..., list[str]]
) -> None:
    seed(12)
    seed(3, start=NOW - timedelta(hours=1))
    report = archiver(aws, table, bucket, s3).run(CUTOFF, dry_run=True)
    assert (report.status, report.would_archive, report.archived) == ("dry_run", 12, 0)
    assert len(remaining_ids(aws, template)) == 15
    assert archived_lines(s3, bucket) == {}
    assert "Item" not in aws.get_item(TableName=table, Key=STATE_KEY), "a dry run leaves no state"


def test_an_empty_table_completes(aws: DynamoDBClient, table: str, bucket: str, s3: Any) -> None:
    report = archiver(aws, table, bucket, s3).run(CUTOFF)
    assert (report.status, report.archived, report.objects) == ("complete", 0, [])


def _crash_on(client: Any, event: str, call_number: int) -> None:
    """Raise Crash at the `call_number`-th matching call (before it is sent, or after it succeeded)."""
    seen = 0

    def hook(**_: Any) -> None:
        nonlocal seen
        seen += 1
        if seen == call_number:
            raise Crash(event)

    client.meta.events.register(event, hook)


# UpdateItem calls of a run: 1 takes the lease, 2 journals the first object, 3 commits it, ...
FAULT_POINTS = [
    ("s3", "before-call.s3.PutObject", 1),  # S3 write fails
    ("s3", "after-call.s3.PutObject", 2),  # second object written, never verified
    ("s3", "after-call.s3.GetObject", 1),  # verified, not journalled
    ("dynamodb", "after-call.dynamodb.UpdateItem", 2),  # journalled, nothing deleted
    ("dynamodb", "after-call.dynamodb.BatchWriteItem", 1),  # between delete batches
    ("dynamodb", "after-call.dynamodb.BatchWriteItem", 2),  # all deleted, watermark not moved
    ("dynamodb", "before-call.dynamodb.UpdateItem", 3),  # commit lost
    ("dynamodb", "after-call.dynamodb.UpdateItem", 3),  # committed, lease not released
    ("dynamodb", "after-call.dynamodb.Query", 2),  # mid-way through the second day
]


@pytest.mark.parametrize(("client_name", "event", "call_number"), FAULT_POINTS)
def test_a_crash_anywhere_loses_nothing_and_the_next_run_duplicates_nothing(
    aws: DynamoDBClient,
    template: LocalTemplate,
    table: str,
    bucket: str,
    seed: Callable[..., list[str]],
    client_name: str,
    event: str,
    call_number: int,
) -> None:
    old = seed(70, spacing=timedelta(minutes=40))  # two days, so three objects of 30 at most
    young = seed(3, start=NOW)
    before = stored_lines(aws, template)
    faulty = {"dynamodb": boto3.client("dynamodb"), "s3": boto3.client("s3")}
    _crash_on(faulty[client_name], event, call_number)
    with pytest.raises(Crash):
        Archiver(table, bucket, dynamodb=faulty["dynamodb"], s3=faulty["s3"], alerts_per_object=30).run(CUTOFF)

    # Nothing lost: each alert is still in DynamoDB or in a verified object.
    s3 = boto3.client("s3")
    in_s3 = {json.loads(line)["alert_id"] for lines in archived_lines(s3, bucket).values() for line in lines}
    assert set(old) <= remaining_ids(aws, template) | in_s3

    aws.update_item(TableName=table, Key=STATE_KEY, UpdateExpression="REMOVE lease_until")  # the crash's lease expired
    report = archiver(aws, table, bucket, s3, alerts_per_object=30).run(CUTOFF)
    assert report.status == "complete"
    assert remaining_ids(aws, template) == set(young)
    assert_exactly_once(s3, bucket, {alert_id: before[alert_id] for alert_id in old})


def test_a_crashed_run_holds_the_lease_until_it_expires(
    aws: DynamoDBClient, template: LocalTemplate, table: str, bucket: str, s3: Any, seed: Callable[..., list[str]]
) -> None:
    seed(5)
    aws.put_item(
        TableName=table,
        Item={**STATE_KEY, "lease_owner": {"S": "crashed"}, "lease_until": {"N": str(int(NOW.timestamp()) + 600)}},
    )
    busy = archiver(aws, table, bucket, s3).run(CUTOFF)
    assert (busy.status, busy.archived) == ("busy", 0)
    assert len(remaining_ids(aws, template)) == 5
    aws.update_item(
        TableName=table,
        Key=STATE_KEY,
        UpdateExpression="SET lease_until = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )
    assert archiver(aws, table, bucket, s3).run(CUTOFF).archived == 5


class _TamperedReads:
    """An S3 client whose reads come back altered, as a corrupted or swapped object would."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_object(self, **arguments: Any) -> dict[str, Any]:
        body: bytes = self._client.get_object(**arguments)["Body"].read()

        class Body:
            @staticmethod
            def read() -> bytes:
                return body[:-1] + bytes([body[-1] ^ 1])

        return {"Body": Body()}


def test_an_object_that_does_not_read_back_deletes_nothing(
    aws: DynamoDBClient, template: LocalTemplate, table: str, bucket: str, s3: Any, seed: Callable[..., list[str]]
) -> None:
    seed(8)
    with pytest.raises(ArchiveIntegrityError):
        Archiver(table, bucket, dynamodb=aws, s3=_TamperedReads(s3)).run(CUTOFF)
    assert len(remaining_ids(aws, template)) == 8
    state = aws.get_item(TableName=table, Key=STATE_KEY)["Item"]
    assert "pending" not in state and "lease_until" not in state


class _Unprocessing:
    """A DynamoDB client whose first BatchWriteItem calls leave half the requests unprocessed."""

    def __init__(self, client: Any, times: int) -> None:
        self._client = client
        self.left = times

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        if self.left <= 0:
            return dict(self._client.batch_write_item(RequestItems=RequestItems))
        self.left -= 1
        ((table, requests),) = RequestItems.items()
        half = len(requests) // 2
        self._client.batch_write_item(RequestItems={table: requests[:half]})
        return {"UnprocessedItems": {table: requests[half:]}}


def test_unprocessed_deletes_are_retried(
    aws: DynamoDBClient, template: LocalTemplate, table: str, bucket: str, s3: Any, seed: Callable[..., list[str]]
) -> None:
    seed(30)
    report = Archiver(table, bucket, dynamodb=_Unprocessing(aws, 3), s3=s3, sleep=lambda _: None).run(CUTOFF)  # type: ignore[arg-type]
    assert (report.archived, report.batches_retried) == (30, 3)
    assert remaining_ids(aws, template) == set()


def test_deletes_that_never_go_through_leave_the_journal_for_the_next_run(
    aws: DynamoDBClient, template: LocalTemplate, table: str, bucket: str, s3: Any, seed: Callable[..., list[str]]
) -> None:
    seed(10)
    stubborn = _Unprocessing(aws, 1_000)
    with pytest.raises(StoreUnavailableError):
        Archiver(table, bucket, dynamodb=stubborn, s3=s3, sleep=lambda _: None).run(CUTOFF)  # type: ignore[arg-type]
    assert "pending" in aws.get_item(TableName=table, Key=STATE_KEY)["Item"]
    report = archiver(aws, table, bucket, s3).run(CUTOFF)
    assert report.resumed == 10 and remaining_ids(aws, template) == set()


def test_stops_taking_batches_before_the_timeout_and_the_next_run_continues(
    aws: DynamoDBClient, template: LocalTemplate, table: str, bucket: str, s3: Any, seed: Callable[..., list[str]]
) -> None:
    seed(50, spacing=timedelta(seconds=10))
    before = stored_lines(aws, template)
    clock = iter([900.0, 900.0, 19.0])  # lease, first batch, then too close to the timeout
    report = archiver(aws, table, bucket, s3, alerts_per_object=20).run(CUTOFF, remaining_seconds=lambda: next(clock))
    assert (report.status, report.archived) == ("incomplete", 20)
    assert "next run" in report.message
    rest = archiver(aws, table, bucket, s3, alerts_per_object=20).run(CUTOFF)
    assert (rest.status, rest.archived) == ("complete", 30)
    assert_exactly_once(s3, bucket, before)


def test_object_key_is_hive_partitioned_by_the_day_received(
    seed: Callable[..., list[str]], aws: DynamoDBClient, template: LocalTemplate
) -> None:
    seed(1, start=datetime(2026, 3, 7, 23, 59, 59, tzinfo=UTC))
    [item] = alert_items(aws, template)
    alert = alert_from_item(item)
    assert object_key(alert) == f"alerts/year=2026/month=03/day=07/{alert.alert_id}.jsonl.gz"


# -- the handler ---------------------------------------------------------------------------------------


@pytest.fixture
def archive_app(aws: DynamoDBClient, template: LocalTemplate, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in template.function_spec("ArchiveFunction").environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield load_module(PROJECT_ROOT / "functions/archive/app.py", "archive_app_under_test")
    get_settings.cache_clear()


def _invoke(module: Any, event: Any) -> dict[str, Any]:
    from arrowhook_tools.runtime import LocalContext

    result: dict[str, Any] = module.lambda_handler(
        event, LocalContext(function_name="ArchiveFunction", timeout_seconds=900)
    )
    return result


def test_the_scheduled_event_archives_with_the_retention_parameter(
    archive_app: Any,
    aws: DynamoDBClient,
    template: LocalTemplate,
    seed: Callable[..., list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed(4)
    seed(2, start=NOW - timedelta(days=89))
    result = _invoke(archive_app, sample_event("archive-schedule.json"))
    assert (result["status"], result["archived"]) == ("complete", 4)
    assert len(remaining_ids(aws, template)) == 2
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    published = {
        name: value for blob in metrics for name, value in blob.items() if name.startswith(("Alerts", "Archive"))
    }
    assert published["AlertsArchived"] == [4.0] and published["ArchiveObjectsWritten"] == [1.0]
    assert published["ArchiveBytesWritten"] == [result["bytes_written"]]


def test_the_dry_run_sample_event_counts(archive_app: Any, seed: Callable[..., list[str]]) -> None:
    seed(3)
    result = _invoke(archive_app, sample_event("archive-dry-run.json"))
    assert (result["status"], result["would_archive"]) == ("dry_run", 3)


@pytest.mark.parametrize(
    "event",
    [{"older_than_seconds": 0}, {"older_than_seconds": "soon"}, {"dry_run": "maybe"}, ["not", "an", "object"], None],
)
def test_bad_input_is_rejected_not_crashed(archive_app: Any, event: Any) -> None:
    result = _invoke(archive_app, event)
    assert result["status"] == "rejected" and result["errors"]


def test_a_failed_run_raises_and_counts_an_error(
    archive_app: Any,
    seed: Callable[..., list[str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed(2)
    monkeypatch.setattr(archive_app.archiver, "bucket", "arrowhook-no-such-bucket")
    with pytest.raises(StoreUnavailableError):
        _invoke(archive_app, {"trigger": "schedule"})
    assert '"ArchiveErrors"' in capsys.readouterr().out


def test_request_cutoff() -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    assert ArchiveRequest().cutoff(90, now) == now - timedelta(days=90)
    assert ArchiveRequest(older_than_seconds=60).cutoff(90, now) == now - timedelta(minutes=1)
