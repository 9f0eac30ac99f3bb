"""Delivery without AWS or a network: message templates, escaping per target, signing and a destination's
answer read (the lanes that retry and record are tests/unit/delivery/test_lanes.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from arrowhook.core.models import StoredAlert
from arrowhook.core.tradingview import AlertFields
from arrowhook.delivery.destinations import Destination, DestinationSecret, check_template
from arrowhook.delivery.kinds.base import InvalidDestinationError, OutboundRequest, utf16_length
from arrowhook.delivery.kinds.discord import escape_discord
from arrowhook.delivery.kinds.registry import KINDS, DestinationKind
from arrowhook.delivery.kinds.telegram import telegram_length
from arrowhook.delivery.sending import (
    Answer,
    Sender,
    build_request,
    webhook_id,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SIGNING_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def alert(**fields: Any) -> StoredAlert:
    values = {"ticker": "BTCUSDT", "side": "buy", "price": Decimal("65000.50"), "quantity": Decimal("0.01"), **fields}
    return StoredAlert(
        alert_id="01ALERT",
        key_id="KEY1",
        strategy="ema-cross",
        received_at=NOW - timedelta(seconds=2),
        body_format="json",
        fields=AlertFields.model_validate(values),
        payload="{}",
    )


def destination(kind: DestinationKind = DestinationKind.DISCORD, **values: Any) -> Destination:
    return Destination.model_validate(
        {
            "id": f"D-{kind}",
            "name": kind.value,
            "kind": kind,
            "template": kind.rules.default_template,
            "chat_id": "42" if kind is DestinationKind.TELEGRAM else None,
            "created_at": NOW,
            "updated_at": NOW,
            **values,
        }
    )


SECRET = DestinationSecret(url="https://example.test/hook", bot_token="1:abc", signing_secret=SIGNING_SECRET)


def request_for(kind: DestinationKind, stored: StoredAlert, **values: Any) -> OutboundRequest:
    return build_request(
        destination(kind, **values),
        SECRET,
        stored,
        message_id=webhook_id(stored.alert_id, f"D-{kind}"),
        now=NOW,
        telegram_api_url="https://api.telegram.org",
    )


# -- templates -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "template",
    [
        "{unknown}",
        "{strategy.__class__}",
        "{ticker[0]}",
        "{price:>10}",
        "{ticker!r}",
        "unbalanced {",
    ],
)
def test_a_template_may_only_name_known_placeholders_plainly(template: str) -> None:
    with pytest.raises(InvalidDestinationError, match="template"):
        check_template(template)


def test_every_default_template_is_valid_and_renders_the_alert() -> None:
    for kind, rules in KINDS.items():
        template = rules.default_template
        assert check_template(template, kind) == template
        assert "BTCUSDT" in destination(kind).message(alert())
    assert destination(template="{ticker} @ {price} {order_id}").message(alert()) == "BTCUSDT @ 65000.50 -"


def test_literal_braces_are_written_doubled() -> None:
    assert destination(template="{{x}} {ticker}").message(alert()) == "{x} BTCUSDT"


# -- hostile content per target ----------------------------------------------------------------------------
HOSTILE = {"ticker": "@everyone", "comment": "<b>*boom*</b> <@123> [x](https://evil.test)\n# heading"}


def test_discord_content_cannot_ping_or_format() -> None:
    sent = json.loads(request_for(DestinationKind.DISCORD, alert(**HOSTILE), template="{ticker} {comment}").body)
    assert sent["allowed_mentions"] == {"parse": []}
    assert "@everyone" not in sent["content"] and "<@123>" not in sent["content"]
    assert "\n" not in sent["content"], "a value never opens a line of its own (heading, quote)"
    assert "\\*boom\\*" in sent["content"] and "\\[x\\]" in sent["content"]


def test_discord_keeps_the_operators_own_markdown() -> None:
    assert destination(template="**{ticker}**").message(alert(ticker="A*B")) == "**A\\*B**"
    assert escape_discord("_") == "\\_"


def test_slack_sends_plain_text_with_its_control_characters_escaped() -> None:
    sent = json.loads(request_for(DestinationKind.SLACK, alert(**HOSTILE), template="{ticker} {comment}").body)
    assert sent["mrkdwn"] is False
    assert "<" not in sent["text"] and "&lt;@123&gt;" in sent["text"]


def test_telegram_escapes_values_as_html_and_keeps_the_template_markup() -> None:
    request = request_for(DestinationKind.TELEGRAM, alert(**HOSTILE), template="<b>{ticker}</b> {comment}")
    sent = json.loads(request.body)
    assert request.url == "https://api.telegram.org/bot1:abc/sendMessage"
    assert sent["parse_mode"] == "HTML" and sent["chat_id"] == "42"
    assert sent["text"].startswith("<b>@everyone</b> &lt;b&gt;*boom*&lt;/b&gt;")


@pytest.mark.parametrize("filler", ["&", "<", "é", "😀", "a"])
def test_long_values_are_cut_before_escaping_and_fit_each_services_limit(filler: str) -> None:
    """Cutting the escaped text at 4096 split `&amp;` or a closing tag (Telegram: "Can't find end tag")."""
    import re

    long = alert(comment=filler * 4000, alert_message=filler * 4000)
    template = "<b>{ticker}</b> <i>{comment}</i> {message}"
    telegram = json.loads(request_for(DestinationKind.TELEGRAM, long, template=template).body)["text"]
    assert telegram.startswith("<b>BTCUSDT</b> <i>") and telegram.count("</i>") == 1, "the tags stay whole"
    assert "…" in telegram and 4090 < telegram_length(telegram) <= 4096
    assert re.findall(r"&(?!amp;|lt;|gt;|quot;|#x27;)", telegram) == [], "no entity cut in half"
    discord = json.loads(request_for(DestinationKind.DISCORD, long, template="{ticker} {comment}").body)["content"]
    assert 1995 < utf16_length(discord) <= 2000 and discord.endswith("…")
    slack = json.loads(request_for(DestinationKind.SLACK, long, template="{ticker} {comment}").body)["text"]
    assert 2995 < utf16_length(slack) <= 3000 and slack.endswith("…")


def test_values_cannot_reorder_or_hide_text_and_links_are_not_previewed() -> None:
    """A bidi override (U+202E) made `sell` read backwards; zero-width characters hid text; Discord
    and Slack fetched previews of links an alert carried."""
    hostile = alert(ticker="BTC\u202eUSDT", comment="go\u200b\u2066 long https://evil.test")
    for kind, field_name in (
        (DestinationKind.DISCORD, "content"),
        (DestinationKind.SLACK, "text"),
        (DestinationKind.TELEGRAM, "text"),
    ):
        text = json.loads(request_for(kind, hostile, template="{ticker} {comment}").body)[field_name]
        assert "\u202e" not in text and "\u2066" not in text and "USDT" in text, kind
    discord = json.loads(request_for(DestinationKind.DISCORD, hostile).body)
    assert discord["flags"] == 4 and "\u200bUSDT" not in discord["content"]
    slack = json.loads(request_for(DestinationKind.SLACK, hostile).body)
    assert (slack["unfurl_links"], slack["unfurl_media"]) == (False, False)


def test_a_value_inside_an_attribute_of_a_telegram_template_cannot_close_it() -> None:
    sent = json.loads(
        request_for(
            DestinationKind.TELEGRAM,
            alert(ticker='X" onclick="y'),
            template='<a href="https://www.tradingview.com/chart/?symbol={ticker}">chart</a>',
        ).body
    )
    assert sent["text"] == '<a href="https://www.tradingview.com/chart/?symbol=X&quot; onclick=&quot;y">chart</a>'


def test_a_template_longer_than_half_the_limit_is_refused() -> None:
    check_template("x" * 900, DestinationKind.DISCORD)
    with pytest.raises(InvalidDestinationError, match="longer than half"):
        check_template("x" * 1100, DestinationKind.DISCORD)
    check_template("x" * 1100, DestinationKind.WEBHOOK)


# -- signed webhooks ---------------------------------------------------------------------------------------
def test_a_signed_webhook_verifies_with_the_standard_webhooks_library(monkeypatch: pytest.MonkeyPatch) -> None:
    request = request_for(DestinationKind.WEBHOOK, alert())
    monkeypatch.setattr("standardwebhooks.webhooks.datetime", _FrozenDatetime)
    payload = Webhook(SIGNING_SECRET).verify(request.body, request.headers)
    assert payload["type"] == "alert.stored"
    assert payload["data"]["ticker"] == "BTCUSDT" and payload["data"]["price"] == "65000.50", "decimals stay exact"
    with pytest.raises(WebhookVerificationError):
        Webhook(SIGNING_SECRET).verify(request.body.replace(b"BTCUSDT", b"ETHUSDT"), request.headers)


def test_a_test_alert_says_so_in_every_form_that_leaves() -> None:
    """`arrowhook keys test` reached bots as a plain `buy ARROWHOOK-TEST @ 1`: its mark sat in `extra`."""
    test = alert(ticker="ARROWHOOK-TEST").model_copy(update={"extra": {"test": True}})
    for kind, field_name in ((DestinationKind.DISCORD, "content"), (DestinationKind.SLACK, "text")):
        assert json.loads(request_for(kind, test).body)[field_name].startswith("[TEST] "), kind
    assert json.loads(request_for(DestinationKind.TELEGRAM, test).body)["text"].startswith("[TEST] <b>")
    assert json.loads(request_for(DestinationKind.WEBHOOK, test).body)["data"]["test"] is True
    assert json.loads(request_for(DestinationKind.WEBHOOK, alert()).body)["data"]["test"] is False
    assert not json.loads(request_for(DestinationKind.DISCORD, alert()).body)["content"].startswith("[TEST]")
    published: list[tuple[str, str]] = []

    class Email:
        def publish(self, subject: str, message: str) -> Answer:
            published.append((subject, message))
            return Answer(status=200)

    Sender(transport=_NoNetwork(), email=Email()).send(test, destination(DestinationKind.EMAIL), SECRET)
    assert published[0][0].startswith("[TEST] Arrowhook: ") and published[0][1].startswith("[TEST] ")


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _FrozenDatetime:
        return cls.fromtimestamp(NOW.timestamp(), tz)


def test_during_a_rotation_both_secrets_sign_and_either_verifies(monkeypatch: pytest.MonkeyPatch) -> None:
    new_secret = "whsec_" + "A" * 43 + "="
    rotating = DestinationSecret(
        url="https://example.test/hook",
        signing_secret=new_secret,
        previous_signing_secret=SIGNING_SECRET,
        previous_expires_at=int((NOW + timedelta(hours=1)).timestamp()),
    )
    monkeypatch.setattr("standardwebhooks.webhooks.datetime", _FrozenDatetime)

    def signed(now: datetime) -> OutboundRequest:
        return build_request(
            destination(DestinationKind.WEBHOOK), rotating, alert(), message_id="msg_1", now=now, telegram_api_url=""
        )

    during = signed(NOW)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    for key in (new_secret, SIGNING_SECRET):
        assert Webhook(key).verify(during.body, during.headers)["data"]["ticker"] == "BTCUSDT"
    after = signed(NOW + timedelta(hours=2))
    monkeypatch.setattr(
        _FrozenDatetime, "now", classmethod(lambda cls, tz=None: cls.fromtimestamp(NOW.timestamp() + 7200, tz))
    )
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    Webhook(new_secret).verify(after.body, after.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SIGNING_SECRET).verify(after.body, after.headers)


def test_the_webhook_id_is_the_same_on_every_attempt_and_differs_per_destination() -> None:
    first = request_for(DestinationKind.WEBHOOK, alert())
    again = build_request(
        destination(DestinationKind.WEBHOOK),
        SECRET,
        alert(),
        message_id=webhook_id("01ALERT", "D-webhook"),
        now=NOW + timedelta(minutes=5),
        telegram_api_url="",
    )
    assert first.headers["webhook-id"] == again.headers["webhook-id"] == "msg_01ALERT_D-webhook"
    # Standard Webhooks: one payload per message id, its `timestamp` the event's, signed anew each attempt.
    assert first.body == again.body
    assert json.loads(first.body)["timestamp"] == "2026-11-23T11:59:58.000Z", "when the alert was stored"
    assert first.headers["webhook-signature"] != again.headers["webhook-signature"]
    assert first.headers["webhook-timestamp"] != again.headers["webhook-timestamp"]
    assert webhook_id("01ALERT", "other") != first.headers["webhook-id"]


# -- urls --------------------------------------------------------------------------------------------------
def test_urls_must_be_the_services_own_over_https_unless_the_stack_allows_http() -> None:
    url = "https://discord.com/api/webhooks/1/abc-_"
    assert DestinationKind.DISCORD.rules.credentials(url, None, allow_http=False)[0] == {"url": url}
    for kind, url in [
        (DestinationKind.DISCORD, "http://discord.com/api/webhooks/1/abc"),
        (DestinationKind.DISCORD, "https://evil.test/api/webhooks/1/abc"),
        (DestinationKind.SLACK, "https://hooks.slack.com.evil.test/services/x"),
        (DestinationKind.WEBHOOK, "http://example.test/hook"),
    ]:
        with pytest.raises(InvalidDestinationError):
            kind.rules.credentials(url, None, allow_http=False)
    local = "http://127.0.0.1:9/hook"
    assert DestinationKind.WEBHOOK.rules.credentials(local, None, allow_http=True)[0] == {"url": local}


# -- answers -----------------------------------------------------------------------------------------------
def test_retry_after_is_read_from_the_header_seconds_or_date_and_from_telegram_and_discord_bodies() -> None:
    assert Answer(429, headers={"Retry-After": "3"}).retry_after(NOW) == 3
    date = "Mon, 23 Nov 2026 12:00:07 GMT"
    assert Answer(503, headers={"retry-after": date}).retry_after(NOW) == 7
    assert Answer(429, body='{"ok":false,"parameters":{"retry_after":5}}').retry_after(NOW) == 5
    assert Answer(429, body='{"retry_after": 1.5, "global": false}').retry_after(NOW) == 1.5
    assert Answer(500, body="oops").retry_after(NOW) is None


# -- the delivery rule -------------------------------------------------------------------------------------


class _NoNetwork:
    def post(self, request: OutboundRequest, timeout_seconds: float) -> Answer:
        raise AssertionError("nothing goes over HTTP here")
