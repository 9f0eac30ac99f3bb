"""DynamoDB plumbing every table module shares: clients and their timeouts, item conversion, and the one
place botocore errors become domain errors."""

from __future__ import annotations

import base64
import contextlib
import random
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from arrowhook.core.errors import InvalidCursorError, StoreUnavailableError
from arrowhook.core.models import iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


#: The webhook's: bounded so its answer still leaves well inside TradingView's ~3 s when DynamoDB
#: stalls or throttles: boto3's standard mode with one retry, and a short read timeout (a DynamoDB
#: write takes milliseconds; the `WebhookStoreTimeoutSeconds` parameter, 0.8 s by default).
#: `worst_case_seconds` gives the bound (1.8 s by default); tests/integration/test_faults.py shows the
#: retry, the 503 when it is exhausted, and a late answer to an applied write.
def webhook_client_config(read_timeout: float = 0.8) -> Config:
    return Config(
        retries={"mode": "standard", "total_max_attempts": 2},
        connect_timeout=0.5,
        read_timeout=read_timeout,
        # botocore's client-side check of a 30-attribute item was 40 % of the warm webhook's CPU
        # (tests/bench/bench_webhook.py); DynamoDB validates the request anyway, and our code builds it.
        parameter_validation=False,
    )


#: Everyone else's (admin API, archive): a person or a batch job rather waits than sees a spurious 503.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=1,
    read_timeout=5,
)
#: boto3 standard mode's backoff base for DynamoDB: 1 s after throttling, 25 ms after anything else.
_THROTTLING_BACKOFF, _OTHER_BACKOFF = 1.0, 0.025


def worst_case_seconds(config: Config | None = None) -> float:
    """The longest one DynamoDB call can take: every attempt either times out or is throttled at once,
    and every backoff draws its full jitter. Each retry costs the worse of the two."""
    settings: Any = config or webhook_client_config()  # botocore's Config sets its attributes dynamically
    attempts = int(settings.retries["total_max_attempts"])
    per_attempt = max(float(settings.connect_timeout), float(settings.read_timeout))
    retries: float = sum(
        max(min(_THROTTLING_BACKOFF * 2**retry, 20.0), per_attempt + _OTHER_BACKOFF * 2**retry)
        for retry in range(attempts - 1)
    )
    return retries + per_attempt


#: DynamoDB errors that mean the request was refused before anything was written (no need to look).
REFUSED_BEFORE_APPLYING = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ValidationException",
        "AccessDeniedException",
        "ResourceNotFoundException",
        "TransactionCanceledException",
    }
)


_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


@cache
def dynamodb_client(*, bounded_read_timeout: float | None = None) -> DynamoDBClient:
    """One low-level client per process and config (bounded: the webhook's); the endpoint comes from
    AWS_ENDPOINT_URL(_DYNAMODB), never code."""
    if bounded_read_timeout is None:
        return boto3.client("dynamodb", config=CLIENT_CONFIG)
    return boto3.client("dynamodb", config=webhook_client_config(bounded_read_timeout))


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}


#: DynamoDB refuses an item larger than this (names and values, UTF-8).
MAX_ITEM_BYTES = 400 * 1024


def item_size(item: Mapping[str, Any] | None) -> int:
    """An item's size as DynamoDB counts it: each attribute's UTF-8 name plus its value (strings in UTF-8,
    binary as raw bytes, numbers about one byte per two digits, 3 bytes per list or map and 1 per
    element); used to refuse up front what can never be stored, and to price writes (the local stack's
    cost meter). Binary values may be raw bytes (boto3) or base64 text (the wire)."""
    if not item:
        return 0
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").lstrip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def _binary_size(data: bytes | str) -> int:
    return len(base64.b64decode(data)) if isinstance(data, str) else len(data)


_SIZES: dict[str, Callable[[Any], int]] = {
    "S": lambda text: len(str(text).encode("utf-8", "surrogatepass")),
    "N": lambda text: _number_size(str(text)),
    "B": _binary_size,
    "BOOL": lambda _: 1,
    "NULL": lambda _: 1,
    "SS": lambda members: sum(len(str(member).encode()) for member in members),
    "NS": lambda members: sum(_number_size(str(member)) for member in members),
    "BS": lambda members: sum(_binary_size(member) for member in members),
    "L": lambda members: 3 + sum(1 + attribute_size(member) for member in members),
    "M": lambda members: 3 + sum(1 + len(name.encode()) + attribute_size(member) for name, member in members.items()),
}


def attribute_size(value: Mapping[str, Any]) -> int:
    """One attribute value's size (its name is counted by the caller)."""
    kind, content = next(iter(value.items()))
    return _SIZES[kind](content)


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def plain(value: Any) -> Any:
    """Python values DynamoDB accepts: Decimals stay exact, datetimes become sortable ISO strings."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):  # settings such as a timeout; DynamoDB numbers are exact decimals
        return Decimal(str(value))
    return value


def json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def error_code(error: ClientError | BotoCoreError) -> str:
    """AWS's error code, or the botocore exception's name when the call never got an answer."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "?"))
    return type(error).__name__


@contextlib.contextmanager
def store_errors() -> Iterator[None]:
    """Inside it, botocore's failures become StoreUnavailableError (`unavailable`): the one translation,
    where a call has nothing else to do about them."""
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise unavailable(error) from None


def succeeded(call: Callable[[], object], *, unless: str = "ConditionalCheckFailedException") -> bool:
    """True when the call went through; False when AWS refused it with the `unless` code (a condition that
    did not hold, a connection that is gone); any other failure is StoreUnavailableError."""
    try:
        call()
    except ClientError as error:
        if error_code(error) == unless:
            return False
        raise unavailable(error) from None
    except BotoCoreError as error:
        raise unavailable(error) from None
    return True


def unavailable(error: ClientError | BotoCoreError) -> StoreUnavailableError:
    """The one translation of a botocore failure into the domain's 'retry later' error."""
    return StoreUnavailableError(f"DynamoDB request failed: {error_code(error)}")


def query_page(client: DynamoDBClient, arguments: dict[str, Any]) -> dict[str, Any]:
    """One Query page. DynamoDB refuses an ExclusiveStartKey that does not fit the query as a
    ValidationException: with a cursor in play that is the caller's bad cursor, not an outage."""
    try:
        return dict(client.query(**arguments))
    except ClientError as error:
        if error_code(error) == "ValidationException" and "ExclusiveStartKey" in arguments:
            raise InvalidCursorError("invalid cursor") from None
        raise unavailable(error) from None
    except BotoCoreError as error:
        raise unavailable(error) from None


def query_all(client: DynamoDBClient, arguments: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item a Query finds, page after page: for the small, bounded sets (an alert's deliveries,
    the destinations); anything an API lists is paged with a cursor instead."""
    items: list[dict[str, Any]] = []
    page_arguments = dict(arguments)
    while True:
        page = query_page(client, page_arguments)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        page_arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


#: BatchGetItem reads at most 100 keys per call.
BATCH_GET_KEYS = 100
#: Calls one batch may take while DynamoDB keeps leaving part of it unprocessed (throttling).
MAX_BATCH_ATTEMPTS = 8


def retry_pause(attempt: int) -> float:
    """Jittered exponential backoff for unprocessed batch items: up to 2 s, never in lockstep."""
    return min(2.0, 0.05 * 2.0**attempt) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter  # nosec B311


def batch_get(
    client: DynamoDBClient,
    table_name: str,
    keys: list[dict[str, Any]],
    *,
    sleep: Callable[[float], None] = time.sleep,
    consistent: bool = True,
) -> list[dict[str, Any]]:
    """BatchGetItem over any number of keys (absent items are left out), strongly consistent unless asked
    (half the read units): 100 keys per call, unprocessed keys retried with backoff,
    StoreUnavailableError when they keep coming back."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH_GET_KEYS):
        pending: list[Any] = keys[start : start + BATCH_GET_KEYS]
        attempt = 0
        while pending:
            with store_errors():
                response = client.batch_get_item(
                    RequestItems={table_name: {"Keys": pending, "ConsistentRead": consistent}}
                )
            found.extend(dict(response.get("Responses", {})).get(table_name, []))
            unprocessed: dict[str, Any] = dict(response.get("UnprocessedKeys", {}))
            pending = list(unprocessed.get(table_name, {}).get("Keys", []))
            if pending:
                attempt += 1
                if attempt >= MAX_BATCH_ATTEMPTS:
                    raise StoreUnavailableError("DynamoDB kept leaving batch reads unprocessed")
                sleep(retry_pause(attempt))
    return found
