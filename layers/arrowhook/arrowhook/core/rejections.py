"""Why the webhook refused a request: the codes its error answers carry, which are also the `reason`
dimension of the WebhookRejections metric the console's overview reads back."""

from __future__ import annotations

from enum import StrEnum


class RejectionReason(StrEnum):
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    EMPTY_BODY = "empty_body"
    BAD_ENCODING = "bad_encoding"
    BAD_REQUEST = "bad_request"
    NOT_FOUND = "not_found"
    UNAVAILABLE = "unavailable"  # a 503: the store failed and the alert was not stored


#: What each reason means to a trader reading the overview.
REASON_MEANINGS: dict[RejectionReason, str] = {
    RejectionReason.UNAUTHORIZED: "no key, an unknown one, or a disabled or expired one",
    RejectionReason.FORBIDDEN: "the source address is not in AllowedSourceIps",
    RejectionReason.PAYLOAD_TOO_LARGE: "a body over MaxBodyBytes",
    RejectionReason.EMPTY_BODY: "an empty body",
    RejectionReason.BAD_ENCODING: "a body that is not UTF-8 text",
    RejectionReason.BAD_REQUEST: "not an HTTP API request",
    RejectionReason.NOT_FOUND: "a route the webhook does not serve (API Gateway answers other paths itself)",
    RejectionReason.UNAVAILABLE: "DynamoDB failed after the retry: not stored, the sender should retry",
}
