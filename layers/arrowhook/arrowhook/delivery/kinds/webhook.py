"""Signed webhooks (Standard Webhooks): the alert as JSON, signed with every live signing secret, the same
body on every attempt (its `timestamp` is when the event happened); only the `webhook-timestamp` header,
which receivers check for replays, is the attempt's."""

from __future__ import annotations

import re

from standardwebhooks.webhooks import Webhook

from arrowhook.core.models import iso
from arrowhook.delivery.kinds.base import (
    MessageLimit,
    OutboundRequest,
    OutgoingMessage,
    UrlKind,
    UrlRule,
    json_bytes,
    json_headers,
)

_URL = UrlRule(re.compile(r"^https://[^\s/]+(?:/\S*)?$"), "an https:// URL")


class SignedWebhook(UrlKind):
    name = "webhook"
    default_template = "{strategy} {side} {ticker} @ {price}"
    #: Structured JSON: no limit we need to respect.
    limit: MessageLimit | None = None
    url_rule = _URL
    signs = True

    def escape(self, value: str) -> str:
        """Structured JSON needs no escaping."""
        return value

    def request(self, message: OutgoingMessage) -> OutboundRequest:
        payload = {"type": message.event_type, "timestamp": iso(message.occurred_at), "data": message.data}
        raw = json_bytes(payload)
        now = message.now
        signatures = [Webhook(key).sign(message.message_id, now, raw.decode()) for key in message.signing_secrets]
        headers = json_headers() | {
            "webhook-id": message.message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": " ".join(signatures),  # the spec's list: a receiver accepts any one
        }
        return OutboundRequest(str(message.url), raw, headers)


WEBHOOK = SignedWebhook()
