"""Lambda's log pipeline turns each embedded-metric-format (EMF) line a function prints into CloudWatch
metrics; locally, this does it for the embedded CloudWatch, so what reads metrics back (the console's
rejections by reason) sees what it would see deployed.

Powertools prints EMF with the builtin `print`; the two Powertools modules that do are given a `print`
that also hands the line to a background thread, which publishes it with PutMetricData. The functions'
own code is untouched and still prints the line as on Lambda."""

from __future__ import annotations

import builtins
import json
import queue
import sys
import threading
from datetime import UTC, datetime
from typing import Any

from arrowhook_tools.standins import embedded_aws
from arrowhook_tools.standins.meter import OBSERVER, calling_as

_EMF_MODULES = (
    "aws_lambda_powertools.metrics.base",
    "aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch",
)


def metric_data(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(namespace, PutMetricData entry) for every metric one EMF document declares."""
    directive = document["_aws"]
    moment = datetime.fromtimestamp(int(directive["Timestamp"]) / 1000, UTC)
    entries = []
    for declared in directive["CloudWatchMetrics"]:
        for dimension_set in declared["Dimensions"] or [[]]:
            dimensions = [{"Name": name, "Value": str(document[name])} for name in dimension_set]
            for metric in declared["Metrics"]:
                raw = document[metric["Name"]]
                values = [float(value) for value in (raw if isinstance(raw, list) else [raw])]
                entry = {
                    "MetricName": metric["Name"],
                    "Dimensions": dimensions,
                    "Values": values,
                    "Unit": metric.get("Unit", "None"),
                    "Timestamp": moment,
                }
                entries.append((declared["Namespace"], entry))
    return entries


#: Stacks publishing now, newest last: a line goes to the newest (one `make dev`, or the test's own).
_active: list[MetricLogs] = []
_lock = threading.Lock()


def _emf_print(*values: Any, **options: Any) -> None:
    """Powertools' `print`: prints as ever, and hands an EMF line to the newest running stack."""
    builtins.print(*values, **options)
    if len(values) == 1 and isinstance(values[0], str) and values[0].startswith('{"_aws"'):
        with _lock:
            target = _active[-1] if _active else None
        if target is not None:
            target.lines.put(values[0])


def _install() -> None:
    """Once per process, and never undone (with no stack running, `_emf_print` only prints)."""
    import importlib

    for name in _EMF_MODULES:
        module = importlib.import_module(name)
        module.print = _emf_print  # type: ignore[attr-defined]


class MetricLogs:
    """Publishes the EMF lines printed in this process to one endpoint's CloudWatch, until stopped."""

    def __init__(self, endpoint: str) -> None:
        self._client = embedded_aws.client("cloudwatch", endpoint)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._publish, name="metric-logs", daemon=True)

    def start(self) -> MetricLogs:
        _install()
        self._thread.start()
        with _lock:
            _active.append(self)
        return self

    def _publish(self) -> None:
        while (line := self.lines.get()) is not None:
            try:
                for namespace, entry in metric_data(json.loads(line)):
                    # CloudWatch reads embedded metrics from the logs: no API call in AWS, nothing to meter
                    # (the line's bytes are the function's log ingestion; each metric is a monthly cost).
                    with calling_as(OBSERVER):
                        self._client.put_metric_data(Namespace=namespace, MetricData=[entry])
            except Exception as error:
                builtins.print(f"metric not published locally: {error}", file=sys.stderr)

    def stop(self) -> None:
        with _lock:
            if self in _active:
                _active.remove(self)
        self.lines.put(None)
        self._thread.join(timeout=10)
