"""The one TradingView-shaped alert that the CLI's curl line, the tests and the benchmark all send, and
what each sample event in events/ is answered with."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


def strategy_alert(secret: str, **overrides: Any) -> str:
    """A Pine strategy's JSON alert after placeholder substitution; overrides replace or add fields."""
    body: dict[str, Any] = {
        "key": secret,
        "ticker": "BTCUSDT",
        "exchange": "BINANCE",
        "action": "buy",
        "price": "65000.50",
        "contracts": "0.015",
        "time": "2026-11-22T10:00:00Z",
        "timenow": "2026-11-22T10:00:01Z",
    }
    body.update(overrides)
    return json.dumps(body)


@dataclass(frozen=True)
class SampleEvent:
    """One file of events/: the function it is for, and the answer docs/development.md's table promises
    (`arrowhook invoke` and `make sam-local` run it against a stack holding the demo key)."""

    file: str
    function_id: str
    answer: str
    status: int | None = None  # webhook samples: the HTTP status
    fields: tuple[tuple[str, Any], ...] = ()  # other functions: fields the result must hold

    def accepts(self, result: Any) -> bool:
        if not isinstance(result, dict):
            return False
        if self.status is not None:
            return result.get("statusCode") == self.status
        return all(name in result and (value is ANY or result[name] == value) for name, value in self.fields)


#: Stands for "any value" in SampleEvent.fields.
ANY: Any = object()

SAMPLE_EVENTS = (
    SampleEvent("webhook-strategy-alert.json", "WebhookFunction", "200", status=200),
    SampleEvent("webhook-indicator-alert.json", "WebhookFunction", "200, with a parse issue", status=200),
    SampleEvent("webhook-text-token.json", "WebhookFunction", "200", status=200),
    SampleEvent("webhook-malformed-json.json", "WebhookFunction", "200, stored raw with a parse issue", status=200),
    SampleEvent("webhook-bad-key.json", "WebhookFunction", "401", status=401),
    SampleEvent(
        "delivery-alert-stored.json",
        "DeliveryFunction",
        '`{"batchItemFailures": []}`, after recording and enqueueing for any destination that applies',
        fields=(("batchItemFailures", []),),
    ),
    SampleEvent(
        "sender-lane-message.json",
        "SenderFunction",
        '`{"batchItemFailures": []}`: one attempt, recorded (nothing to send when destination D1 does not exist)',
        fields=(("batchItemFailures", []),),
    ),
    SampleEvent(
        "delivery-signal-check.json",
        "DeliveryFunction",
        '`{"batchItemFailures": []}` (an alert that is not stored has nothing to flag)',
        fields=(("batchItemFailures", []),),
    ),
    SampleEvent(
        "delivery-signal-watch.json",
        "DeliveryFunction",
        '`{"watched": 0, "silent": [], ...}`: what was notified',
        fields=(("watched", ANY), ("silent", [])),
    ),
    SampleEvent(
        "archive-schedule.json",
        "ArchiveFunction",
        '`{"status": "complete", "archived": ...}`: the nightly run',
        fields=(("status", "complete"), ("archived", ANY)),
    ),
    SampleEvent(
        "archive-dry-run.json",
        "ArchiveFunction",
        '`{"status": "dry_run", "would_archive": ...}`: what a run would move',
        fields=(("status", "dry_run"), ("would_archive", ANY)),
    ),
)
