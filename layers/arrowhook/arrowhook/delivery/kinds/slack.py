"""Slack incoming webhooks: mrkdwn off (only `&`, `<`, `>` are special), 3,000 characters."""

from __future__ import annotations

import re

from arrowhook.delivery.kinds.base import (
    MessageLimit,
    OutboundRequest,
    OutgoingMessage,
    UrlKind,
    UrlRule,
    json_request,
    utf16_length,
)

_URL = UrlRule(
    re.compile(r"^https://hooks\.slack\.com/(?:services|workflows|triggers)/[\w/-]+$"),
    "a Slack incoming webhook URL (https://hooks.slack.com/services/...)",
)


def escape_slack(value: str) -> str:
    """Slack's three control characters (messages are sent with mrkdwn off, so `*` and `_` stay text)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Slack(UrlKind):
    name = "slack"
    default_template = "{strategy}: {side} {ticker} @ {price} (qty {quantity}) {message}"
    limit: MessageLimit | None = MessageLimit(3000, utf16_length)
    url_rule = _URL

    escape = staticmethod(escape_slack)

    def request(self, message: OutgoingMessage) -> OutboundRequest:
        body = {"text": message.text, "mrkdwn": False, "unfurl_links": False, "unfurl_media": False}
        return json_request(str(message.url), body)


SLACK = Slack()
