"""`make dev` as its tables grow: webhook write latency and process memory from an empty store to 10,000
alerts (moto alone copied a whole table per transaction: 8.6 ms per write empty, 171 ms at 4,000 items,
4.6 GB). Targets: latency at the end within 2x of the start, RSS under 1 GB. Loopback only."""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ALERTS = int(os.environ.get("BENCH_LOCAL_ALERTS", "10000"))
SAMPLE = 200


def rss_mb() -> float:
    with open("/proc/self/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    import httpx

    from arrowhook_tools.cli.samples import strategy_alert
    from arrowhook_tools.local.stack import DEMO_SECRET, local_stack, seed_demo_key
    from arrowhook_tools.standins.embedded_aws import dynamodb

    overrides = {"WebhookRateLimit": "100000", "WebhookBurstLimit": "100000"}
    real_stdout, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115 - handler logs would swamp the figures
    try:
        with local_stack(api_port=0, aws_port=0, parameter_overrides=overrides) as stack:
            assert stack.api is not None
            seed_demo_key(stack.template, dynamodb(stack.aws.endpoint))
            latencies: list[float] = []
            with httpx.Client(base_url=stack.api.url, timeout=60) as http:
                for _ in range(ALERTS):
                    body = strategy_alert(DEMO_SECRET, nonce=uuid.uuid4().hex)
                    started = time.perf_counter()
                    response = http.post(
                        "/webhook", content=body.encode(), headers={"Content-Type": "application/json"}
                    )
                    latencies.append(time.perf_counter() - started)
                    assert response.status_code == 200, response.text
            memory = rss_mb()
    finally:
        sys.stdout.close()
        sys.stdout = real_stdout
    first = statistics.median(latencies[:SAMPLE]) * 1000
    last = statistics.median(latencies[-SAMPLE:]) * 1000
    print(f"Local stack as it grows ({ALERTS} alerts through the local HTTP API, one at a time)")
    print(f"  webhook write, first {SAMPLE} (median)   {first:7.1f} ms")
    print(f"  webhook write, last {SAMPLE} (median)    {last:7.1f} ms   ratio {last / first:.2f} (target <= 2)")
    print(f"  process RSS at the end                 {memory:7.0f} MB  (target < 1024)")


if __name__ == "__main__":
    main()
