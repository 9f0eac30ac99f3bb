"""The alerts table's current filter as a file: CSV or JSON Lines with `arrowhook alerts export`'s
columns (arrowhook.admin.export: the message, the health, the fill's meaning; formula-safe cells),
oldest first. A Lambda answer is at most 6 MB: past MAX_EXPORT_ROWS alerts or ~5 MB the file ends and
says so in a header (`X-Arrowhook-Truncated`); the CLI exports any number."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from arrowhook.admin.export import EXPORT_COLUMNS, export_row
from arrowhook.admin.schemas import AlertOut
from console_pages.views import Filters, requested
from console_pages.wiring import SignedIn, listing

router = APIRouter()
MAX_EXPORT_ROWS = 10_000
MAX_EXPORT_BYTES = 5 * 1024 * 1024
_PAGE = 500


@router.get("/console/alerts/export")
async def export_alerts(
    _: SignedIn, filters: Filters, file_format: Annotated[Literal["csv", "ndjson"], Query(alias="format")] = "csv"
) -> Response:
    wanted = requested(filters, newest_first=False)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
    if file_format == "csv":
        writer.writeheader()
    written, cursor, truncated = 0, None, False
    while wanted is not None:
        found, cursor = listing.page(wanted, _PAGE, cursor)
        for alert in found:
            document = AlertOut.of(alert).model_dump(mode="json")
            if file_format == "ndjson":
                out.write(json.dumps(document) + "\n")
            else:
                writer.writerow(export_row(document))
            written += 1
        if cursor is None:
            break
        if written >= MAX_EXPORT_ROWS or out.tell() >= MAX_EXPORT_BYTES:
            truncated = True
            break
    media = "text/csv; charset=utf-8" if file_format == "csv" else "application/x-ndjson"
    headers = {
        "Content-Disposition": f'attachment; filename="alerts.{"csv" if file_format == "csv" else "ndjson"}"',
        "X-Arrowhook-Rows": str(written),
        "X-Arrowhook-Truncated": "true" if truncated else "false",
    }
    return Response(out.getvalue(), media_type=media, headers=headers)
