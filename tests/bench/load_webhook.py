"""`make load`: concurrent TradingView-shaped webhooks against the local stack, with faults, then an audit.

For a bounded time, N workers post alerts for several strategies through the local HTTP API (loopback
only), re-sending some bodies as TradingView's duplicate deliveries would. Meanwhile the embedded
DynamoDB throttles a share of the writes, and the archive runs every few seconds with a crash
injected between its delete batches on every other run. Then every accepted alert must be found
exactly once, in DynamoDB or in the S3 archive: zero lost, zero duplicated. Exit status 1 otherwise.

Settings (environment): LOAD_SECONDS (15), LOAD_WORKERS (16), LOAD_STRATEGIES (4),
LOAD_RESEND_EVERY (10: every 10th post repeats an earlier body), LOAD_THROTTLE_RATE (0.05),
LOAD_ARCHIVE (1: archive concurrently, with crashes).
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import random
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


class Crash(BaseException):
    """A process dying mid-archive: nothing in the archiver catches it."""


@dataclass
class Sent:
    nonce: str
    strategy: str
    status: int
    alert_id: str | None
    duplicate: bool
    seconds: float
    resend: bool


@dataclass
class LoadReport:
    seconds: float
    sent: list[Sent]
    stored: dict[str, list[str]]  # nonce -> alert ids found (DynamoDB and archive)
    archived: int
    archive_runs: int
    archive_crashes: int
    throttled_writes: int
    problems: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> dict[str, str]:
        return {
            sent.nonce: sent.alert_id
            for sent in self.sent
            if sent.status == 200 and not sent.duplicate and sent.alert_id
        }

    @property
    def lost(self) -> list[str]:
        return [nonce for nonce in self.accepted if nonce not in self.stored]

    @property
    def duplicated(self) -> list[str]:
        return [nonce for nonce, ids in self.stored.items() if len(ids) > 1]

    def rows(self) -> list[tuple[str, Any]]:
        latencies = sorted(sent.seconds * 1000 for sent in self.sent)
        statuses = Counter(sent.status for sent in self.sent)
        resent = [sent for sent in self.sent if sent.resend]
        return [
            ("requests", len(self.sent)),
            ("requests per second", f"{len(self.sent) / self.seconds:.0f}"),
            (
                "latency p50 / p99 (ms)",
                f"{statistics.median(latencies):.1f} / {latencies[int(len(latencies) * 0.99) - 1]:.1f}",
            ),
            ("answers", ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))),
            ("re-sent bodies answered duplicate", f"{sum(sent.duplicate for sent in resent)} of {len(resent)}"),
            ("writes throttled by the embedded DynamoDB", self.throttled_writes),
            ("archive runs (crashed)", f"{self.archive_runs} ({self.archive_crashes})"),
            ("alerts found in the S3 archive", self.archived),
            ("accepted alerts", len(self.accepted)),
            ("LOST", len(self.lost)),
            ("DUPLICATED", len(self.duplicated)),
            ("other problems", len(self.problems)),
        ]


def run_load(
    *,
    seconds: float = 15.0,
    requests: int | None = None,
    workers: int = 16,
    strategies: int = 4,
    resend_every: int = 10,
    throttle_rate: float = 0.05,
    archive: bool = True,
) -> LoadReport:
    import boto3
    import httpx

    from arrowhook.alerts.archived import STATE_KEY
    from arrowhook.archive.protocol import LEASE_SECONDS, Archiver
    from arrowhook.core.models import StrategyKey, new_id, utc_now
    from arrowhook.keys.credentials import display_prefix, generate_secret, hash_secret
    from arrowhook.keys.store import KeyStore
    from arrowhook_tools.cli.samples import strategy_alert
    from arrowhook_tools.local.stack import local_stack
    from arrowhook_tools.standins.embedded_aws import dynamodb

    overrides = {"WebhookRateLimit": "100000", "WebhookBurstLimit": "100000"}
    # Its own tables and bucket: a test process may hold earlier stacks' data under the default names.
    stack_name = f"arrowhook-load-{uuid.uuid4().hex[:8]}"
    with local_stack(
        api_port=0, aws_port=0, parameter_overrides=overrides, pool_size=8, stack_name=stack_name
    ) as stack:
        assert stack.api is not None
        client = dynamodb(stack.aws.endpoint)
        keys = KeyStore(stack.template.physical_name("KeysTable"), client=client)
        secrets: list[tuple[str, str]] = []
        for number in range(strategies):
            secret, now = generate_secret(), utc_now()
            name = f"load-{number}"
            keys.create(
                StrategyKey(
                    id=new_id(), name=name, secret_prefix=display_prefix(secret), created_at=now, updated_at=now
                ),
                hash_secret(secret),
            )
            secrets.append((name, secret))
        # The webhook's writes (the dedupe marker, then the alert), not the other functions' PutItems.
        throttle = stack.aws.inject("PutItem", probability=throttle_rate, times=-1, matching='"S": "ALERT#')
        marker_throttle = stack.aws.inject("PutItem", probability=throttle_rate, times=-1, matching="DEDUPE#")

        sent: list[Sent] = []
        earlier: list[tuple[str, str, str]] = []  # accepted (strategy, nonce, body), shared by all workers
        posts = itertools.count(1)
        sent_lock = threading.Lock()
        deadline = time.monotonic() + seconds
        budget = itertools.count(1)  # with `requests`, the load is sized by count (tests), not by time (bench)

        def more() -> bool:
            if requests is not None:
                return next(budget) <= requests
            return time.monotonic() < deadline

        tickers = ("BTCUSDT", "ETHUSD", "AAPL", "ES1!", "EURUSD")

        def worker(index: int) -> None:
            chooser = random.Random(index)
            with httpx.Client(base_url=stack.api.url if stack.api else "", timeout=30) as http:
                while more():
                    with sent_lock:
                        resend = bool(earlier) and next(posts) % resend_every == 0
                        previous = chooser.choice(earlier) if resend else None
                    if previous is not None:
                        name, nonce, body = previous
                    else:
                        name, secret = chooser.choice(secrets)
                        nonce = uuid.uuid4().hex
                        body = strategy_alert(
                            secret, nonce=nonce, ticker=chooser.choice(tickers), action=chooser.choice(("buy", "sell"))
                        )
                    began = time.perf_counter()
                    response = http.post(
                        "/webhook", content=body.encode(), headers={"Content-Type": "application/json"}
                    )
                    elapsed = time.perf_counter() - began
                    answer = (
                        response.json()
                        if response.headers.get("content-type", "").startswith("application/json")
                        else {}
                    )
                    record = Sent(
                        nonce,
                        name,
                        response.status_code,
                        answer.get("alert_id"),
                        bool(answer.get("duplicate")),
                        elapsed,
                        resend,
                    )
                    with sent_lock:
                        sent.append(record)
                    if response.status_code == 200 and not resend:
                        earlier.append((name, nonce, body))

        archive_runs = archive_crashes = 0
        archive_log: list[str] = []  # what each run did, for explaining a lost alert
        stop_archiving = threading.Event()
        table = stack.template.physical_name("AlertsTable")
        bucket = stack.template.physical_name("ArchiveBucket")
        # A crashed run is treated as killed (its lease left held, as after SIGKILL or a Lambda timeout);
        # the next run comes one lease later, on a clock that jumps instead of a test that waits.
        clock_offset = 0.0

        def archive_once(*, crash: bool) -> None:
            nonlocal archive_runs, archive_crashes, clock_offset
            archive_dynamodb = boto3.client("dynamodb", endpoint_url=stack.aws.endpoint)
            archive_s3 = boto3.client("s3", endpoint_url=stack.aws.endpoint)
            archive_runs += 1
            if crash:
                deletes = 0

                def crash_after_first_delete(**_: Any) -> None:
                    nonlocal deletes
                    deletes += 1
                    if deletes == 1:
                        raise Crash

                archive_dynamodb.meta.events.register("after-call.dynamodb.BatchWriteItem", crash_after_first_delete)
            archiver = Archiver(
                table,
                bucket,
                dynamodb=archive_dynamodb,
                s3=archive_s3,
                alerts_per_object=50,
                clock=lambda: time.time() + clock_offset,
            )
            try:
                done = archiver.run(datetime.now(UTC) - timedelta(seconds=1))
                archive_log.append(
                    f"run {archive_runs}: {done.status}, {done.archived} archived ({done.stragglers} stragglers,"
                    f" {done.resumed} resumed), watermark {done.watermark}, objects {done.objects}"
                )
            except Crash:
                archive_log.append(f"run {archive_runs}: killed after its first delete call")
                archive_crashes += 1
                archive_dynamodb.update_item(
                    TableName=table,
                    Key=STATE_KEY,
                    UpdateExpression="SET lease_owner = :killed, lease_until = :until",
                    ExpressionAttributeValues={
                        ":killed": {"S": "killed"},
                        ":until": {"N": str(time.time() + clock_offset + LEASE_SECONDS)},
                    },
                )
                clock_offset += LEASE_SECONDS + 1

        def archiver_loop() -> None:
            while not stop_archiving.wait(2.0):
                archive_once(crash=archive_runs % 2 == 0)

        threads = [threading.Thread(target=worker, args=(index,), name=f"load-{index}") for index in range(workers)]
        if archive:
            threads.append(threading.Thread(target=archiver_loop, name="archive"))
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads[:workers]:
            thread.join()
        elapsed = time.monotonic() - started
        stop_archiving.set()
        for thread in threads[workers:]:
            thread.join()
        stack.aws.clear_faults()
        if archive:
            if archive_crashes == 0:  # a fast machine sent every request before the first timed run
                archive_once(crash=True)
            # What the next scheduled run does: finish a killed run's journal, archive stragglers.
            archive_once(crash=False)

        places: dict[str, list[str]] = {}
        stored, archived = _found_alerts(stack, table, bucket, places)
        state = dynamodb(stack.aws.endpoint).get_item(TableName=table, Key=STATE_KEY).get("Item", {})
        problems = ["an archive journal is still pending after the final run"] if "pending" in state else []
        throttled = throttle.served + marker_throttle.served
        report = LoadReport(elapsed, sent, stored, archived, archive_runs, archive_crashes, throttled, problems)
        # While the stack still runs: where each lost alert's id still shows.
        traces = [_trace(stack, table, bucket, report.accepted[nonce], sent) for nonce in report.lost]

    if traces:
        problems.extend([*traces, *archive_log])
    problems.extend(_answer_problems(report, places))
    return report


def _answer_problems(report: LoadReport, places: dict[str, list[str]]) -> list[str]:
    """Stored twice, stored under another id than answered, or a duplicate naming the wrong first."""
    problems = [f"{nonce} found more than once: {'; '.join(places[nonce])}" for nonce in report.duplicated]
    for nonce, alert_id in report.accepted.items():
        if nonce in report.stored and report.stored[nonce] != [alert_id]:
            problems.append(f"{nonce}: answered {alert_id}, stored {report.stored[nonce]}")
    for record in report.sent:
        if record.duplicate and record.nonce in report.accepted and record.alert_id != report.accepted[record.nonce]:
            problems.append(f"{record.nonce}: duplicate answer names {record.alert_id}, not the first delivery")
    return problems


def _found_alerts(
    stack: Any, table: str, bucket: str, places: dict[str, list[str]]
) -> tuple[dict[str, list[str]], int]:
    """The audit's source: every alert in DynamoDB and in the archive's current objects, by nonce."""
    from arrowhook_tools.standins.embedded_aws import dynamodb, s3

    stored: dict[str, list[str]] = {}
    for page in dynamodb(stack.aws.endpoint).get_paginator("scan").paginate(TableName=table):
        for item in page.get("Items", []):
            if item["pk"]["S"].startswith("ALERT#"):
                payload = json.loads(item["payload"]["S"])
                stored.setdefault(payload["nonce"], []).append(item["alert_id"]["S"])
                places.setdefault(payload["nonce"], []).append(f"DynamoDB {item['alert_id']['S']}")
    archived = 0
    objects = s3(stack.aws.endpoint)
    for page in objects.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="alerts/"):
        for entry in page.get("Contents", []):
            body = gzip.decompress(objects.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read())
            for line in body.splitlines():
                record = json.loads(line)
                nonce = json.loads(record["payload"])["nonce"]
                stored.setdefault(nonce, []).append(record["alert_id"])
                places.setdefault(nonce, []).append(f"s3://{bucket}/{entry['Key']} {record['alert_id']}")
                archived += 1
    return stored, archived


def _trace(stack: Any, table: str, bucket: str, alert_id: str, sent: list[Sent]) -> str:
    """Everywhere a lost alert's id still shows: the table, every object version (an overwritten object
    keeps its earlier versions), and what the client was told."""
    from arrowhook_tools.standins.embedded_aws import dynamodb, s3

    places = [f"lost {alert_id}:"]
    places += [f"answered {s.status} to {s.nonce} (resend {s.resend})" for s in sent if s.alert_id == alert_id]
    item = dynamodb(stack.aws.endpoint).get_item(TableName=table, Key={"pk": {"S": f"ALERT#{alert_id}"}})
    places.append("in the table" if "Item" in item else "not in the table")
    objects = s3(stack.aws.endpoint)
    for page in objects.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix="alerts/"):
        for version in page.get("Versions", []):
            body = objects.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"]
            ids = [json.loads(line)["alert_id"] for line in gzip.decompress(body.read()).splitlines()]
            if alert_id in ids:
                latest = "current" if version["IsLatest"] else "OVERWRITTEN"
                places.append(f"{version['Key']} version {version['VersionId']} ({latest}, {len(ids)} alerts)")
    return " ".join(places)


def main() -> None:
    sys.stdout.flush()
    real_stdout, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115 - handler logs would swamp the table
    try:
        report = run_load(
            seconds=float(os.environ.get("LOAD_SECONDS", "15")),
            workers=int(os.environ.get("LOAD_WORKERS", "16")),
            strategies=int(os.environ.get("LOAD_STRATEGIES", "4")),
            resend_every=int(os.environ.get("LOAD_RESEND_EVERY", "10")),
            throttle_rate=float(os.environ.get("LOAD_THROTTLE_RATE", "0.05")),
            archive=os.environ.get("LOAD_ARCHIVE", "1") == "1",
        )
    finally:
        sys.stdout.close()
        sys.stdout = real_stdout
    rows = report.rows()
    width = max(len(name) for name, _ in rows)
    print(f"\nload: {report.seconds:.0f} s against the local stack (loopback), faults injected")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    for problem in (*report.problems, *(f"lost {nonce}" for nonce in report.lost))[:20]:
        print(f"  ! {problem}")
    if report.lost or report.duplicated or report.problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
