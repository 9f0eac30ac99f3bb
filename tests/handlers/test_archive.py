"""Archival against moto (DynamoDB + S3): lossless, exactly once, resumable after a crash anywhere."""

from __future__ import annotations

import gzip
import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from arrowhook.alerts.store import AlertStore, alert_from_item
from arrowhook.archive.protocol import (
    LEASE_SECONDS,
    STATE_KEY,
    Archiver,
    ArchiveRequest,
    archive_line,
    object_key,
    read_archive,
)
from arrowhook.core.errors import ArchiveIntegrityError, ArchiveLeaseLostError, StoreUnavailableError
from arrowhook.core.models import iso
from arrowhook.core.settings import WebhookSettings
from arrowhook.ingest.service import IncomingAlert, ingest_alert
from arrowhook.keys.resolver import KeyResolver
from arrowhook_tools.cli.samples import strategy_alert
from arrowhook_tools.local.template import PROJECT_ROOT, LocalTemplate
from tests.conftest import Strategy, alert_items, load_module, sample_event

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: Alert times are relative to the moment the module loads; every lease decision reads a FakeClock,
#: so nothing depends on the wall clock or on how long the suite has run.
NOW = datetime.now(UTC)
CUTOFF = NOW - timedelta(days=90)
#: 01:00 of a day before the cutoff: a test's alerts (at most a few hours of them) never cross midnight,
#: which would split what the test expects as one batch (a batch never spans two days) when run late.
OLD_START = datetime.combine((NOW - timedelta(days=100)).date(), time(1, 0), UTC)


class Crash(BaseException):
    """Stands in for the process dying: the archiver's own error handling never catches it."""


class FakeClock:
    """Seconds since the epoch that move only when a test says so."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


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
    settings = WebhookSettings.from_environment()
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


def archiver(aws: Any, table: str, bucket: str, s3: Any, **options: Any) -> Archiver:
    options.setdefault("clock", FakeClock())
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


# UpdateItem calls of a run: 1 takes the lease, 2 journals the first plan, 3 journals it as written,
# 4 deletes and commits it, ...
FAULT_POINTS = [
    ("s3", "before-call.s3.PutObject", 1),  # planned, S3 write fails
    ("s3", "after-call.s3.PutObject", 2),  # second object written, never verified
    ("s3", "after-call.s3.GetObject", 1),  # verified, not journalled as written
    ("dynamodb", "after-call.dynamodb.UpdateItem", 2),  # planned, nothing written
    ("dynamodb", "after-call.dynamodb.UpdateItem", 3),  # journalled as written, nothing deleted
    ("dynamodb", "after-call.dynamodb.BatchWriteItem", 1),  # between delete batches
    ("dynamodb", "after-call.dynamodb.BatchWriteItem", 2),  # all deleted, watermark not moved
    ("dynamodb", "before-call.dynamodb.UpdateItem", 4),  # commit lost
    ("dynamodb", "after-call.dynamodb.UpdateItem", 4),  # committed, lease not released
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
    clock = FakeClock()
    with pytest.raises(Crash):
        archiver(faulty["dynamodb"], table, bucket, faulty["s3"], alerts_per_object=30, clock=clock).run(CUTOFF)

    # Nothing lost: each alert is still in DynamoDB or in a verified object.
    s3 = boto3.client("s3")
    in_s3 = {json.loads(line)["alert_id"] for lines in archived_lines(s3, bucket).values() for line in lines}
    assert set(old) <= remaining_ids(aws, template) | in_s3

    _as_if_killed(aws, table, clock)  # no `finally` ran: the dead run still holds the lease
    clock.advance(LEASE_SECONDS + 1)
    report = archiver(aws, table, bucket, s3, alerts_per_object=30, clock=clock).run(CUTOFF)
    assert report.status == "complete"
    assert remaining_ids(aws, template) == set(young)
    assert_exactly_once(s3, bucket, {alert_id: before[alert_id] for alert_id in old})


def _as_if_killed(aws: DynamoDBClient, table: str, clock: FakeClock) -> None:
    """Put back the lease a SIGKILL or a Lambda timeout leaves: held by a run that renews no more."""
    aws.update_item(
        TableName=table,
        Key=STATE_KEY,
        UpdateExpression="SET lease_owner = :dead, lease_until = :until",
        ExpressionAttributeValues={":dead": {"S": "killed"}, ":until": {"N": str(clock() + LEASE_SECONDS)}},
    )


def test_a_crashed_run_holds_the_lease_until_it_expires(
    aws: DynamoDBClient, template: LocalTemplate, table: str, bucket: str, s3: Any, seed: Callable[..., list[str]]
) -> None:
    seed(5)
    clock = FakeClock()
    _as_if_killed(aws, table, clock)
    busy = archiver(aws, table, bucket, s3, clock=clock).run(CUTOFF)
    assert (busy.status, busy.archived) == ("busy", 0)
    assert "60 s" in busy.message
    assert len(remaining_ids(aws, template)) == 5
    clock.advance(LEASE_SECONDS + 0.001)
    assert archiver(aws, table, bucket, s3, clock=clock).run(CUTOFF).archived == 5


def test_a_killed_run_is_taken_over_within_a_minute_journal_included(
    aws: DynamoDBClient, template: LocalTemplate, table: str, bucket: str, s3: Any, seed: Callable[..., list[str]]
) -> None:
    """The duplication `make load` reported: a run killed between its delete batches leaves alerts both
    in DynamoDB and in an object until a run finishes its journal, which used to wait out a 15-minute
    lease (and then the next day's schedule). Now the next run within about a minute repairs it."""
    old = seed(40, spacing=timedelta(minutes=1))
    before = stored_lines(aws, template)
    faulty = boto3.client("dynamodb")
    _crash_on(faulty, "after-call.dynamodb.BatchWriteItem", 1)
    clock = FakeClock()
    with pytest.raises(Crash):
        archiver(faulty, table, bucket, s3, alerts_per_object=50, clock=clock).run(CUTOFF)
    _as_if_killed(aws, table, clock)
    in_both = remaining_ids(aws, template) & {
        json.loads(line)["alert_id"] for lines in archived_lines(s3, bucket).values() for line in lines
    }
    assert len(in_both) == 15, "the killed run's second delete batch is in both places"

    clock.advance(LEASE_SECONDS / 2)
    assert archiver(aws, table, bucket, s3, clock=clock).run(CUTOFF).status == "busy"
    clock.advance(LEASE_SECONDS / 2 + 1)
    report = archiver(aws, table, bucket, s3, clock=clock).run(CUTOFF)
    assert (report.status, report.resumed) == ("complete", 40)
    assert remaining_ids(aws, template) == set()
    assert_exactly_once(s3, bucket, {alert_id: before[alert_id] for alert_id in old})


def test_a_working_run_keeps_its_lease_and_a_stalled_one_loses_it(
    aws: DynamoDBClient, template: LocalTemplate, table: str, bucket: str, s3: Any, seed: Callable[..., list[str]]
) -> None:
    seed(60, spacing=timedelta(minutes=1))
    clock = FakeClock()
    lease_untils: list[float] = []

    def slow_step(**_: Any) -> None:
        lease_until = float(aws.get_item(TableName=table, Key=STATE_KEY)["Item"]["lease_until"]["N"])
        assert lease_until > clock(), "every delete is sent under a live lease"
        lease_untils.append(lease_until)
        clock.advance(LEASE_SECONDS / 2)  # every delete batch takes half a lease

    slow = boto3.client("dynamodb")
    slow.meta.events.register("before-call.dynamodb.BatchWriteItem", slow_step)
    report = archiver(slow, table, bucket, s3, alerts_per_object=20, clock=clock).run(CUTOFF)
    assert (report.status, report.archived) == ("complete", 60)
    assert len(lease_untils) == 3 and all(earlier < later for earlier, later in itertools.pairwise(lease_untils)), (
        "the lease moved forward while the run worked"
    )

    # Five alerts inside one day (a batch never spans two): from 01:00 the day after the cutoff. Seeded an
    # hour after the cutoff, they crossed midnight when the suite ran between 22:32 and 23:00 UTC.
    start = datetime.combine(CUTOFF.date() + timedelta(days=1), time(1, 0), UTC)
    seed(5, start=start)
    later_cutoff = start + timedelta(hours=1)
    stalled = boto3.client("dynamodb")
    stalled.meta.events.register("before-call.dynamodb.BatchWriteItem", lambda **_: clock.advance(LEASE_SECONDS + 1))
    with pytest.raises(ArchiveLeaseLostError):
        archiver(stalled, table, bucket, s3, clock=clock).run(later_cutoff)
    assert "pending" in aws.get_item(TableName=table, Key=STATE_KEY)["Item"], "its journal waits for the next run"
    assert archiver(aws, table, bucket, s3, clock=clock).run(later_cutoff).resumed == 5


def test_a_run_that_lost_its_lease_cannot_overwrite_what_the_new_holder_archived(
    aws: DynamoDBClient, template: LocalTemplate, table: str, bucket: str, s3: Any, seed: Callable[..., list[str]]
) -> None:
    """A stalled run wakes up after another took over: its late S3 write must not replace the object the
    holder wrote (and deleted from) with different content. Before plans were journalled, the late
    write dropped a late-landing alert from the current object while the holder had deleted it."""
    old = seed(10, spacing=timedelta(minutes=1))
    clock = FakeClock()
    store = AlertStore(table, client=aws)
    late: list[str] = []

    def stall_then_wake(**_: Any) -> None:
        if late:
            return
        clock.advance(LEASE_SECONDS + 1)  # the stalled run's lease lapses...
        [straggler] = seed(1, start=OLD_START + timedelta(seconds=30))  # ...an alert lands inside its batch...
        late.append(straggler)
        taken_over = archiver(aws, table, bucket, s3, clock=clock).run(CUTOFF)  # ...and another run takes over
        assert taken_over.status == "complete"

    stalled_s3 = boto3.client("s3")
    stalled_s3.meta.events.register("before-call.s3.PutObject", stall_then_wake)
    with pytest.raises(ArchiveLeaseLostError):
        archiver(aws, table, bucket, stalled_s3, clock=clock).run(CUTOFF)
    assert store.get(late[0]) is None
    lines = [json.loads(line) for body in archived_lines(s3, bucket).values() for line in body]
    assert Counter(line["alert_id"] for line in lines) == Counter([*old, *late]), "each exactly once"
    assert remaining_ids(aws, template) == set()


def test_an_alert_that_lands_behind_the_watermark_is_archived_by_the_next_run(
    aws: DynamoDBClient, template: LocalTemplate, table: str, bucket: str, s3: Any, seed: Callable[..., list[str]]
) -> None:
    """The blind spot: a slow or retried webhook write lands after the watermark passed its received_at."""
    seed(6, start=CUTOFF - timedelta(minutes=30), spacing=timedelta(minutes=5))
    first = archiver(aws, table, bucket, s3).run(CUTOFF)
    assert (first.archived, first.watermark) == (6, iso(CUTOFF))
    [straggler] = seed(1, start=CUTOFF - timedelta(seconds=2))  # received before the cutoff, written after the run
    before = stored_lines(aws, template)
    second = archiver(aws, table, bucket, s3).run(CUTOFF)
    assert (second.stragglers, second.archived) == (1, 1)
    assert remaining_ids(aws, template) == set()
    archived = [json.loads(line) for body in archived_lines(s3, bucket).values() for line in body]
    assert Counter(line["alert_id"] for line in archived)[straggler] == 1
    assert [line for body in archived_lines(s3, bucket).values() for line in body if straggler.encode() in line] == [
        before[straggler]
    ]
    assert archiver(aws, table, bucket, s3).run(CUTOFF).stragglers == 0


class _StaleIndex:
    """A DynamoDB client whose ByDay index still lists alerts after they were deleted, as a GSI may."""

    def __init__(self, client: Any, ghosts: list[dict[str, Any]]) -> None:
        self._client = client
        self._ghosts = ghosts

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def query(self, **arguments: Any) -> dict[str, Any]:
        page = dict(self._client.query(**arguments))
        if "sort_key <=" in arguments["KeyConditionExpression"]:
            day = arguments["ExpressionAttributeValues"][":day"]["S"]
            page["Items"] = [ghost for ghost in self._ghosts if ghost["day"]["S"] == day] + page.get("Items", [])
        return page


def test_the_sweep_never_archives_an_alert_the_index_lists_after_its_delete(
    aws: DynamoDBClient, template: LocalTemplate, table: str, bucket: str, s3: Any, seed: Callable[..., list[str]]
) -> None:
    seed(4, spacing=timedelta(minutes=1))
    ghosts = alert_items(aws, template)
    archiver(aws, table, bucket, s3).run(CUTOFF)
    again = archiver(_StaleIndex(aws, ghosts), table, bucket, s3).run(CUTOFF)
    assert (again.status, again.stragglers, again.archived, again.objects) == ("complete", 0, 0, [])


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
    assert "lease_until" not in state, "the failed run let go of its lease"
    assert "sha256" not in state["pending"]["M"], "the batch stays planned, never journalled as written"
    report = archiver(aws, table, bucket, s3).run(CUTOFF)
    assert (report.status, report.resumed) == ("complete", 8), "the next run writes the planned batch again"
    assert remaining_ids(aws, template) == set()


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
    report = archiver(_Unprocessing(aws, 3), table, bucket, s3).run(CUTOFF)
    assert (report.archived, report.batches_retried) == (30, 3)
    assert remaining_ids(aws, template) == set()


def test_deletes_that_never_go_through_leave_the_journal_for_the_next_run(
    aws: DynamoDBClient, template: LocalTemplate, table: str, bucket: str, s3: Any, seed: Callable[..., list[str]]
) -> None:
    seed(10)
    stubborn = _Unprocessing(aws, 1_000)
    with pytest.raises(StoreUnavailableError):
        archiver(stubborn, table, bucket, s3).run(CUTOFF)
    assert "pending" in aws.get_item(TableName=table, Key=STATE_KEY)["Item"]
    report = archiver(aws, table, bucket, s3).run(CUTOFF)
    assert report.resumed == 10 and remaining_ids(aws, template) == set()


def test_stops_taking_batches_before_the_timeout_and_the_next_run_continues(
    aws: DynamoDBClient, template: LocalTemplate, table: str, bucket: str, s3: Any, seed: Callable[..., list[str]]
) -> None:
    seed(50, spacing=timedelta(seconds=10))
    before = stored_lines(aws, template)
    clock = iter([900.0, 19.0])  # the first batch, then too close to the timeout
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
    yield load_module(PROJECT_ROOT / "functions/archive/app.py", "archive_app_under_test")


def _invoke(module: Any, event: Any) -> dict[str, Any]:
    from arrowhook_tools.local.runtime import LocalContext

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
    monkeypatch.setattr(archive_app.archiver.objects, "bucket", "arrowhook-no-such-bucket")
    with pytest.raises(StoreUnavailableError):
        _invoke(archive_app, {"trigger": "schedule"})
    assert '"ArchiveErrors"' in capsys.readouterr().out


def test_request_cutoff() -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    assert ArchiveRequest().cutoff(90, now) == now - timedelta(days=90)
    assert ArchiveRequest(older_than_seconds=60).cutoff(90, now) == now - timedelta(minutes=1)
