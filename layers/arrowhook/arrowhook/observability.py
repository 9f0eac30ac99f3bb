"""The one place that builds Powertools' Logger and Metrics; Tracer is opt-in per function (see traced)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()

__all__ = ["MetricUnit", "logger", "metrics", "traced", "tracing_enabled"]

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])


def tracing_enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() not in ("1", "true", "yes", "on")


def traced(handler: HandlerT) -> HandlerT:
    """Wrap a handler with Powertools Tracer only when tracing is switched on.

    Building a `Tracer` imports the X-Ray SDK even when tracing is disabled, which costs the webhook
    about a third of its cold start (tests/bench/bench_webhook.py measures it). Functions where that
    matters set POWERTOOLS_TRACE_DISABLED from a template parameter and skip the import entirely.
    """
    if not tracing_enabled():
        return handler
    from aws_lambda_powertools import Tracer

    tracer = Tracer()
    return cast(HandlerT, tracer.capture_lambda_handler(handler))
