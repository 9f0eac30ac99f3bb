"""Destinations admin API: FastAPI wrapped by Mangum. Routes validate, call the use case, shape the answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Response, status

from arrowhook.admin.app import MALFORMED_BODY, NOT_FOUND, UNAVAILABLE, create_admin_app, lambda_entry
from arrowhook.admin.schemas import (
    DestinationCreate,
    DestinationCreated,
    DestinationList,
    DestinationOut,
    DestinationTestResult,
    DestinationUpdate,
    RedriveRequest,
    RedriveResult,
    ResumeRequest,
    ResumeResult,
    SigningSecretRotate,
    UnsentList,
)
from arrowhook.alerts.query import parse_moment
from arrowhook.core.observability import logger
from arrowhook.core.settings import DestinationsApiSettings
from arrowhook.delivery.admin import Backlog, DestinationChanges, destination_management
from arrowhook.delivery.channels import FailureQueue, SqsLanes
from arrowhook.delivery.destinations_store import DestinationStore
from arrowhook.delivery.kinds.base import InvalidDestinationError
from arrowhook.delivery.lanes import Dispatcher
from arrowhook.delivery.records_store import DeliveryStore
from arrowhook.keys.store import KeyStore

settings = DestinationsApiSettings.from_environment()
destination_store = DestinationStore(settings.keys_table_name)
keys = KeyStore(settings.keys_table_name)
admin, sender = destination_management(settings, keys)
deliveries = DeliveryStore(settings.deliveries_table_name)
backlog = Backlog(
    destinations=destination_store,
    keys=keys,
    records=deliveries,
    dispatcher=Dispatcher(records=deliveries, lanes=SqsLanes(settings.delivery_queue_url)),
    failures=FailureQueue(settings.failure_queue_url),
)
app = create_admin_app(
    title="Arrowhook admin API: destinations",
    description="Where stored alerts are forwarded (Discord, Slack, Telegram, signed webhooks, email). "
    "Every route needs `Authorization: Bearer <admin token>`.",
    version=settings.version,
)
INVALID: dict[int | str, dict[str, Any]] = {
    400: {"description": "Not valid JSON, or a destination that cannot work (URL, placeholder, strategy)."}
}
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "Changed meanwhile by another request."}}


def _changes(body: DestinationCreate | DestinationUpdate) -> DestinationChanges:
    return DestinationChanges(**body.model_dump(exclude={"kind"}, exclude_unset=True))


@app.post(
    "/destinations",
    status_code=status.HTTP_201_CREATED,
    response_model=DestinationCreated,
    tags=["destinations"],
    responses={**INVALID, **UNAVAILABLE, **MALFORMED_BODY},
)
async def create_destination(body: DestinationCreate) -> DestinationCreated:
    """Create a destination. A `webhook` destination's `signing_secret` is in this response only."""
    destination, signing_secret = admin.create(body.kind, _changes(body))
    logger.info("destination created", extra={"destination_id": destination.id, "kind": destination.kind})
    return DestinationCreated(**DestinationOut.of(destination).model_dump(), signing_secret=signing_secret)


@app.get("/destinations", response_model=DestinationList, tags=["destinations"], responses={**UNAVAILABLE})
async def list_destinations() -> DestinationList:
    """Every destination, by name."""
    return DestinationList(items=[DestinationOut.of(destination) for destination in admin.list()])


@app.get(
    "/destinations/{destination_id}",
    response_model=DestinationOut,
    tags=["destinations"],
    responses={**NOT_FOUND, **UNAVAILABLE},
)
async def get_destination(destination_id: str) -> DestinationOut:
    return DestinationOut.of(admin.get(destination_id))


@app.patch(
    "/destinations/{destination_id}",
    response_model=DestinationOut,
    tags=["destinations"],
    responses={**NOT_FOUND, **INVALID, **CONFLICT, **UNAVAILABLE},
)
async def update_destination(destination_id: str, body: DestinationUpdate) -> DestinationOut:
    """Change any setting; a new `url` or `bot_token` replaces the secret."""
    destination = admin.update(destination_id, _changes(body))
    logger.info(
        "destination updated", extra={"destination_id": destination_id, "fields": sorted(body.model_fields_set)}
    )
    return DestinationOut.of(destination)


@app.delete(
    "/destinations/{destination_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["destinations"],
    responses={**NOT_FOUND, **UNAVAILABLE},
)
async def delete_destination(destination_id: str) -> Response:
    """Delete it and its secret; alerts on their way to it are recorded as skipped."""
    admin.delete(destination_id)
    logger.info("destination deleted", extra={"destination_id": destination_id})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@app.post(
    "/destinations/{destination_id}/rotate-secret",
    response_model=DestinationCreated,
    tags=["destinations"],
    responses={**NOT_FOUND, **INVALID, **UNAVAILABLE, **MALFORMED_BODY},
)
async def rotate_signing_secret(destination_id: str, body: SigningSecretRotate | None = None) -> DestinationCreated:
    """A webhook destination's new signing secret, shown this once; messages carry both signatures for
    `grace_seconds` (default a day), so the receiver can switch to the new one without refusing any."""
    grace = body.grace_seconds if body else SigningSecretRotate().grace_seconds
    destination, signing_secret = admin.rotate_signing_secret(destination_id, grace)
    logger.info("signing secret rotated", extra={"destination_id": destination_id, "grace_seconds": grace})
    return DestinationCreated(**DestinationOut.of(destination).model_dump(), signing_secret=signing_secret)


@app.post(
    "/destinations/{destination_id}/resume",
    response_model=ResumeResult,
    tags=["destinations"],
    responses={**NOT_FOUND, **UNAVAILABLE, **MALFORMED_BODY},
)
async def resume_destination(destination_id: str, body: ResumeRequest | None = None) -> ResumeResult:
    """Switch a paused (or switched off) destination on again and, unless `redrive` is false, send what it
    missed (its held and failed deliveries) after what its lane holds, with the same message ids."""
    redrive = body.redrive if body else True
    destination, again = backlog.resume(destination_id, redrive=redrive)
    logger.info("destination resumed", extra={"destination_id": destination_id, "redriven": len(again)})
    return ResumeResult(destination=DestinationOut.of(destination), redriven=len(again))


@app.post(
    "/destinations/{destination_id}/test",
    response_model=DestinationTestResult,
    tags=["destinations"],
    responses={**NOT_FOUND, **UNAVAILABLE},
)
async def test_destination(destination_id: str) -> DestinationTestResult:
    """Send a test message now (one attempt, nothing recorded) and return the destination's answer."""
    answer = admin.test(destination_id, sender)
    logger.info("destination tested", extra={"destination_id": destination_id, "status_code": answer.status})
    return DestinationTestResult(ok=answer.ok, status_code=answer.status, answer=answer.reason())


def _moment(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        return parse_moment(text)
    except ValueError as error:
        raise InvalidDestinationError(f"{name}: {error}") from None


@app.get(
    "/deliveries/unsent",
    response_model=UnsentList,
    tags=["deliveries"],
    responses={**INVALID, **NOT_FOUND, **UNAVAILABLE},
)
async def list_unsent(
    destination_id: Annotated[str | None, Query(max_length=64, description="One destination's lane.")] = None,
    strategy: Annotated[str | None, Query(max_length=64, description="The lanes of a strategy's destinations.")] = None,
    since: Annotated[str | None, Query(max_length=64, description="Alerts received from (ISO 8601, 24h).")] = None,
    until: Annotated[str | None, Query(max_length=64, description="Alerts received until.")] = None,
) -> UnsentList:
    """Failed and held deliveries, lane by lane, oldest alert first: what a redrive would send again."""
    found = backlog.unsent(
        destination_id=destination_id,
        strategy=strategy,
        since=_moment(since, "since"),
        until=_moment(until, "until"),
    )
    return UnsentList(items=found)


@app.post(
    "/deliveries/redrive",
    response_model=RedriveResult,
    tags=["deliveries"],
    responses={**INVALID, **NOT_FOUND, **UNAVAILABLE, **MALFORMED_BODY},
)
async def redrive(body: RedriveRequest) -> RedriveResult:
    """Send failed and held deliveries again, in their lanes, with the same message ids (a receiver that
    deduplicates by `webhook-id` stays safe); after what each lane holds, in alert order. With
    `failure_queue`, what the failure queue's reports name, and those reports removed."""
    if body.failure_queue:
        if body.destination_id or body.strategy or body.since or body.until:
            raise InvalidDestinationError("failure_queue: not with destination_id, strategy, since or until")
        again, acknowledged = backlog.redrive_reported(dry_run=body.dry_run)
        logger.info("failure queue redriven", extra={"redriven": len(again), "acknowledged": acknowledged})
        redriven = 0 if body.dry_run else len(again)
        return RedriveResult(dry_run=body.dry_run, redriven=redriven, acknowledged=acknowledged, items=again)
    found = backlog.unsent(
        destination_id=body.destination_id,
        strategy=body.strategy,
        since=_moment(body.since, "since"),
        until=_moment(body.until, "until"),
    )
    if body.dry_run:
        return RedriveResult(dry_run=True, redriven=0, items=found)
    again = backlog.redrive(found)
    logger.info("deliveries redriven", extra={"redriven": len(again)})
    return RedriveResult(dry_run=False, redriven=len(again), items=again)


lambda_handler = lambda_entry(app)
