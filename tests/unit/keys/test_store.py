"""Concurrent key operations (a double-clicked rotate, rotate beside disable, rename beside disable,
delete beside rotations) against the embedded DynamoDB over HTTP, with real concurrency.

The invariant: the SECRET# items that authenticate are exactly those `GET /keys/{id}` describes (the
current secret and the one in grace), carrying the key's status; a deleted key leaves none, nor a
name guard. Before keys carried a version, two concurrent rotations left two active secrets in 7 of
8 trials, and a rename beside a disable could end active or drift the name guard.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from arrowhook.core.errors import KeyConflictError, KeyNotFoundError, NameTakenError
from arrowhook.core.models import KeyAuth, KeyStatus
from arrowhook.keys import service as use_cases
from arrowhook.keys.store import KeyStore
from arrowhook_tools.local.template import LocalTemplate
from arrowhook_tools.standins.embedded_aws import EmbeddedAws, dynamodb, provision

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

WORKERS = 20
EXPECTED = (KeyConflictError, KeyNotFoundError, NameTakenError)


@pytest.fixture(scope="module")
def keys_table() -> Iterator[tuple[DynamoDBClient, str]]:
    aws = EmbeddedAws().start()
    client = dynamodb(aws.endpoint)
    template = LocalTemplate(stack_name="arrowhook-key-races")
    tables = provision(template, client)
    try:
        yield client, template.physical_name("KeysTable")
    finally:
        for table in tables:
            client.delete_table(TableName=table)
        aws.stop()


def _items(client: DynamoDBClient, table: str) -> list[dict[str, Any]]:
    return [item for page in client.get_paginator("scan").paginate(TableName=table) for item in page["Items"]]


def assert_secrets_match_keys(client: DynamoDBClient, table: str) -> None:
    items = _items(client, table)
    keys = {item["id"]["S"]: item for item in items if item["pk"]["S"].startswith("KEY#")}
    secrets: dict[str, list[tuple[str, KeyAuth]]] = {}
    for item in items:
        if item["pk"]["S"].startswith("SECRET#"):
            auth = KeyAuth.model_validate_json(item["auth"]["S"])
            secrets.setdefault(auth.key_id, []).append((item["pk"]["S"].removeprefix("SECRET#"), auth))
    names = Counter(item["key_id"]["S"] for item in items if item["pk"]["S"].startswith("NAME#"))
    assert set(secrets) <= set(keys), "a deleted key keeps no secret"
    assert set(names) == set(keys) and set(names.values()) <= {1}, "one name guard per key, none for a deleted key"
    for key_id, key in keys.items():
        described = {key["secret_hash"]["S"]}
        if "previous_secret_hash" in key:
            described.add(key["previous_secret_hash"]["S"])
        held = secrets.get(key_id, [])
        assert {secret_hash for secret_hash, _ in held} == described, "exactly the secrets the key describes"
        assert {auth.status.value for _, auth in held} == {key["status"]["S"]}, "every secret carries the status"
        name_item = next(item for item in items if item["pk"]["S"] == f"NAME#{key['name_lower']['S']}")
        assert name_item["key_id"]["S"] == key_id


def _operations(store: KeyStore, key_id: str, chooser: random.Random) -> list[Callable[[], Any]]:
    return [
        lambda: use_cases.rotate_key(store, key_id, chooser.choice((0, 0, 3600))),
        lambda: use_cases.update_key(store, key_id, enabled=False),
        lambda: use_cases.update_key(store, key_id, enabled=True),
        lambda: use_cases.update_key(store, key_id, name=f"race-{chooser.randrange(4)}"),
        lambda: use_cases.update_key(store, key_id, description=f"d{chooser.randrange(100)}"),
    ]


@pytest.mark.parametrize("seed", range(20))
def test_twenty_concurrent_mixed_operations_keep_secrets_and_keys_in_step(
    keys_table: tuple[DynamoDBClient, str], seed: int
) -> None:
    client, table = keys_table
    store = KeyStore(table, client=client)
    key, _ = use_cases.create_key(store, f"race-base-{seed}")
    other, _ = use_cases.create_key(store, f"race-other-{seed}")
    start = threading.Barrier(WORKERS)
    unexpected: list[BaseException] = []
    deleter = random.Random(seed).randrange(WORKERS) if seed % 2 else -1

    def worker(index: int) -> None:
        chooser = random.Random(seed * 100 + index)
        start.wait()
        try:
            for _ in range(3):
                if index == deleter:
                    use_cases.delete_key(store, key.id)
                    return
                chooser.choice(_operations(store, key.id, chooser))()
        except EXPECTED:
            pass
        except BaseException as error:
            unexpected.append(error)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert unexpected == []
    assert_secrets_match_keys(client, table)
    for key_id in (key.id, other.id):
        try:
            use_cases.delete_key(store, key_id)
        except KeyNotFoundError:
            assert key_id == key.id and seed % 2, "only the raced key can have been deleted"
    assert_secrets_match_keys(client, table)


def test_a_double_clicked_rotation_leaves_one_new_secret(keys_table: tuple[DynamoDBClient, str]) -> None:
    client, table = keys_table
    store = KeyStore(table, client=client)
    key, _ = use_cases.create_key(store, "double-click")
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def click() -> None:
        start.wait()
        try:
            use_cases.rotate_key(store, key.id, 0)
            outcomes.append("rotated")
        except KeyConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) in (["conflict", "rotated"], ["rotated", "rotated"])  # the second may come after
    held = [item for item in _items(client, table) if item["pk"]["S"].startswith("SECRET#")]
    assert len([item for item in held if KeyAuth.model_validate_json(item["auth"]["S"]).key_id == key.id]) == 1
    assert_secrets_match_keys(client, table)
    use_cases.delete_key(store, key.id)


def test_a_disable_beside_a_rename_keeps_both(keys_table: tuple[DynamoDBClient, str]) -> None:
    client, table = keys_table
    store = KeyStore(table, client=client)
    key, _ = use_cases.create_key(store, "rename-me")
    start = threading.Barrier(2)

    def run(change: Callable[[], Any]) -> None:
        start.wait()
        change()

    threads = [
        threading.Thread(target=run, args=(lambda: use_cases.update_key(store, key.id, name="renamed"),)),
        threading.Thread(target=run, args=(lambda: use_cases.update_key(store, key.id, enabled=False),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = use_cases.get_key(store, key.id)
    assert (final.name, final.status) == ("renamed", KeyStatus.DISABLED), "the loser re-applies its change"
    assert_secrets_match_keys(client, table)
    use_cases.delete_key(store, key.id)


class _AppliedThenRetried:
    """A client whose TransactWriteItems is applied, then answered as the SDK's retry of it would be: the
    first attempt timed out after it landed, and the retry was refused by the first attempt's own write."""

    def __init__(self, client: Any, *, lost: str) -> None:
        self._client = client
        self._lost = lost  # "retried" (the retry refused) or "timeout" (no answer at all)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **arguments: Any) -> Any:
        from botocore.exceptions import ReadTimeoutError

        self._client.transact_write_items(**arguments)
        if self._lost == "timeout":
            raise ReadTimeoutError(endpoint_url="http://dynamodb")
        return self._client.transact_write_items(**arguments)  # raises TransactionCanceledException


@pytest.mark.parametrize("lost", ["retried", "timeout"])
def test_a_change_whose_answer_was_lost_is_not_reported_as_a_clash(
    keys_table: tuple[DynamoDBClient, str], lost: str
) -> None:
    """Under load a create answered 409 (name taken: by itself) and a rotation 409 or 503, though each had
    landed: the caller would have lost the secret shown to no one. Each change now looks before refusing."""
    from arrowhook.keys import service as key_cases
    from arrowhook.keys.credentials import hash_secret

    client, table = keys_table
    store = KeyStore(table, client=_AppliedThenRetried(client, lost=lost))  # type: ignore[arg-type]
    key, secret = key_cases.create_key(store, f"lost-{lost}")
    found = store.get(key.id)
    assert found is not None and (found.name, found.secret_prefix) == (key.name, key.secret_prefix)
    rotated, newest = key_cases.rotate_key(store, key.id, 0)
    disabled = key_cases.update_key(store, key.id, enabled=False)
    now_stored = store.get(key.id)
    assert disabled.status.value == "disabled" and now_stored is not None and now_stored.status.value == "disabled"

    def authenticates(value: str) -> bool:
        return "Item" in client.get_item(TableName=table, Key={"pk": {"S": f"SECRET#{hash_secret(value)}"}})

    assert authenticates(newest) and not authenticates(secret), "the rotation that was answered 409 landed"
    assert hash_secret(newest) != hash_secret(secret) and rotated.secret_prefix == newest[:10]
