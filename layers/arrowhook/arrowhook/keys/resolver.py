"""The webhook's side of the keys table: a secret to the KeyAuth its SECRET# record holds, in one
strongly consistent GetItem, cached in the warm function (the records are written by arrowhook.keys.store)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.parameters.base import BaseProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from arrowhook.aws.dynamodb import dynamodb_client
from arrowhook.core.errors import StoreUnavailableError
from arrowhook.core.models import KeyAuth
from arrowhook.keys.credentials import hash_secret


class SecretRecords(BaseProvider):
    """Powertools Parameters (its cache and max_age) over the webhook's one low-level DynamoDB client.

    Powertools' own DynamoDBProvider builds a boto3 resource, which means a second client and the
    resource model at every cold start (about 5 % of the webhook's import, measured with
    tests/bench/cold_start_lambda.py); the webhook already has the client it needs.
    """

    def __init__(self, table_name: str, client: Any) -> None:
        super().__init__(client=client)  # type: ignore[no-untyped-call]
        self._table_name = table_name
        self._client = client

    def _get(self, name: str, **sdk_options: Any) -> str:
        response = self._client.get_item(
            TableName=self._table_name,
            Key={"pk": {"S": name}},
            ProjectionExpression="#auth",  # AUTH is a DynamoDB reserved word
            ExpressionAttributeNames={"#auth": "auth"},
            **sdk_options,
        )
        return str(response["Item"]["auth"]["S"])  # KeyError when there is no such secret

    def _get_multiple(self, path: str, **sdk_options: Any) -> dict[str, str]:
        raise NotImplementedError("secrets are looked up one by one")


class KeyResolver:
    """secret -> KeyAuth: one strongly consistent GetItem, cached in the warm function for a short TTL.

    The cache is Powertools Parameters' (SecretRecords): a disabled, deleted or rotated key therefore
    keeps authenticating in an already-warm function for at most `ttl_seconds`. Unknown secrets are
    remembered for as long (a bounded negative cache), so a flood of guessed keys costs one read per
    distinct guess per TTL, not one per request. That is safe: a secret is generated when its key is
    created or rotated, so no one can have sent it, and been refused, before it existed.
    """

    #: Distinct unknown secrets remembered at once (about 100 bytes each).
    MAX_REMEMBERED_MISSES = 10_000

    def __init__(
        self,
        table_name: str,
        ttl_seconds: int,
        read_timeout: float = 0.8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._provider = SecretRecords(table_name, dynamodb_client(bounded_read_timeout=read_timeout))
        self._clock = clock
        self._misses: OrderedDict[str, float] = OrderedDict()

    def resolve(self, secret: str) -> KeyAuth | None:
        secret_hash = hash_secret(secret)
        if self._remembered_miss(secret_hash):
            return None
        try:
            raw = self._provider.get(f"SECRET#{secret_hash}", max_age=self.ttl_seconds, ConsistentRead=True)
        except GetParameterError as error:
            if isinstance(error.__context__, KeyError):  # no such item (Powertools chains implicitly)
                self._remember_miss(secret_hash)
                return None
            raise StoreUnavailableError("key lookup failed") from None
        return KeyAuth.model_validate_json(str(raw))

    def _remembered_miss(self, secret_hash: str) -> bool:
        expires = self._misses.get(secret_hash)
        if expires is None:
            return False
        if self._clock() < expires:
            return True
        del self._misses[secret_hash]
        return False

    def _remember_miss(self, secret_hash: str) -> None:
        if self.ttl_seconds <= 0:
            return
        self._misses[secret_hash] = self._clock() + self.ttl_seconds
        self._misses.move_to_end(secret_hash)
        while len(self._misses) > self.MAX_REMEMBERED_MISSES:
            self._misses.popitem(last=False)
