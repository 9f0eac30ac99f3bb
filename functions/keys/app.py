"""Keys admin API: FastAPI wrapped by Mangum. Routes validate, call the use case, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query, Request, Response, status
from fastapi.responses import JSONResponse
from mangum import Mangum

from arrowhook import keys as use_cases
from arrowhook.errors import InvalidCursorError, KeyNotFoundError, NameTakenError, StoreUnavailableError
from arrowhook.observability import logger, metrics, traced
from arrowhook.schemas import KeyCreate, KeyOut, KeyPage, KeyRotate, KeyUpdate, KeyWithSecret
from arrowhook.settings import get_settings
from arrowhook.store import KeyStore

settings = get_settings()
store = KeyStore(settings.keys_table_name)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No key with this id."},
    503: {"description": "The key store is temporarily unavailable."},
}
MALFORMED_BODY: dict[int | str, dict[str, Any]] = {400: {"description": "The body is not valid JSON."}}

app = FastAPI(
    title="Arrowhook admin API: keys",
    version=settings.version,
    description="Manage the per-strategy secret keys that authenticate TradingView webhooks. "
    "Every route needs `Authorization: Bearer <admin token>`.",
)


@app.middleware("http")
async def security_headers(request: Request, call_next: Any) -> Response:
    response: Response = await call_next(request)
    response.headers.update(SECURITY_HEADERS)
    return response


def _error(status_code: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code, headers=SECURITY_HEADERS)


@app.exception_handler(KeyNotFoundError)
async def key_not_found(_: Request, error: KeyNotFoundError) -> JSONResponse:
    return _error(404, "key not found")


@app.exception_handler(NameTakenError)
async def name_taken(_: Request, error: NameTakenError) -> JSONResponse:
    return _error(409, str(error))


@app.exception_handler(InvalidCursorError)
async def invalid_cursor(_: Request, error: InvalidCursorError) -> JSONResponse:
    return _error(400, "invalid cursor")


@app.exception_handler(StoreUnavailableError)
async def store_unavailable(_: Request, error: StoreUnavailableError) -> JSONResponse:
    logger.error("key store unavailable", extra={"reason": str(error)})
    return _error(503, "key store temporarily unavailable, retry")


@app.post(
    "/keys",
    status_code=status.HTTP_201_CREATED,
    response_model=KeyWithSecret,
    tags=["keys"],
    responses={409: {"description": "A key with this name exists."}, 503: ERRORS[503], **MALFORMED_BODY},
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
    keys, next_cursor = store.list_page(name_prefix=name, limit=limit, cursor=cursor)
    return KeyPage(items=[KeyOut.of(key) for key in keys], next_cursor=next_cursor)


@app.get("/keys/{key_id}", response_model=KeyOut, tags=["keys"], responses=ERRORS)
async def get_key(key_id: str) -> KeyOut:
    return KeyOut.of(use_cases.get_key(store, key_id))


@app.patch(
    "/keys/{key_id}",
    response_model=KeyOut,
    tags=["keys"],
    responses={**ERRORS, **MALFORMED_BODY, 409: {"description": "Another key has this name."}},
)
async def update_key(key_id: str, body: KeyUpdate) -> KeyOut:
    """Rename, describe, disable (`enabled: false`) or enable a key."""
    key = use_cases.update_key(store, key_id, name=body.name, description=body.description, enabled=body.enabled)
    logger.info("key updated", extra={"key_id": key.id, "fields": sorted(body.model_fields_set)})
    return KeyOut.of(key)


@app.post("/keys/{key_id}/rotate", response_model=KeyWithSecret, tags=["keys"], responses={**ERRORS, **MALFORMED_BODY})
async def rotate_key(key_id: str, body: KeyRotate | None = None) -> KeyWithSecret:
    """Issue a new secret (shown once); the old one keeps working for `grace_seconds`."""
    grace = body.grace_seconds if body else 0
    key, secret = use_cases.rotate_key(store, key_id, grace)
    logger.info("key rotated", extra={"key_id": key.id, "grace_seconds": grace})
    return KeyWithSecret(**KeyOut.of(key).model_dump(), secret=secret)


@app.delete("/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["keys"], responses=ERRORS)
async def delete_key(key_id: str) -> Response:
    """Delete a key: it stops authenticating at once (within the webhook's key cache TTL); its alerts stay."""
    use_cases.delete_key(store, key_id)
    logger.info("key deleted", extra={"key_id": key_id})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


_mangum = Mangum(app, lifespan="off")


@traced
@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _mangum(event, context)
