"""Delivery figures: webhook 200 -> destination request on the local stack (p50, p99), deliveries per
second of one delivery function, and the AWS cost per million alerts delivered to one destination; then
signal health: webhook 200 -> the alert's health written (the sequence check settles first), and what
the checks add per million alerts.

Run: `python tests/bench/bench_delivery.py` (part of `make bench`). The webhook's own cold start and
warm CPU are bench_webhook.py's and cold_start_lambda.py's: delivery adds nothing to its code path.
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[2] / part) for part in ("tools", "layers/arrowhook", ".")]

import httpx  # noqa: E402

from arrowhook.dynamodb import dynamodb_client  # noqa: E402
from arrowhook_tools.costs import PRICES  # noqa: E402
from arrowhook_tools.local import DEMO_SECRET, local_stack, seed_demo_key  # noqa: E402
from arrowhook_tools.receivers import Receivers  # noqa: E402
from arrowhook_tools.samples import strategy_alert  # noqa: E402

ALERTS = int(os.environ.get("BENCH_DELIVERY_ALERTS", "200"))
BATCH_ALERTS = int(os.environ.get("BENCH_DELIVERY_BATCH_ALERTS", "300"))
HEALTH_ALERTS = int(os.environ.get("BENCH_DELIVERY_HEALTH_ALERTS", "20"))
#: What the function waits for a real destination's answer (Discord, Telegram: a few hundred ms).
DESTINATION_SECONDS = 0.25
MEMORY_GB = 0.25


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def cost_per_million(cpu_seconds_per_delivery: float) -> dict[str, float]:
    """One alert, one destination, each alert its own stream batch (the worst case: a quiet stack)."""
    seconds = cpu_seconds_per_delivery + DESTINATION_SECONDS
    return {
        "Lambda requests": PRICES["lambda_requests_per_million"],
        "Lambda duration": seconds * MEMORY_GB * PRICES["lambda_arm_gb_second"] * 1_000_000,
        "record read (consistent) + write": PRICES["dynamodb_read_units_per_million"]
        + PRICES["dynamodb_write_units_per_million"],
        "destinations query (per batch)": PRICES["dynamodb_read_units_per_million"] / 2,
        "stream reads (free for Lambda)": 0.0,
    }


#: An alert item as the webhook stores it is about 1 KB: an UpdateItem is billed on the larger of the
#: item before and after, so writing `health` costs about 2 write units.
HEALTH_WRITE_UNITS = 2
#: The AlertLag embedded-metric line per alert (CloudWatch Logs ingestion).
LAG_LINE_BYTES = 350
CHECK_CPU_SECONDS = 0.05


def health_cost_per_million() -> dict[str, float]:
    """What the signal checks add per million alerts: every alert (lag written and published) and, for
    alerts whose sequence is checked, the queue round trip and the reads."""
    every = {
        "health written on the alert (~2 write units)": HEALTH_WRITE_UNITS * PRICES["dynamodb_write_units_per_million"],
        "AlertLag metric line (logs ingestion)": LAG_LINE_BYTES
        / 1e9
        * 1_000_000
        * PRICES["cloudwatch_logs_ingest_per_gb"],
    }
    checked = {
        "signal-check queue: send, receive, delete": 3 * PRICES["sqs_requests_per_million"],
        "check invocation (alone in its batch)": PRICES["lambda_requests_per_million"]
        + CHECK_CPU_SECONDS * MEMORY_GB * PRICES["lambda_arm_gb_second"] * 1_000_000,
        "alert read (consistent) + neighbours query": 1.5 * PRICES["dynamodb_read_units_per_million"],
    }
    return {**{f"every alert: {k}": v for k, v in every.items()}, **{f"checked: {k}": v for k, v in checked.items()}}


def main() -> None:
    receivers = Receivers().start()
    overrides = {"KeyCacheTtlSeconds": "0", "WebhookRateLimit": "100000", "WebhookBurstLimit": "100000"}
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet), local_stack(api_port=0, parameter_overrides=overrides) as stack:
        assert stack.api is not None
        seed_demo_key(stack.template, dynamodb_client())
        admin = httpx.Client(
            base_url=stack.api.url, headers={"Authorization": f"Bearer {stack.admin_token}"}, timeout=30
        )
        created = admin.post(
            "/destinations", json={"kind": "webhook", "strategies": ["demo"], "url": f"{receivers.url}/hook/bench"}
        )
        assert created.status_code == 201, created.text
        webhook = httpx.Client(base_url=stack.api.url, timeout=30)

        # 1. Latency: one alert at a time, from posting it to the webhook to the destination's request
        #    (the delivery can arrive before the webhook's 200 has reached the client).
        latencies: list[float] = []
        for number in range(ALERTS):
            before = len(receivers.at("/hook/bench"))
            sent_at = time.monotonic()
            answered = webhook.post("/webhook", content=strategy_alert(DEMO_SECRET).replace("65000.50", f"{number}.5"))
            assert answered.status_code == 200
            arrived = receivers.wait_for("/hook/bench", before + 1, timeout=60)
            latencies.append(arrived[before].at - sent_at)

        # 2. Throughput of one function: a burst stored first, then drained by the stream consumer.
        burst_start = len(receivers.at("/hook/bench"))
        for number in range(BATCH_ALERTS):
            webhook.post("/webhook", content=strategy_alert(DEMO_SECRET).replace("65000.50", f"9{number}.5"))
        started = time.monotonic()
        first = receivers.wait_for("/hook/bench", burst_start + 1, timeout=120)[burst_start].at
        done = receivers.wait_for("/hook/bench", burst_start + BATCH_ALERTS, timeout=600)
        drained = done[-1].at - min(first, started)
        delivered = len(done) - burst_start

        # 3. Signal health: an alert whose sequence is checked, from the webhook's 200 to its health.
        settled: list[float] = []
        positions = [("flat", "long", "buy"), ("long", "flat", "sell")]
        for number in range(HEALTH_ALERTS):
            prev, position, side = positions[number % 2]
            body = strategy_alert(
                DEMO_SECRET, ticker="HEALTH", prev_market_position=prev, market_position=position, action=side,
                comment=f"h{number}",
            )  # fmt: skip
            sent_at = time.monotonic()
            alert_id = webhook.post("/webhook", content=body).json()["alert_id"]
            while not admin.get(f"/alerts/{alert_id}").json().get("health"):
                time.sleep(0.05)
            settled.append(time.monotonic() - sent_at)
        settle_seconds = float(stack.template.parameters["SignalSettleSeconds"])
    receivers.stop()

    per_second = delivered / drained if drained > 0 else float("nan")
    # An upper bound on the function's own time per delivery: locally it shares the cores with moto.
    cpu_per_delivery = 1 / per_second if per_second > 0 else 0.0
    print(f"Delivery, local stack (webhook destination on loopback), {ALERTS} alerts one at a time:")
    print(
        f"  webhook request -> destination request  p50 {percentile(latencies, 0.5) * 1000:6.0f} ms   "
        f"p99 {percentile(latencies, 0.99) * 1000:6.0f} ms   (mean {statistics.mean(latencies) * 1000:.0f} ms; "
        "includes the local stream poll, 0.1 s)"
    )
    print(f"  one delivery function, {delivered} stored alerts drained: {per_second:6.1f} deliveries/s")
    print("AWS cost per million alerts delivered to one destination (each alert its own batch; a destination")
    print(f"answering in {DESTINATION_SECONDS * 1000:.0f} ms, {MEMORY_GB * 1024:.0f} MB arm64, prices in costs.py):")
    costs = cost_per_million(cpu_per_delivery)
    for item, dollars in costs.items():
        print(f"  {item:38} ${dollars:5.2f}")
    print(f"  {'total':38} ${sum(costs.values()):5.2f}")
    print("  with EventBus=on, per million alerts: Pipe $0.40 + custom bus PutEvents $1.00 = $1.40")
    print(f"Signal health, {HEALTH_ALERTS} alerts carrying prev_market_position (settle {settle_seconds:.0f} s):")
    print(
        f"  webhook request -> health on the alert  p50 {percentile(settled, 0.5):5.2f} s   "
        f"p99 {percentile(settled, 0.99):5.2f} s   (the settle delay is {settle_seconds:.0f} s of it; deliveries do "
        "not wait for it)"
    )
    print("Added AWS cost per million alerts (prices in costs.py):")
    health = health_cost_per_million()
    for item, dollars in health.items():
        print(f"  {item:62} ${dollars:5.2f}")
    every = sum(dollars for item, dollars in health.items() if item.startswith("every"))
    print(f"  {'total, alerts without a sequence check':62} ${every:5.2f}")
    print(f"  {'total, alerts whose sequence is checked':62} ${sum(health.values()):5.2f}")
    print("  per strategy publishing AlertLag: one custom metric, $0.30 a month while it sends")


if __name__ == "__main__":
    main()
