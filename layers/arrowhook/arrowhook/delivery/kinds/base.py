"""What every destination kind provides (the `DestinationKindRules` protocol), and the pieces kinds share:
the request they build, how a message is measured against a service's limit, a URL checked against a
service's pattern and shown masked. One module per kind implements it; arrowhook.delivery.kinds.registry
names them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from arrowhook.core.errors import ArrowhookError

USER_AGENT = "Arrowhook-Delivery/1"


class InvalidDestinationError(ArrowhookError):
    """A destination the API refuses to create: unknown placeholder, a URL of the wrong kind, ... (a 400)."""


@dataclass(frozen=True)
class OutboundRequest:
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class MessageLimit:
    """A service's longest message, measured on the text as sent, the way the service measures it."""

    chars: int
    measure: Callable[[str], int]


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to one destination, its text already escaped and cut for the destination's kind."""

    text: str
    #: The alert's document (or a notice's data) and the text: what a signed webhook carries as `data`.
    data: dict[str, Any]
    event_type: str
    message_id: str
    occurred_at: datetime
    now: datetime
    url: str | None
    bot_token: str | None
    chat_id: str | None
    signing_secrets: list[str]
    telegram_api_url: str


class DestinationKindRules(Protocol):
    """Everything that differs between destination kinds. A new kind is a module implementing this and a
    line in the registry (docs/development.md, "Where things go")."""

    #: The kind's name in the API, the CLI and stored destinations.
    name: str
    #: The message a destination gets when its operator gives no template.
    default_template: str
    #: The service's longest message (None: none we need to respect).
    limit: MessageLimit | None
    #: Sent through the stack's AlertEmail topic instead of over HTTP.
    via_email: bool
    #: Its destinations have a URL (a secret, checked to be public); else a bot token or nothing.
    takes_url: bool
    #: Its destinations have a Standard Webhooks signing secret (shown once, rotatable).
    signs: bool

    def escape(self, value: str) -> str:
        """One alert value made plain text in the kind's message format (alert fields are hostile)."""
        ...

    def credentials(self, url: str | None, bot_token: str | None, *, allow_http: bool) -> tuple[dict[str, str], str]:
        """The secret's fields to keep (checked) and a masked hint of where it points; or
        InvalidDestinationError naming what was expected."""
        ...

    def chat_id(self, chat_id: str | None) -> str | None:
        """The chat id to store (only Telegram has one); InvalidDestinationError when it is wrong."""
        ...

    def request(self, message: OutgoingMessage) -> OutboundRequest:
        """The HTTP request the kind's API expects (ValueError for a kind not sent over HTTP)."""
        ...


class NoChatId:
    """Most kinds: a chat id is refused."""

    name: str

    def chat_id(self, chat_id: str | None) -> str | None:
        if chat_id:
            raise InvalidDestinationError("chat_id: only for telegram destinations")
        return None


class UrlKind(NoChatId):
    """A kind whose destination is a URL of its service (a secret, checked to be public): Discord, Slack,
    signed webhooks. A subclass names its `url_rule`, template, escaping, limit and request."""

    url_rule: UrlRule
    via_email = False
    takes_url = True
    signs = False

    def credentials(self, url: str | None, bot_token: str | None, *, allow_http: bool) -> tuple[dict[str, str], str]:
        return self.url_rule.credentials(self.name, url, allow_http=allow_http)


@dataclass(frozen=True)
class UrlRule:
    """A kind whose destination is a URL of its service, over HTTPS (any http(s) URL where the stack allows
    it: the local stack's fakes)."""

    pattern: re.Pattern[str]
    #: What the error says was expected.
    expected: str

    def check(self, name: str, url: str | None, *, allow_http: bool) -> str:
        if not url:
            raise InvalidDestinationError(f"a {name} destination needs a url")
        rule = _LOCAL_URL if allow_http else self.pattern
        if len(url) > 2048 or rule.fullmatch(url) is None:
            raise InvalidDestinationError(f"url: expected {self.expected}")
        return url

    def credentials(self, name: str, url: str | None, *, allow_http: bool) -> tuple[dict[str, str], str]:
        checked = self.check(name, url, allow_http=allow_http)
        return {"url": checked}, masked(checked)


_LOCAL_URL = re.compile(r"^https?://[^\s/]+(?:/\S*)?$")


def masked(url: str) -> str:
    """`https://discord.com/api/webhooks/123/abcdef` -> `https://discord.com/…abcd…`: enough to tell two
    destinations apart, never a credential. The userinfo (`ops:hunter2@`), the query (`?token=…`) and
    the fragment are dropped, and of the path only the start of its last segment is kept."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "…"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "…"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    origin = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    tail = parts.path.rstrip("/").rsplit("/", 1)[-1]
    return f"{origin}/…{tail[:4]}…" if tail else origin


def utf16_length(text: str) -> int:
    """What Discord and Telegram count (JavaScript string length; Telegram's entity offsets)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def json_request(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> OutboundRequest:
    """A POST of compact UTF-8 JSON, as every chat service and our signed webhooks take it."""
    return OutboundRequest(url, json_bytes(body), {**json_headers(), **(headers or {})})


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def json_headers() -> dict[str, str]:
    return {"Content-Type": "application/json", "User-Agent": USER_AGENT}
