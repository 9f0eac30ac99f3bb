"""Discord incoming webhooks: Markdown escaped, mentions off, 2,000 characters (UTF-16)."""

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

#: What Discord reads as Markdown inside a line (values never start one: they are kept on one line).
_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]<])")
_ZERO_WIDTH_SPACE = "\u200b"
_URL = UrlRule(
    re.compile(r"^https://(?:ptb\.|canary\.)?(?:discord|discordapp)\.com/api/(?:v\d+/)?webhooks/\d+/[\w-]+$"),
    "a Discord webhook URL (https://discord.com/api/webhooks/<id>/<token>)",
)


def escape_discord(value: str) -> str:
    """Markdown characters backslash-escaped and `@` broken, so `@everyone` or `<@id>` stays text (the
    message also sets allowed_mentions to none: belt and braces)."""
    return _MARKDOWN.sub(r"\\\1", value).replace("@", "@" + _ZERO_WIDTH_SPACE)


class Discord(UrlKind):
    name = "discord"
    default_template = "**{strategy}** {side} {ticker} @ {price} (qty {quantity}) {message}"
    limit: MessageLimit | None = MessageLimit(2000, utf16_length)
    url_rule = _URL

    escape = staticmethod(escape_discord)

    def request(self, message: OutgoingMessage) -> OutboundRequest:
        # ?wait=true: Discord answers with the message (or why not). flags 4: SUPPRESS_EMBEDS, no link
        # preview fetched for a URL an alert carries.
        url = str(message.url)
        body = {"content": message.text, "allowed_mentions": {"parse": []}, "flags": 4}
        return json_request(url + ("&" if "?" in url else "?") + "wait=true", body)


DISCORD = Discord()
