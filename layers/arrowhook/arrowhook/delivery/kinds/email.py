"""Email through the stack's AlertEmail topic (SNS): plain text, no credential of its own."""

from __future__ import annotations

from arrowhook.delivery.kinds.base import MessageLimit, NoChatId, OutboundRequest, OutgoingMessage


class Email(NoChatId):
    name = "email"
    default_template = "{strategy}: {side} {ticker} @ {price} (qty {quantity})\n{message}\nalert {alert_id}"
    limit: MessageLimit | None = None
    via_email = True
    takes_url = False
    signs = False

    def escape(self, value: str) -> str:
        """Plain text needs no escaping."""
        return value

    def credentials(self, url: str | None, bot_token: str | None, *, allow_http: bool) -> tuple[dict[str, str], str]:
        return {}, "AlertEmail topic"

    def request(self, message: OutgoingMessage) -> OutboundRequest:
        raise ValueError("email is not sent over HTTP")


EMAIL = Email()
