"""The embedded AWS under `make dev`: DynamoDB's transaction atomicity and TTL, at a cost that does not
grow with the table (moto alone deep-copies a whole table per transaction and never expires items)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from arrowhook_tools.embedded_aws import EmbeddedAws, dynamodb, provision
from arrowhook_tools.template import LocalTemplate

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
