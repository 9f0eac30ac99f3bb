"""Keys admin API: FastAPI wrapped by Mangum. Routes validate, call the use case, shape the answer."""

# No `from __future__ import annotations`: FastAPI reads each route's annotations when the route is
# declared, and the strategy reference's type is local to the factory below.

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response, status

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
from arrowhook.core.errors import KeyNotFoundError
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


def strategy_routes(reference: Literal["strategy", "key_id"]) -> APIRouter:
    """The routes of one spelling. A strategy is one concept with one name, `/strategies/{strategy}` (an id
    or a name, as `/strategies/{strategy}/positions` takes it); `/keys/{key_id}`, the first spelling, stays
    as an alias that takes an id, deprecated in the OpenAPI document. Each route is written once, here."""
    router = APIRouter()
    by_name = reference == "strategy"
    Reference = Annotated[  # noqa: N806 - a type, named as one
        str, Path(alias=reference, description="A strategy's id or name." if by_name else "A strategy's id.")
    ]

    def key_id_of(value: str) -> str:
        if not by_name:
            return value
        key = store.resolve(value)
        if key is None:
            raise KeyNotFoundError(f"no strategy {value}")
        return key.id

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=KeyWithSecret,
        responses={**NAME_TAKEN, **UNAVAILABLE, **MALFORMED_BODY},
    )
    async def create_key(body: KeyCreate) -> KeyWithSecret:
        """Create a strategy and its key. The response holds the plaintext `secret`: it is shown this once."""
        key, secret = use_cases.create_key(store, body.name, body.description)
        logger.info("key created", extra={"key_id": key.id, "key_name": key.name})
        return KeyWithSecret(**KeyOut.of(key).model_dump(), secret=secret)

    @router.get("", response_model=KeyPage, responses={400: {"description": "Invalid cursor."}})
    async def list_keys(
        name: Annotated[str, Query(max_length=64, description="Case-insensitive name prefix.")] = "",
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        cursor: Annotated[str | None, Query(max_length=2048, description="`next_cursor` of the previous page.")] = None,
    ) -> KeyPage:
        """Strategies ordered by name, a page at a time."""
        keys, next_cursor = listing.page(name, limit, cursor)
        return KeyPage(items=[KeyOut.of(key) for key in keys], next_cursor=next_cursor)

    @router.get(f"/{{{reference}}}", response_model=KeyOut, responses={**NOT_FOUND, **UNAVAILABLE})
    async def get_key(key: Reference) -> KeyOut:
        return KeyOut.of(use_cases.get_key(store, key_id_of(key)))

    @router.patch(
        f"/{{{reference}}}",
        response_model=KeyOut,
        responses={**NOT_FOUND, **UNAVAILABLE, **MALFORMED_BODY, **NAME_TAKEN},
    )
    async def update_key(key: Reference, body: KeyUpdate) -> KeyOut:
        """Rename, describe, disable (`enabled: false`) or enable a strategy, or declare its signal expectations."""
        updated = use_cases.update_key(
            store,
            key_id_of(key),
            name=body.name,
            description=body.description,
            enabled=body.enabled,
            signals=body.signals,
        )
        logger.info("key updated", extra={"key_id": updated.id, "fields": sorted(body.model_fields_set)})
        return KeyOut.of(updated)

    @router.post(
        f"/{{{reference}}}/rotate",
        response_model=KeyWithSecret,
        responses={**NOT_FOUND, **UNAVAILABLE, **MALFORMED_BODY, **CONFLICT},
    )
    async def rotate_key(key: Reference, body: KeyRotate | None = None) -> KeyWithSecret:
        """Issue a new secret (shown once); the old one keeps working for `grace_seconds`."""
        grace = body.grace_seconds if body else 0
        rotated, secret = use_cases.rotate_key(store, key_id_of(key), grace)
        logger.info("key rotated", extra={"key_id": rotated.id, "grace_seconds": grace})
        return KeyWithSecret(**KeyOut.of(rotated).model_dump(), secret=secret)

    @router.post(
        f"/{{{reference}}}/verify",
        response_model=KeyVerification,
        responses={**NOT_FOUND, **UNAVAILABLE, **MALFORMED_BODY},
    )
    async def verify_key_secret(key: Reference, body: KeyVerify) -> KeyVerification:
        """Whether a secret belongs to this strategy (current, or the previous one in its rotation grace):
        what `arrowhook strategies test` checks before it sends anything. The secret is neither stored nor
        logged."""
        found, matches = use_cases.verify_secret(store, key_id_of(key), body.secret)
        return KeyVerification(key_id=found.id, matches=matches, active=found.status is KeyStatus.ACTIVE)

    @router.delete(f"/{{{reference}}}", status_code=status.HTTP_204_NO_CONTENT, responses={**NOT_FOUND, **UNAVAILABLE})
    async def delete_key(key: Reference) -> Response:
        """Delete a strategy's key: it stops authenticating at once (within the webhook's key cache TTL);
        its alerts stay."""
        key_id = key_id_of(key)
        use_cases.delete_key(store, key_id)
        logger.info("key deleted", extra={"key_id": key_id})
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router


app.include_router(strategy_routes("strategy"), prefix="/strategies", tags=["strategies"])
app.include_router(strategy_routes("key_id"), prefix="/keys", tags=["keys"], deprecated=True)


lambda_handler = lambda_entry(app)
