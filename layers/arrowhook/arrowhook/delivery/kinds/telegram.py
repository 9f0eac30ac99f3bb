"""Telegram's Bot API: a bot token (the secret) and a chat id, HTML parse mode, 4,096 characters counted
after entity parsing."""

from __future__ import annotations

import html
import re

from arrowhook.delivery.kinds.base import (
    InvalidDestinationError,
    MessageLimit,
    OutboundRequest,
    OutgoingMessage,
    json_request,
    utf16_length,
)

_TAG = re.compile(r"<[^>]*>")


def telegram_length(text: str) -> int:
    """Telegram's 4096 is counted after entity parsing: tags are not text, `&lt;` is one character."""
    return utf16_length(html.unescape(_TAG.sub("", text)))


def escape_telegram(value: str) -> str:
    """Telegram messages are sent with parse_mode HTML: values are HTML-escaped, quotes included, so a value
    inside an attribute of the operator's template (`<a href="...{ticker}">`) cannot close it."""
    return html.escape(value, quote=True)


def _token_ok(token: str) -> bool:
    bot, _, rest = token.partition(":")
    return bot.isdigit() and len(rest) >= 20 and all(char.isalnum() or char in "_-" for char in rest)


class Telegram:
    name = "telegram"
    default_template = "<b>{strategy}</b> {side} {ticker} @ {price} (qty {quantity}) {message}"
    limit: MessageLimit | None = MessageLimit(4096, telegram_length)
    via_email = False
    takes_url = False
    signs = False

    escape = staticmethod(escape_telegram)

    def credentials(self, url: str | None, bot_token: str | None, *, allow_http: bool) -> tuple[dict[str, str], str]:
        if not bot_token or not _token_ok(bot_token):
            raise InvalidDestinationError("bot_token: expected a Telegram bot token (<digits>:<letters>)")
        return {"bot_token": bot_token}, f"telegram bot {bot_token.split(':', 1)[0]}"

    def chat_id(self, chat_id: str | None) -> str | None:
        if not chat_id or not (chat_id.lstrip("-").isdigit() or chat_id.startswith("@")):
            raise InvalidDestinationError("chat_id: a numeric chat id or an @channel name")
        return chat_id

    def request(self, message: OutgoingMessage) -> OutboundRequest:
        body = {
            "chat_id": message.chat_id,
            "text": message.text,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        return json_request(f"{message.telegram_api_url.rstrip('/')}/bot{message.bot_token}/sendMessage", body)


TELEGRAM = Telegram()
