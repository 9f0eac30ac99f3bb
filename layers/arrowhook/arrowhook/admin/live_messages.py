"""What travels over the live WebSocket API (docs/live.md; docs/schemas/live-message.schema.json is
generated from these models). Every frame is one JSON object with a `type` (server to client) or an
`action` (client to server). An alert is what the admin API's `GET /alerts` lists of it (AlertOut: the
same scrubbed fields, never a secret), with its `position`, which orders alerts and resumes after one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from arrowhook.admin.schemas import AlertOut
from arrowhook.alerts.query import AlertPages
from arrowhook.core.errors import InvalidFilterError
from arrowhook.core.models import StoredAlert, iso
from arrowhook.live.connections import Connection
from arrowhook.live.resume import missed, position


class LiveAlert(BaseModel):
    """A stored alert, pushed to every connection subscribed to its strategy (or resent by `resume`)."""

    model_config = ConfigDict(frozen=True)

    type: Literal["alert"] = "alert"
    position: str = Field(description="`<received_at>#<alert_id>`: the order of alerts; `resume` takes it.")
    alert: AlertOut

    @classmethod
    def of(cls, stored: StoredAlert) -> Self:
        return cls(position=position(stored), alert=AlertOut.of(stored))


class LivePong(BaseModel):
    """The answer to a `ping` (clients send one at least every five minutes: API Gateway closes a
    connection idle for ten)."""

    type: Literal["pong"] = "pong"
    at: datetime
    position: str = Field(
        description="Now, as a position: a client that has shown nothing yet resumes after it when it reconnects."
    )


class LiveResumed(BaseModel):
    """After a `resume`, the alerts since `after` have been sent (`complete` false: more than one resume
    sends; ask again after `last`, the position of the last alert this one resent)."""

    type: Literal["resumed"] = "resumed"
    count: int
    complete: bool
    last: str | None = Field(
        None, description="The position of the last alert resent (null: none). Alerts pushed meanwhile may be newer."
    )


class LiveError(BaseModel):
    type: Literal["error"] = "error"
    error: str
    message: str


LiveMessage = Annotated[LiveAlert | LivePong | LiveResumed | LiveError, Field(discriminator="type")]


class LiveRequest(BaseModel):
    """What a client sends: `{"action": "ping"}`, or `{"action": "resume", "after": "<position>"}`."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["ping", "resume"]
    after: str | None = Field(None, max_length=128, description="With `resume`: the last position seen.")


def message_schema() -> dict[str, Any]:
    """The JSON Schema of every server-to-client frame (docs/schemas/live-message.schema.json)."""
    schema: dict[str, Any] = TypeAdapter(LiveMessage).json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://arrowhook.dev/schemas/live-message.schema.json",
        "title": "Arrowhook live message",
        **schema,
    }


def answer(body: str | None, connection: Connection | None, query: AlertPages, now: datetime) -> list[bytes]:
    """The frames a client's message is answered with: a pong; the alerts it missed then `resumed`; or an
    error naming what was wrong (never an exception: a frame the client can read)."""
    try:
        request = LiveRequest.model_validate_json(body or "")
    except ValidationError:
        return _invalid('expected {"action": "ping"} or {"action": "resume", "after": "<position>"}')
    if request.action == "ping":
        return [LivePong(at=now, position=f"{iso(now)}#").model_dump_json().encode()]
    if connection is None or request.after is None:
        return _invalid("resume needs `after`" if connection else "this connection is not known: reconnect")
    try:
        alerts, complete = missed(query, connection, request.after)
    except InvalidFilterError as error:
        return _invalid(str(error))
    frames = [LiveAlert.of(alert).model_dump_json().encode() for alert in alerts]
    last = position(alerts[-1]) if alerts else None
    return [*frames, LiveResumed(count=len(alerts), complete=complete, last=last).model_dump_json().encode()]


def _invalid(message: str) -> list[bytes]:
    return [LiveError(error="invalid_request", message=message).model_dump_json().encode()]
