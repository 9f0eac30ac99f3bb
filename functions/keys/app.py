"""Keys admin API: FastAPI wrapped by Mangum. Routes validate, call the use case, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response, status

from arrowhook.admin.app import MALFORMED_BODY, NOT_FOUND, UNAVAILABLE, create_admin_app, lambda_entry
from arrowhook.admin.schemas import (
    KeyCreate,
    KeyOut,
    KeyPage,
    KeyRotate,
    KeyUpdate,
    KeyVerification,
    KeyVerify,
    KeyWithSecret,
)
from arrowhook.aws.pagination import CursorSigner, cursor_signer
from arrowhook.core.models import KeyStatus
from arrowhook.core.observability import logger
from arrowhook.core.settings import KeysApiSettings
from arrowhook.keys import service as use_cases
from arrowhook.keys.listing import KeyListing
from arrowhook.keys.store import KeyStore

settings = KeysApiSettings.from_environment()
store = KeyStore(settings.keys_table_name)


def signer() -> CursorSigner:
    return cursor_signer(settings.cursor_key_parameter)


listing = KeyListing(store, signer)
app = create_admin_app(
    title="Arrowhook admin API: keys",
    description="Manage the per-strategy secret keys that authenticate TradingView webhooks. "
    "Every route needs `Authorization: Bearer <admin token>`.",
    version=settings.version,
)
NAME_TAKEN: dict[int | str, dict[str, Any]] = {409: {"description": "Another key has this name."}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "Another change to this key landed first (e.g. a second rotation): read it again."}
}


@app.post(
    "/keys",
    status_code=status.HTTP_201_CREATED,
    response_model=KeyWithSecret,
    tags=["keys"],
    responses={**NAME_TAKEN, **UNAVAILABLE, **MALFORMED_BODY},
)
async def create_key(body: KeyCreate) -> KeyWithSecret:
    """Create a strategy key. The response holds the plaintext `secret`: it is shown this once."""
    key, secret = use_cases.create_key(store, body.name, body.description)
    logger.info("key created", extra={"key_id": key.id, "key_name": key.name})
    return KeyWithSecret(**KeyOut.of(key).model_dump(), secret=secret)


@app.get("/keys", response_model=KeyPage, tags=["keys"], responses={400: {"description": "Invalid cursor."}})
async def list_keys(
    name: Annotated[str, Query(max_length=64, description="Case-insensitive name prefix.")] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048, description="`next_cursor` of the previous page.")] = None,
) -> KeyPage:
    """Keys ordered by name, a page at a time."""
    keys, next_cursor = listing.page(name, limit, cursor)
    return KeyPage(items=[KeyOut.of(key) for key in keys], next_cursor=next_cursor)


@app.get("/keys/{key_id}", response_model=KeyOut, tags=["keys"], responses={**NOT_FOUND, **UNAVAILABLE})
async def get_key(key_id: str) -> KeyOut:
    return KeyOut.of(use_cases.get_key(store, key_id))


@app.patch(
    "/keys/{key_id}",
    response_model=KeyOut,
    tags=["keys"],
    responses={**NOT_FOUND, **UNAVAILABLE, **MALFORMED_BODY, **NAME_TAKEN},
)
async def update_key(key_id: str, body: KeyUpdate) -> KeyOut:
    """Rename, describe, disable (`enabled: false`) or enable a key, or declare its signal expectations."""
    key = use_cases.update_key(
        store, key_id, name=body.name, description=body.description, enabled=body.enabled, signals=body.signals
    )
    logger.info("key updated", extra={"key_id": key.id, "fields": sorted(body.model_fields_set)})
    return KeyOut.of(key)


@app.post(
    "/keys/{key_id}/rotate",
    response_model=KeyWithSecret,
    tags=["keys"],
    responses={**NOT_FOUND, **UNAVAILABLE, **MALFORMED_BODY, **CONFLICT},
)
async def rotate_key(key_id: str, body: KeyRotate | None = None) -> KeyWithSecret:
    """Issue a new secret (shown once); the old one keeps working for `grace_seconds`."""
    grace = body.grace_seconds if body else 0
    key, secret = use_cases.rotate_key(store, key_id, grace)
    logger.info("key rotated", extra={"key_id": key.id, "grace_seconds": grace})
    return KeyWithSecret(**KeyOut.of(key).model_dump(), secret=secret)


@app.post(
    "/keys/{key_id}/verify",
    response_model=KeyVerification,
    tags=["keys"],
    responses={**NOT_FOUND, **UNAVAILABLE, **MALFORMED_BODY},
)
async def verify_key_secret(key_id: str, body: KeyVerify) -> KeyVerification:
    """Whether a secret belongs to this key (current, or the previous one in its rotation grace): what
    `arrowhook keys test` checks before it sends anything. The secret is neither stored nor logged."""
    key, matches = use_cases.verify_secret(store, key_id, body.secret)
    return KeyVerification(key_id=key.id, matches=matches, active=key.status is KeyStatus.ACTIVE)


@app.delete(
    "/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["keys"], responses={**NOT_FOUND, **UNAVAILABLE}
)
async def delete_key(key_id: str) -> Response:
    """Delete a key: it stops authenticating at once (within the webhook's key cache TTL); its alerts stay."""
    use_cases.delete_key(store, key_id)
    logger.info("key deleted", extra={"key_id": key_id})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


lambda_handler = lambda_entry(app)
