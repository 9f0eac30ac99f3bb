"""The one BatchGetItem reader (daily counts, archive stragglers): every key read once, throttling bounded."""

from __future__ import annotations

from typing import Any

import pytest

from arrowhook.aws.dynamodb import MAX_BATCH_ATTEMPTS, batch_get
from arrowhook.core.errors import StoreUnavailableError


class Throttled:
    """Answers only the first `served` keys of each call; the rest come back unprocessed."""

    def __init__(self, served: int) -> None:
        self.served = served
        self.calls: list[int] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        keys = RequestItems["t"]["Keys"]
        assert RequestItems["t"]["ConsistentRead"] is True
        self.calls.append(len(keys))
        answered, left = keys[: self.served], keys[self.served :]
        return {
            "Responses": {"t": [{"pk": key["pk"]} for key in answered]},
            "UnprocessedKeys": {"t": {"Keys": left}} if left else {},
        }


def test_every_key_is_read_in_calls_of_100_and_unprocessed_ones_again() -> None:
    client = Throttled(served=60)
    keys = [{"pk": {"S": f"K{number}"}} for number in range(250)]
    pauses: list[float] = []
    found = batch_get(client, "t", keys, sleep=pauses.append)  # type: ignore[arg-type]
    assert sorted(item["pk"]["S"] for item in found) == sorted(key["pk"]["S"] for key in keys)
    assert client.calls == [100, 40, 100, 40, 50]
    assert len(pauses) == 2 and all(0 < pause <= 2.0 for pause in pauses)


def test_keys_left_unprocessed_call_after_call_end_in_store_unavailable() -> None:
    client = Throttled(served=0)
    with pytest.raises(StoreUnavailableError):
        batch_get(client, "t", [{"pk": {"S": "K"}}], sleep=lambda _: None)  # type: ignore[arg-type]
    assert len(client.calls) == MAX_BATCH_ATTEMPTS
