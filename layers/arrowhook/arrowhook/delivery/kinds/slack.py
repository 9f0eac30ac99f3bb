"""Slack incoming webhooks: mrkdwn off (only `&`, `<`, `>` are special), 3,000 characters."""

from __future__ import annotations

import re

from arrowhook.delivery.kinds.base import (
    MessageLimit,
    NoChatId,
    OutboundRequest,
    OutgoingMessage,
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


class Slack(NoChatId):
    name = "slack"
    default_template = "{strategy}: {side} {ticker} @ {price} (qty {quantity}) {message}"
    limit: MessageLimit | None = MessageLimit(3000, utf16_length)
    via_email = False
    takes_url = True
    signs = False

    def escape(self, value: str) -> str:
        return escape_slack(value)

    def credentials(self, url: str | None, bot_token: str | None, *, allow_http: bool) -> tuple[dict[str, str], str]:
        return _URL.credentials(self.name, url, allow_http=allow_http)

    def request(self, message: OutgoingMessage) -> OutboundRequest:
        body = {"text": message.text, "mrkdwn": False, "unfurl_links": False, "unfurl_media": False}
        return json_request(str(message.url), body)


SLACK = Slack()
