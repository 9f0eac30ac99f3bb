"""What Athena reads of the archive, checked with a real SQL engine: DuckDB reads archived objects with the
Glue table's column types and casts amounts as docs/operations.md does. Lines that broke Athena: extra
fields whose names differ only by case (the OpenX SerDe lowercases keys by default: "Duplicate key" for
the whole file) and amounts the documented DECIMAL cast could not hold."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from arrowhook.archive.objects import archive_body
from arrowhook.core.alert_body import decode_body, parse_fields
from arrowhook.core.models import StoredAlert, new_id
from arrowhook.core.tradingview import DECIMAL_PRECISION, DECIMAL_SCALE
from arrowhook_tools.local.template import LocalTemplate

AMOUNTS = ("price", "quantity", "position_size", "market_position_size")
#: What the Glue table's Hive types are in DuckDB.
_DUCKDB_TYPES = {"string": "VARCHAR"}


def _glue_table() -> dict[str, Any]:
    table: dict[str, Any] = LocalTemplate().resources["ArchiveTable"]["Properties"]["TableInput"]
    return table


def _stored(body: dict[str, Any], minute: int) -> StoredAlert:
    """As the webhook stores it: parsed by the same code, so every amount is one the webhook accepts."""
    parsed = parse_fields(decode_body(json.dumps(body).encode()))
    received = datetime(2026, 12, 1, 12, tzinfo=UTC) + timedelta(minutes=minute)
    return StoredAlert(
        alert_id=new_id(int(received.timestamp() * 1000)),
        key_id="K",
        strategy="s",
        received_at=received,
        body_format="json",
        fields=parsed.fields,
        extra=parsed.extra,
        parse_issues=list(parsed.issues),
        payload=json.dumps(body),
    )


EXTREMES: list[dict[str, Any]] = [
    {"price": "99999999999999999999.999999999999999999", "qty": "0.000000000000000001"},  # the type's edges
    {"price": "-99999999999999999999", "qty": "1e5", "position_size": "-1.5E+3"},  # exponents, signs
    {"price": 65000.5, "qty": "0.0150000000000000000000000000"},  # trailing zeros beyond the scale
    {"price": "1e21", "qty": "0.0000000000000000001"},  # out of the type: null with a parse issue
    {"Note": "upper", "note": "lower", "NOTE": {"Nested": 1, "nested": 2}, "price": "1"},  # case-colliding keys
]


def _openx_lowercasing_duplicates(line: str) -> list[str]:
    """The OpenX SerDe with `case.insensitive` (its default) lowercases every key of the line, nested ones
    included, and refuses a line where two keys then collide."""
    clashes: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for name, _ in items:
            if name.lower() in seen:
                clashes.append(name)
            seen.add(name.lower())
        return dict(items)

    json.loads(line, object_pairs_hook=pairs)
    return clashes


def test_the_glue_table_reads_keys_as_written_and_every_line_would_load() -> None:
    table = _glue_table()
    serde = table["StorageDescriptor"]["SerdeInfo"]
    case_insensitive = serde.get("Parameters", {}).get("case.insensitive", "true") != "false"
    columns = [column["Name"] for column in table["StorageDescriptor"]["Columns"]]
    assert all(name == name.lower() for name in columns), "with case.insensitive off, columns must match keys"
    lines = archive_body([_stored(body, minute) for minute, body in enumerate(EXTREMES)])
    import gzip

    clashes = [_openx_lowercasing_duplicates(line) for line in gzip.decompress(lines).decode().splitlines()]
    assert not case_insensitive or not any(clashes), f"Athena would refuse the file: {clashes}"
    assert any(clashes), "the data does collide case-insensitively: the SerDe setting is what saves it"


def test_duckdb_reads_the_archive_with_the_glue_types_and_casts_every_amount(tmp_path: Path) -> None:
    table = _glue_table()
    stored = [_stored(body, minute) for minute, body in enumerate(EXTREMES)]
    path = tmp_path / "alerts.json.gz"
    path.write_bytes(archive_body(stored))
    columns = {column["Name"]: _DUCKDB_TYPES[column["Type"]] for column in table["StorageDescriptor"]["Columns"]}
    decimal = f"DECIMAL({DECIMAL_PRECISION},{DECIMAL_SCALE})"
    casts = ", ".join(f"CAST({name} AS {decimal}) AS {name}" for name in AMOUNTS)
    connection = duckdb.connect()
    rows = connection.execute(
        f"SELECT alert_id, {casts}, extra FROM read_json(?, format='newline_delimited', columns=?, "  # noqa: S608
        "compression='gzip') ORDER BY alert_id",
        [str(path), columns],
    ).fetchall()
    assert len(rows) == len(EXTREMES)
    for row, alert in zip(rows, stored, strict=True):
        assert row[0] == alert.alert_id
        for value, name in zip(row[1:5], AMOUNTS, strict=True):
            assert value == getattr(alert.fields, name), (name, alert.payload)
        assert json.loads(row[5]) == json.loads(json.dumps(alert.extra, default=str))
    import gzip
    import re

    for line in gzip.decompress(path.read_bytes()).decode().splitlines():  # what Athena's (Trino's) cast reads
        for name in AMOUNTS:
            value = json.loads(line)[name]
            assert value is None or re.fullmatch(r"-?\d+(\.\d+)?", value), (name, value)
    assert rows[0][1] == Decimal("99999999999999999999.999999999999999999")
    assert rows[1][2] == Decimal("100000") and rows[1][3] == Decimal("-1500")
    assert rows[3][1] is None and rows[3][2] is None, "out of the type: null, the raw value kept in the payload"
    assert {issue.field for issue in stored[3].parse_issues} == {"price", "quantity"}
    assert json.loads(rows[4][5])["Note"] == "upper" and json.loads(rows[4][5])["note"] == "lower"


@pytest.mark.parametrize("raw", ["1e21", "123456789012345678901", "0.0000000000000000001", "1.0000000000000000001"])
def test_the_webhook_keeps_amounts_the_archive_type_cannot_hold_out_of_the_field(raw: str) -> None:
    parsed = parse_fields(decode_body(json.dumps({"price": raw}).encode()))
    assert parsed.fields.price is None
    assert any("at most 20 digits before the point and 18 after" in issue.problem for issue in parsed.issues)
