"""Console figures: page weight (bytes a browser transfers for each page, assets included) and each
page's server time against the admin API call that reads the same data.

Targets (issue 16): the first page under 300 KB transferred; each page's server time at most the
matching admin API call's plus 20 %. Server time is measured the way both are served locally: a request
through the local HTTP API, median of paired runs (page, then API call, alternating).

Live rows (webhook -> row on an open page) and an idle page's requests: bench_live.py.

Run: `python tests/bench/bench_console.py` (part of `make bench`).
"""

from __future__ import annotations

import contextlib
import io
import re
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[2] / part) for part in ("tools", "layers/arrowhook", ".")]

import httpx  # noqa: E402

from arrowhook.aws.dynamodb import dynamodb_client  # noqa: E402
from arrowhook_tools.cli.samples import strategy_alert  # noqa: E402
from arrowhook_tools.local.stack import DEMO_SECRET, local_stack, seed_demo_key  # noqa: E402

ALERTS = 500
PAIRS = 30
FIRST_PAGE_LIMIT = 300 * 1024
TIME_TARGET = 1.20
ASSET = re.compile(r'(?:src|href)="(/console/static/[^"]+)"')


def transferred(client: httpx.Client, path: str) -> tuple[int, int]:
    """Bytes of the page and of every asset it links (what a first visit transfers), and the asset count."""
    page = client.get(path)
    total, assets = len(page.content) + sum(len(k) + len(v) for k, v in page.headers.items()), 0
    for asset in sorted(set(ASSET.findall(page.text))):
        answer = client.get(asset)
        total += len(answer.content) + sum(len(k) + len(v) for k, v in answer.headers.items())
        assets += 1
    return total, assets


def paired(console: httpx.Client, api: httpx.Client, page: str, *calls: str) -> tuple[float, float, float]:
    """The page against the admin API calls a client makes for the same data (their times summed)."""
    ratios, page_times, api_times = [], [], []
    for _ in range(PAIRS):
        started = time.perf_counter()
        assert console.get(page).status_code == 200
        page_seconds = time.perf_counter() - started
        started = time.perf_counter()
        for call in calls:
            assert api.get(call).status_code == 200
        api_seconds = time.perf_counter() - started
        page_times.append(page_seconds)
        api_times.append(api_seconds)
        ratios.append(page_seconds / api_seconds)
    return statistics.median(page_times), statistics.median(api_times), statistics.median(ratios)


def main() -> None:
    overrides = {"KeyCacheTtlSeconds": "0", "WebhookRateLimit": "100000", "WebhookBurstLimit": "100000",
                 "ApiRateLimit": "100000", "ApiBurstLimit": "100000"}  # fmt: skip
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet), local_stack(api_port=0, parameter_overrides=overrides) as stack:
        assert stack.api is not None
        seed_demo_key(stack.template, dynamodb_client())
        webhook = httpx.Client(base_url=stack.api.url, timeout=30)
        alert_ids = [
            webhook.post("/webhook", content=strategy_alert(DEMO_SECRET, comment=f"bench {n}")).json()["alert_id"]
            for n in range(ALERTS)
        ]
        console = httpx.Client(base_url=stack.api.url, timeout=30, follow_redirects=True)
        console.post("/console/login", data={"token": stack.admin_token})
        api = httpx.Client(base_url=stack.api.url, timeout=30, headers={"Authorization": f"Bearer {stack.admin_token}"})
        weights = {path: transferred(console, path) for path in ("/console/alerts", "/console/overview")}
        pairs = {
            "alerts (50 rows)": paired(console, api, "/console/alerts", "/alerts?limit=50"),
            "alert detail": paired(console, api, f"/console/alerts/{alert_ids[7]}", f"/alerts/{alert_ids[7]}"),
            # The page shows each key's last alert and today's count: /keys, then two calls per key.
            "strategies": paired(
                console,
                api,
                "/console/strategies",
                "/keys",
                "/alerts?strategy=demo&limit=1",
                f"/alerts/stats?strategy=demo&since={datetime.now(UTC):%Y-%m-%d}",
            ),
        }

    print(f"Console on the local stack, {ALERTS} alerts")
    print("Page weight, first visit (page + every asset it links, headers included):")
    for path, (size, assets) in weights.items():
        verdict = "meets" if size <= FIRST_PAGE_LIMIT else "MISSES"
        print(f"  {path:20} {size / 1024:7.1f} KB  ({assets} assets)  {verdict} the target <= 300 KB")
    print(f"Server time, median of {PAIRS} paired requests (page, then the admin API call for the same data):")
    for name, (page_seconds, api_seconds, ratio) in pairs.items():
        verdict = "meets" if ratio <= TIME_TARGET else "MISSES"
        print(
            f"  {name:18} page {page_seconds * 1000:6.1f} ms  API {api_seconds * 1000:6.1f} ms  "
            f"ratio {ratio:4.2f}  {verdict} the target <= {TIME_TARGET:.2f}"
        )


if __name__ == "__main__":
    main()
