"""CLI responsiveness against a running local stack: `arrowhook --help`, `alerts list`, `alerts stats`.

Each command runs in a fresh process, as a person types it (imports included), against a local stack
this script starts and fills. Prints medians beside the targets. `make bench`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

RUNS = int(os.environ.get("BENCH_CLI_RUNS", "7"))
ALERTS = int(os.environ.get("BENCH_CLI_ALERTS", "10000"))
TARGETS = {"--help": 0.4, "alerts list": 0.8, "alerts stats --since 90d": 0.5}


def _median_seconds(command: list[str], environment: dict[str, str]) -> float:
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        finished = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
        timings.append(time.perf_counter() - started)
        if finished.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {finished.stdout}{finished.stderr}")
    return statistics.median(timings)


def main() -> None:
    from arrowhook.alerts.daily_counts import DailyCounts
    from arrowhook.alerts.store import AlertStore
    from arrowhook.core.models import StoredAlert, new_id
    from arrowhook.core.tradingview import AlertFields, Side
    from arrowhook_tools.local.stack import local_stack
    from arrowhook_tools.standins.embedded_aws import dynamodb

    cli = str(Path(sys.executable).parent / "arrowhook")
    sys.stdout.flush()
    real_stdout, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115 - handler logs would swamp the table
    try:
        with local_stack(api_port=0, aws_port=0) as stack:
            assert stack.api is not None
            table, client = stack.template.physical_name("AlertsTable"), dynamodb(stack.aws.endpoint)
            store = AlertStore(table, client=client)
            start = datetime.now(UTC) - timedelta(days=89)
            step = timedelta(days=89) / ALERTS
            for number in range(ALERTS):
                received = start + step * number
                store.put(
                    StoredAlert(
                        alert_id=new_id(int(received.timestamp() * 1000)),
                        key_id=f"K{number % 3}",
                        strategy=("alpha", "beta", "gamma")[number % 3],
                        received_at=received,
                        body_format="json",
                        payload='{"key": "***", "ticker": "BTCUSDT", "action": "buy"}',
                        fields=AlertFields(
                            ticker=("BTCUSDT", "ETHUSD", "AAPL")[number % 3],
                            side=list(Side)[number % 3],
                            price=Decimal(1),
                        ),
                    ),
                    f"bench-cli-{number}",
                    0,
                )
            # The daily housekeeping run counts closed days (as the schedule would have, every night).
            DailyCounts(table, client=client).count_closed_days(
                datetime.now(UTC).date(), not_before=start.date() - timedelta(days=1)
            )
            environment = {
                **os.environ,
                "ARROWHOOK_API_URL": stack.api.url,
                "ARROWHOOK_ADMIN_TOKEN": stack.admin_token,
                "NO_COLOR": "1",
            }
            measured = {
                "--help": _median_seconds([cli, "--help"], environment),
                "alerts list": _median_seconds([cli, "alerts", "list"], environment),
                "alerts stats --since 90d": _median_seconds([cli, "alerts", "stats", "--since", "90d"], environment),
            }
    finally:
        sys.stdout.close()
        sys.stdout = real_stdout
    print(f"CLI, fresh process per command, median of {RUNS}, local stack with {ALERTS:,} alerts over 89 days")
    for command, seconds in measured.items():
        target = TARGETS[command]
        verdict = "meets" if seconds <= target else "MISSES"
        print(f"  arrowhook {command:26} {seconds:6.2f} s   {verdict} the target <= {target:.1f} s")


if __name__ == "__main__":
    main()
