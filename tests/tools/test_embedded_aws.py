"""The embedded AWS under `make dev`: DynamoDB's transaction atomicity and TTL, at a cost that does not
grow with the table (moto alone deep-copies a whole table per transaction and never expires items)."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from arrowhook_tools.local.template import LocalTemplate
from arrowhook_tools.standins.embedded_aws import EmbeddedAws, dynamodb, provision

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@pytest.fixture(scope="module")
def embedded() -> Iterator[tuple[EmbeddedAws, DynamoDBClient, str]]:
    aws = EmbeddedAws().start()
    client = dynamodb(aws.endpoint)
    template = LocalTemplate(stack_name="arrowhook-embedded-test")  # moto's state is per process: own tables
    tables = provision(template, client)
    try:
        yield aws, client, template.physical_name("AlertsTable")
    finally:
        for table in tables:
            client.delete_table(TableName=table)
        aws.stop()


def _put(table: str, pk: str, **attributes: Any) -> Any:
    return {"Put": {"TableName": table, "Item": {"pk": {"S": pk}, **attributes}}}


def test_a_cancelled_transaction_leaves_every_item_as_it_was(
    embedded: tuple[EmbeddedAws, DynamoDBClient, str],
) -> None:
    _, client, table = embedded
    client.put_item(TableName=table, Item={"pk": {"S": "T#existing"}, "v": {"S": "before"}})
    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(
            TransactItems=[
                _put(table, "T#existing", v={"S": "after"}),  # applied first, then rolled back
                _put(table, "T#new", v={"S": "new"}),
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "T#missing"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert client.get_item(TableName=table, Key={"pk": {"S": "T#existing"}})["Item"]["v"] == {"S": "before"}
    assert "Item" not in client.get_item(TableName=table, Key={"pk": {"S": "T#new"}})


def _stream_keys(aws: EmbeddedAws, client: DynamoDBClient, table: str) -> list[tuple[str, str]]:
    """(event name, pk) of every record on the table's stream, oldest first."""
    from arrowhook_tools.standins.embedded_aws import client as aws_client

    streams = aws_client("dynamodbstreams", aws.endpoint)
    arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)["Records"]
    return [(record["eventName"], record["dynamodb"]["Keys"]["pk"]["S"]) for record in records]


def test_a_cancelled_transaction_writes_nothing_to_the_stream(
    embedded: tuple[EmbeddedAws, DynamoDBClient, str],
) -> None:
    """The webhook's repeat: the alert put applies first, the dedupe marker's condition then fails. In
    DynamoDB nothing of a cancelled transaction reaches the stream (moto kept the alert's INSERT)."""
    aws, client, table = embedded
    client.put_item(TableName=table, Item={"pk": {"S": "DEDUPE#seen"}, "alert_id": {"S": "first"}})
    before = _stream_keys(aws, client, table)
    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": "ALERT#second"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": "DEDUPE#seen"}, "alert_id": {"S": "second"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert _stream_keys(aws, client, table) == before
    client.transact_write_items(TransactItems=[_put(table, "ALERT#third"), _put(table, "DEDUPE#third")])
    assert _stream_keys(aws, client, table)[len(before) :] == [("INSERT", "ALERT#third"), ("INSERT", "DEDUPE#third")]


def test_a_transaction_never_copies_a_whole_table(
    embedded: tuple[EmbeddedAws, DynamoDBClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.table import Table

    _, client, table = embedded
    copied: list[str] = []
    real_deepcopy = copy.deepcopy

    def watching(value: Any, memo: Any = None) -> Any:
        if isinstance(value, Table):
            copied.append(value.name)
        return real_deepcopy(value, memo)

    monkeypatch.setattr(copy, "deepcopy", watching)
    client.transact_write_items(TransactItems=[_put(table, "T#a"), _put(table, "T#b")])
    assert copied == []
    assert "Item" in client.get_item(TableName=table, Key={"pk": {"S": "T#b"}})


def test_ttl_items_expire_as_dynamodb_would(embedded: tuple[EmbeddedAws, DynamoDBClient, str]) -> None:
    aws, client, table = embedded
    client.put_item(TableName=table, Item={"pk": {"S": "DEDUPE#old"}, "expires_at": {"N": "1000"}})
    client.put_item(TableName=table, Item={"pk": {"S": "DEDUPE#young"}, "expires_at": {"N": "3000"}})
    client.put_item(TableName=table, Item={"pk": {"S": "ALERT#kept"}})
    assert aws.expire_ttl(now=2000) >= 1
    assert "Item" not in client.get_item(TableName=table, Key={"pk": {"S": "DEDUPE#old"}})
    assert "Item" in client.get_item(TableName=table, Key={"pk": {"S": "DEDUPE#young"}})
    assert "Item" in client.get_item(TableName=table, Key={"pk": {"S": "ALERT#kept"}})


def _restore(client: DynamoDBClient, source: str, target: str, at: float) -> list[dict[str, Any]]:
    moment = datetime.fromtimestamp(at, UTC)
    client.restore_table_to_point_in_time(SourceTableName=source, TargetTableName=target, RestoreDateTime=moment)
    try:
        items = client.scan(TableName=target)["Items"]
        return sorted(items, key=lambda item: str(item["pk"]["S"]))
    finally:
        client.delete_table(TableName=target)


def test_a_point_in_time_restore_gives_the_table_as_it_was_then_not_as_it_is(
    embedded: tuple[EmbeddedAws, DynamoDBClient, str],
) -> None:
    """moto alone copies the table as it is now; DynamoDB restores the time asked for."""
    _, client, table = embedded
    recovery = client.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    assert recovery["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    client.put_item(TableName=table, Item={"pk": {"S": "P#kept"}, "v": {"S": "1"}})
    client.put_item(TableName=table, Item={"pk": {"S": "P#changed"}, "v": {"S": "before"}})
    client.put_item(TableName=table, Item={"pk": {"S": "P#deleted"}, "v": {"S": "1"}})
    time.sleep(0.05)
    then = time.time()
    time.sleep(0.05)
    client.update_item(
        TableName=table,
        Key={"pk": {"S": "P#changed"}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"S": "after"}},
    )
    client.batch_write_item(RequestItems={table: [{"DeleteRequest": {"Key": {"pk": {"S": "P#deleted"}}}}]})
    client.transact_write_items(TransactItems=[_put(table, "P#added", v={"S": "new"})])
    with pytest.raises(ClientError):  # a refused write changes nothing, and the journal keeps nothing of it
        client.put_item(
            TableName=table,
            Item={"pk": {"S": "P#kept"}, "v": {"S": "2"}},
            ConditionExpression="attribute_not_exists(pk)",
        )

    restored = {item["pk"]["S"]: item.get("v", {}).get("S") for item in _restore(client, table, f"{table}-then", then)}
    assert {name: value for name, value in restored.items() if name.startswith("P#")} == {
        "P#kept": "1",
        "P#changed": "before",
        "P#deleted": "1",
    }
    now = {item["pk"]["S"]: item.get("v", {}).get("S") for item in _restore(client, table, f"{table}-now", time.time())}
    assert {name: value for name, value in now.items() if name.startswith("P#")} == {
        "P#kept": "1",
        "P#changed": "after",
        "P#added": "new",
    }
    assert client.get_item(TableName=table, Key={"pk": {"S": "P#deleted"}}).get("Item") is None, "source untouched"


def test_a_restore_to_before_the_journal_began_is_refused_as_dynamodb_refuses_it(
    embedded: tuple[EmbeddedAws, DynamoDBClient, str],
) -> None:
    _, client, table = embedded
    with pytest.raises(ClientError) as refused:
        client.restore_table_to_point_in_time(
            SourceTableName=table, TargetTableName=f"{table}-ancient", RestoreDateTime=datetime(1970, 1, 12, tzinfo=UTC)
        )
    assert refused.value.response["Error"]["Code"] == "InvalidRestoreTimeException"
    assert f"{table}-ancient" not in client.list_tables()["TableNames"]


def test_the_journal_keeps_35_days_as_dynamodb_does() -> None:
    """A `make dev` running for weeks must not keep every replaced image forever."""
    from arrowhook_tools.standins.backups import RECOVERY_SECONDS, PitrJournal

    now = [1_800_000_000.0]
    journal = PitrJournal(clock=lambda: now[0])
    journal.record([("T", "a", None, None)])
    now[0] += RECOVERY_SECONDS - 1
    journal.record([("T", "b", None, None)])
    assert (journal.changes("T"), journal.earliest()) == (2, 1_800_000_000.0)
    now[0] += 2
    journal.record([("T", "c", None, None)])
    assert journal.changes("T") == 2, "the first change is past the recovery period"
    assert journal.earliest() == now[0] - RECOVERY_SECONDS
