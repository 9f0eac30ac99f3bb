"""Delivery figures: webhook 200 -> destination request on the local stack (p50, p99, target: no worse
than the 0.4 s before lanes), deliveries per second through the lanes, and the AWS cost per million
deliveries; the lanes' targets: how much a destination that never answers delays a healthy destination
of the same and of another strategy (target: under 1 s per alert, 24 s before lanes), and a receiver
down for 5 minutes (the embedded SQS clock moved) gets every alert once, in order; then signal health:
webhook 200 -> the alert's health written (the sequence check settles first), and what the checks add.

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
import uuid
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[2] / part) for part in ("tools", "layers/arrowhook", ".")]

import httpx  # noqa: E402

from arrowhook.aws.dynamodb import dynamodb_client  # noqa: E402
from arrowhook_tools.cli.samples import strategy_alert  # noqa: E402
from arrowhook_tools.generators.costs import PRICES, SQS_IDLE_POLLING_MONTHLY, delivery_cost_per_million  # noqa: E402
from arrowhook_tools.local.stack import DEMO_SECRET, LocalStack, local_stack, seed_demo_key  # noqa: E402
from arrowhook_tools.standins.receivers import Receivers, Scripted, Silent  # noqa: E402

ALERTS = int(os.environ.get("BENCH_DELIVERY_ALERTS", "200"))
BATCH_ALERTS = int(os.environ.get("BENCH_DELIVERY_BATCH_ALERTS", "300"))
HEALTH_ALERTS = int(os.environ.get("BENCH_DELIVERY_HEALTH_ALERTS", "20"))
LANE_ALERTS = int(os.environ.get("BENCH_DELIVERY_LANE_ALERTS", "12"))
#: Before lanes (issue 25): p50 webhook -> destination, and a healthy destination's gap per alert while
#: another destination timed out.
P50_BEFORE_SECONDS = 0.4
HANGING_DELAY_BEFORE_SECONDS = 24.0
HANGING_DELAY_TARGET_SECONDS = 1.0
#: What the function waits for a real destination's answer (Discord, Telegram: a few hundred ms).
DESTINATION_SECONDS = 0.25
MEMORY_GB = 0.25


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def new_strategy(admin: httpx.Client) -> tuple[str, str]:
    created = admin.post("/keys", json={"name": f"bench-{uuid.uuid4().hex[:8]}"})
    assert created.status_code == 201, created.text
    return created.json()["name"], created.json()["secret"]


def add_destination(admin: httpx.Client, strategy: str, url: str, **values: object) -> None:
    created = admin.post("/destinations", json={"kind": "webhook", "strategies": [strategy], "url": url, **values})
    assert created.status_code == 201, created.text


def hanging_destination_delay(
    admin: httpx.Client, webhook: httpx.Client, receivers: Receivers
) -> tuple[float, float, float]:
    """Mean seconds from the webhook's request to a healthy destination's, per alert: with no hanging
    destination, beside a hanging one of the same strategy, and after each alert of another strategy
    whose destination hangs."""
    silent = Silent().start()
    means: list[float] = []
    try:
        for case in ("alone", "same", "other"):
            strategy, secret = new_strategy(admin)
            path = f"/hook/lanes-{uuid.uuid4().hex[:8]}"
            add_destination(admin, strategy, f"{receivers.url}{path}")
            hung_strategy, hung_secret = (strategy, secret) if case != "other" else new_strategy(admin)
            if case != "alone":
                add_destination(admin, hung_strategy, f"{silent.url}/hook/hung-{case}", timeout_seconds=10)
            delays: list[float] = []
            for number in range(LANE_ALERTS):
                if case == "other":
                    webhook.post("/webhook", content=strategy_alert(hung_secret).replace("65000.50", f"7{number}.5"))
                sent_at = time.monotonic()
                body = strategy_alert(secret).replace("65000.50", f"{number}.5")
                assert webhook.post("/webhook", content=body).status_code == 200
                arrived = receivers.wait_for(path, number + 1, timeout=120)
                delays.append(arrived[number].at - sent_at)
            means.append(statistics.mean(delays))
    finally:
        silent.stop()
    return means[0], means[1], means[2]


def attempted(admin: httpx.Client, alert_id: str, attempts: int, timeout: float = 120) -> None:
    """Until the alert's delivery record shows this many attempts: its retry is scheduled (the message
    hidden), so moving the queue's clock now reaches that retry and not an earlier moment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deliveries = admin.get(f"/alerts/{alert_id}").json().get("deliveries") or []
        if deliveries and deliveries[0]["attempts"] >= attempts:
            return
        time.sleep(0.1)
    raise TimeoutError(f"{alert_id}: not {attempts} attempts in {timeout} s")


def down_for_five_minutes(stack: LocalStack, admin: httpx.Client, webhook: httpx.Client, receivers: Receivers) -> str:
    """A receiver answering 503 until the schedule's second retry (5 s, then 5 minutes on the embedded SQS
    clock): are all alerts delivered, each once, in order, with no operator action?"""
    strategy, secret = new_strategy(admin)
    path = f"/hook/down-{uuid.uuid4().hex[:8]}"
    receivers.script(path, Scripted(503, "down"), Scripted(503, "down"))
    add_destination(admin, strategy, f"{receivers.url}{path}")
    sent = []
    for number in range(5):
        body = strategy_alert(secret).replace("65000.50", f"{number}.5")
        sent.append(webhook.post("/webhook", content=body).json()["alert_id"])
    attempted(admin, sent[0], 1)
    stack.aws.advance(7)  # the first wait: 5 s, jittered by up to a fifth
    attempted(admin, sent[0], 2)
    stack.aws.advance(361)  # the second: 5 minutes
    arrived = receivers.wait_for(path, 2 + len(sent), timeout=120)
    forwarded = [item.json()["data"]["alert_id"] for item in arrived[2:]]
    return "every alert once, in order" if forwarded == sent else f"NOT in order or not once: {forwarded}"


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
            webhook.post("/webhook", content=strategy_alert(DEMO_SECRET).replace("65000.50", f"9{number:05d}.5"))
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
            while not (admin.get(f"/alerts/{alert_id}").json().get("health") or {}).get("checked_at"):
                time.sleep(0.05)
            settled.append(time.monotonic() - sent_at)
        settle_seconds = float(stack.template.parameters["SignalSettleSeconds"])

        # 4. Lanes: a hanging destination beside healthy ones; a receiver down for five minutes.
        lanes = hanging_destination_delay(admin, webhook, receivers)
        outage = down_for_five_minutes(stack, admin, webhook, receivers)
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
    p50 = percentile(latencies, 0.5)
    print(
        f"  p50 {p50:.2f} s against {P50_BEFORE_SECONDS:.1f} s before lanes: ratio {p50 / P50_BEFORE_SECONDS:.2f} "
        f"({'meets' if p50 <= P50_BEFORE_SECONDS * 1.1 else 'misses'} 'no worse', 10% noise allowed)"
    )
    print(f"  {delivered} stored alerts drained through one lane (in order): {per_second:6.1f} deliveries/s")
    print("AWS cost per million deliveries (alert, destination) through the lanes (each alert its own batch;")
    answer_ms, memory_mb = DESTINATION_SECONDS * 1000, MEMORY_GB * 1024
    print(f"a destination answering in {answer_ms:.0f} ms, {memory_mb:.0f} MB arm64, prices in costs.py):")
    costs = delivery_cost_per_million(cpu_per_delivery + DESTINATION_SECONDS)
    for item, dollars in costs.items():
        print(f"  {item:58} ${dollars:5.2f}")
    print(f"  {'total':58} ${sum(costs.values()):5.2f}")
    print(
        f"  idle: Lambda's long polling of the lanes' FIFO queue, ~${SQS_IDLE_POLLING_MONTHLY['fifo']:.2f} a month "
        "(an estimate; within SQS's always-free million requests)"
    )
    print(f"Lanes, {LANE_ALERTS} alerts each, a healthy destination's mean wait per alert (webhook -> its request):")
    alone, same, other = lanes
    for label, seconds in (("alone", alone), ("beside a hanging destination, same strategy", same),
                           ("after another strategy's alert to a hanging destination", other)):  # fmt: skip
        print(f"  {label:58} {seconds:6.2f} s")
    worst = max(same, other) - alone
    better = HANGING_DELAY_BEFORE_SECONDS / max(worst, 0.01)
    mark = "meets" if worst < HANGING_DELAY_TARGET_SECONDS else "misses"
    print(
        f"  added delay {worst:5.2f} s per alert: {mark} the target < {HANGING_DELAY_TARGET_SECONDS:.0f} s "
        f"(before lanes {HANGING_DELAY_BEFORE_SECONDS:.0f} s: {better:.0f}x better)"
    )
    print(f"  a receiver down for 5 minutes (503, then back): {outage}, no operator action")
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
