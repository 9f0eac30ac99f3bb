"""The embedded AWS under `make dev`: DynamoDB's transaction atomicity and TTL, at a cost that does not
grow with the table (moto alone deep-copies a whole table per transaction and never expires items)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
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
