"""The archive's line format is pinned: objects are kept for years and read by Athena, so a change to
the admin API (or anything but a deliberate new format version) must not change a byte of it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from arrowhook.archive.protocol import archive_line, read_archive
from arrowhook.core.models import StoredAlert
from arrowhook.core.tradingview import AlertFields, MarketPosition, ParseIssue, Side

GOLDEN = (
    b'{"alert_id":"01JD90AAAAAAAAAAAAAAAAAAAA","key_id":"01JD8Z6V4X2M7Q9R3T5W8Y0B1C","strategy":"ema-cross",'
    b'"received_at":"2026-11-22T10:00:01.250000Z","body_format":"json","ticker":"BTCUSDT","exchange":"BINANCE",'
    b'"side":"buy","price":"65000.50","quantity":"0.015","position_size":null,"market_position":"long",'
    b'"market_position_size":null,"prev_market_position":"flat","interval":"15","order_id":"Long","comment":null,'
    b'"alert_message":null,"tv_time":"2026-11-22T10:00:00Z","tv_timenow":null,"extra":{"rsi":"71.3"},'
    b'"parse_issues":[{"field":"volume","problem":"unreplaced TradingView placeholder","value":"{{volume}}"}],'
    b'"payload":"{\\"key\\": \\"***\\", \\"ticker\\": \\"BTCUSDT\\"}","source_ip":"52.89.214.238",'
    b'"request_id":"Nj4Z3jLmIAMEVZQ=","user_agent":"Go-http-client/1.1","content_type":"application/json"}'
)


def _alert() -> StoredAlert:
    return StoredAlert(
        alert_id="01JD90AAAAAAAAAAAAAAAAAAAA",
        key_id="01JD8Z6V4X2M7Q9R3T5W8Y0B1C",
        strategy="ema-cross",
        received_at=datetime(2026, 11, 22, 10, 0, 1, 250000, tzinfo=UTC),
        body_format="json",
        fields=AlertFields(
            ticker="BTCUSDT",
            exchange="BINANCE",
            side=Side.BUY,
            price=Decimal("65000.50"),
            quantity=Decimal("0.015"),
            market_position=MarketPosition.LONG,
            prev_market_position=MarketPosition.FLAT,
            interval="15",
            order_id="Long",
            tv_time=datetime(2026, 11, 22, 10, 0, tzinfo=UTC),
        ),
        extra={"rsi": "71.3"},
        payload='{"key": "***", "ticker": "BTCUSDT"}',
        parse_issues=[ParseIssue(field="volume", problem="unreplaced TradingView placeholder", value="{{volume}}")],
        source_ip="52.89.214.238",
        request_id="Nj4Z3jLmIAMEVZQ=",
        user_agent="Go-http-client/1.1",
        content_type="application/json",
    )


def test_an_archived_line_is_byte_for_byte_the_version_1_format() -> None:
    assert archive_line(_alert()) == GOLDEN


def test_a_line_reads_back_exactly() -> None:
    import gzip

    [line] = read_archive(gzip.compress(GOLDEN + b"\n"))
    assert (line.alert_id, line.price, line.received_at) == (
        "01JD90AAAAAAAAAAAAAAAAAAAA",
        Decimal("65000.50"),
        datetime(2026, 11, 22, 10, 0, 1, 250000, tzinfo=UTC),
    )
