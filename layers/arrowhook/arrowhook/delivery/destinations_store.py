"""Destinations: their settings in the keys table, their secrets in SSM SecureStrings.

DESTINATION#<id>   one destination (entity `destination`, listed by name on the KeysByName index)
/arrowhook/<stack>/destinations/<id>   its secret (URL, bot token, signing secret): SecureString under
                   the AWS-managed key, no monthly fee; read through Powertools Parameters, cached
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import BotoCoreError, ClientError

from arrowhook.aws.dynamodb import (
    dynamodb_client,
    error_code,
    from_item,
    plain,
    query_all,
    store_errors,
    to_item,
    unavailable,
)
from arrowhook.core.errors import KeyConflictError, StoreUnavailableError
from arrowhook.core.formats import ITEM_FORMAT, ITEM_FORMAT_ATTRIBUTE
from arrowhook.core.models import iso
from arrowhook.delivery.destinations import Destination, DestinationNotFoundError, DestinationSecret
from arrowhook.delivery.kinds.base import masked

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_ENTITY = "destination"
#: How long a warm function trusts a destination secret it read (a changed URL applies within this).
SECRET_CACHE_SECONDS = 60


class DestinationStore:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client or dynamodb_client()

    def create(self, destination: Destination) -> None:
        self._put(destination, version=1, condition={"ConditionExpression": "attribute_not_exists(pk)"})

    def replace(self, destination: Destination, read_version: int) -> None:
        """Write only over the version that was read: a concurrent change is a KeyConflictError."""
        condition = {
            "ConditionExpression": "attribute_exists(pk) AND version = :version",
            "ExpressionAttributeValues": {":version": {"N": str(read_version)}},
        }
        self._put(destination, version=read_version + 1, condition=condition)

    def _put(self, destination: Destination, *, version: int, condition: dict[str, Any]) -> None:
        values = {name: plain(value) for name, value in destination.model_dump().items()}
        values |= {
            "pk": f"DESTINATION#{destination.id}",
            "entity": _ENTITY,
            "name_lower": destination.name.lower(),
            "strategies": list(destination.strategies),
            "version": version,
            ITEM_FORMAT_ATTRIBUTE: ITEM_FORMAT,
        }
        try:
            self._client.put_item(TableName=self.table_name, Item=to_item(values), **condition)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise KeyConflictError("the destination changed meanwhile: read it again") from None
            raise unavailable(error) from None
        except BotoCoreError as error:
            raise unavailable(error) from None

    def get(self, destination_id: str) -> tuple[Destination, int]:
        """The destination and the version to write over (DestinationNotFoundError if there is none)."""
        with store_errors():
            response = self._client.get_item(
                TableName=self.table_name, Key={"pk": {"S": f"DESTINATION#{destination_id}"}}, ConsistentRead=True
            )
        item = response.get("Item")
        if item is None:
            raise DestinationNotFoundError(f"no destination {destination_id}")
        return _destination(item), int(item.get("version", {}).get("N", "1"))

    def find(self, destination_id: str) -> Destination | None:
        """The destination, or None when it was deleted (the sender's read: consistent, like get)."""
        try:
            return self.get(destination_id)[0]
        except DestinationNotFoundError:
            return None

    def refused(self, destination_id: str) -> int:
        """One more refusal (401, 403, 404) in a row; how many now. The version moves, so an operator's
        concurrent change is applied again on top, never lost."""
        answer = self._update(destination_id, "ADD refusals :one, version :one", {":one": {"N": "1"}}, "UPDATED_NEW")
        return int(answer.get("refusals", {}).get("N", "1"))

    def accepted(self, destination_id: str) -> None:
        """The run of refusals is over (written only when there was one: a delivery costs no write here)."""
        self._update(
            destination_id,
            "REMOVE refusals ADD version :one",
            {":one": {"N": "1"}},
            condition="attribute_exists(pk) AND refusals > :zero",
            values={":zero": {"N": "0"}},
        )

    def pause(self, destination_id: str, reason: str) -> None:
        """Switched off by the sender (410 Gone, a run of refusals) until the operator enables it again."""
        self._update(
            destination_id,
            "SET enabled = :off, paused_reason = :reason ADD version :one",
            {":off": {"BOOL": False}, ":reason": {"S": reason[:300]}, ":one": {"N": "1"}},
        )

    def resume(self, destination_id: str, now: datetime) -> Destination:
        """Switched on again, its pause and its run of refusals over, in one write (a concurrent pause by
        the sender is either before it, and cleared, or after it, and kept)."""
        answer = self._update(
            destination_id,
            "SET enabled = :on, updated_at = :now REMOVE paused_reason, refusals ADD version :one",
            {":on": {"BOOL": True}, ":now": {"S": iso(now)}, ":one": {"N": "1"}},
            "ALL_NEW",
        )
        if not answer:
            raise DestinationNotFoundError(f"no destination {destination_id}")
        return _destination(answer)

    def _update(
        self,
        destination_id: str,
        expression: str,
        names_values: dict[str, Any],
        returns: str = "NONE",
        *,
        condition: str = "attribute_exists(pk)",
        values: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        try:
            response = self._client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"DESTINATION#{destination_id}"}},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues={**names_values, **(values or {})},
                ReturnValues=returns,  # type: ignore[arg-type]
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return {}  # deleted meanwhile, or (accepted) no run of refusals to end
            raise unavailable(error) from None
        except BotoCoreError as error:
            raise unavailable(error) from None
        return dict(response.get("Attributes", {}))

    def delete(self, destination_id: str) -> None:
        try:
            self._client.delete_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"DESTINATION#{destination_id}"}},
                ConditionExpression="attribute_exists(pk)",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise DestinationNotFoundError(f"no destination {destination_id}") from None
            raise unavailable(error) from None
        except BotoCoreError as error:
            raise unavailable(error) from None

    def all(self) -> list[Destination]:
        """Every destination by name: a deployment has a handful, one Query page in practice."""
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "KeysByName",
            "KeyConditionExpression": "entity = :entity",
            "ExpressionAttributeValues": {":entity": {"S": _ENTITY}},
        }
        return [_destination(item) for item in query_all(self._client, arguments)]


def _destination(item: dict[str, Any]) -> Destination:
    values = from_item(item)
    for internal in ("pk", "entity", "name_lower", "version", ITEM_FORMAT_ATTRIBUTE):
        values.pop(internal, None)
    values["strategies"] = tuple(values.get("strategies") or ())
    target = str(values.get("target", ""))
    if "://" in target and any(mark in target for mark in "@?#"):  # a hint from before they were dropped
        values["target"] = masked(target)
    return Destination.model_validate(values)


class DestinationSecrets:
    """Each destination's secret as one SecureString holding JSON (so a kind with two values is one read)."""

    def __init__(self, prefix: str, client: Any = None, cache_seconds: int = SECRET_CACHE_SECONDS) -> None:
        self.prefix = prefix.rstrip("/") + "/"
        self._client = client
        #: The delivery function caches; the admin API reads fresh (it may have just changed the secret).
        self.cache_seconds = cache_seconds

    def _ssm(self) -> Any:
        if self._client is None:
            self._client = boto3.client("ssm")
        return self._client

    def name(self, destination_id: str) -> str:
        return self.prefix + destination_id

    def put(self, destination_id: str, secret: DestinationSecret) -> None:
        try:
            self._ssm().put_parameter(
                Name=self.name(destination_id),
                Value=secret.model_dump_json(exclude_none=True),
                Type="SecureString",
                Tier="Standard",
                Overwrite=True,
            )
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailableError(f"ssm: {error}") from None

    def delete(self, destination_id: str) -> None:
        try:
            self._ssm().delete_parameter(Name=self.name(destination_id))
        except ClientError as error:
            if error_code(error) != "ParameterNotFound":
                raise StoreUnavailableError(f"ssm: {error_code(error)}") from None
        except BotoCoreError as error:
            raise StoreUnavailableError(f"ssm: {error}") from None

    def secret_for(self, destination: Destination) -> DestinationSecret | None:
        """None when the parameter is gone (the destination was deleted); StoreUnavailableError otherwise."""
        try:
            raw = parameters.get_parameter(self.name(destination.id), decrypt=True, max_age=self.cache_seconds)
        except GetParameterError as error:
            cause = error.__cause__
            if isinstance(cause, ClientError) and error_code(cause) == "ParameterNotFound":
                return None
            raise StoreUnavailableError(f"ssm: {error}") from None
        return DestinationSecret.model_validate(json.loads(str(raw)))
