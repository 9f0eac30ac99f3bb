"""1,000 alerts through the local stack, then every filter combination read back across pages."""

from __future__ import annotations

import csv
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import product
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import DevStack

pytestmark = pytest.mark.integration
SIDES = ("buy", "sell", "close")


@dataclass(frozen=True)
class Sent:
    alert_id: str
    strategy: str
    ticker: str
    side: str


@dataclass(frozen=True)
class Batch:
    sent: list[Sent]
    strategies: list[str]
    tickers: list[str]
    since: str
    received: dict[str, datetime]


@pytest.fixture(scope="module")
def batch(dev_stack: DevStack) -> Batch:
    tag = uuid.uuid4().hex[:6].upper()
    headers = {"Authorization": f"Bearer {dev_stack.admin_token}"}
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    with httpx.Client(base_url=dev_stack.api_url, timeout=60) as http:
        keys = [http.post("/keys", json={"name": f"q{tag}-{n}"}, headers=headers).json() for n in range(3)]
        tickers = [f"T{tag}{n}" for n in range(5)]

        def send(number: int) -> Sent:
            key, ticker, side = keys[number % 3], tickers[number % 5], SIDES[number % 7 % 3]
            body = {"key": key["secret"], "ticker": ticker, "action": side, "price": f"{number}.25", "n": number}
            response = http.post("/webhook", content=json.dumps(body), headers={"Content-Type": "application/json"})
            assert response.status_code == 200, response.text
            return Sent(response.json()["alert_id"], key["name"], ticker, side)

        with ThreadPoolExecutor(32) as pool:
            sent = list(pool.map(send, range(1000)))
        received = {}
        for key in keys:
            for page in _pages(http, headers, {"strategy": key["name"], "limit": 500}):
                # Parsed, not compared as text: "…:24Z" (no fraction) sorts after "…:24.601Z" as a string.
                received.update({item["alert_id"]: datetime.fromisoformat(item["received_at"]) for item in page})
    return Batch(sent, [key["name"] for key in keys], tickers, since, received)


def _pages(http: httpx.Client, headers: dict[str, str], params: dict[str, Any]) -> list[list[dict[str, Any]]]:
    pages, cursor = [], None
    for _ in range(2000):
        response = http.get("/alerts", params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("pagination did not end")


def test_every_alert_stored_once(batch: Batch) -> None:
    assert len({sent.alert_id for sent in batch.sent}) == 1000
    assert set(batch.received) == {sent.alert_id for sent in batch.sent}


COMBINATIONS = [
    ("strategy",),
    ("ticker",),
    ("side",),
    ("strategy", "ticker"),
    ("strategy", "side"),
    ("ticker", "side"),
    ("strategy", "ticker", "side"),
    ("window",),
    ("strategy", "window"),
    ("ticker", "side", "window"),
]


@pytest.mark.parametrize("fields", COMBINATIONS, ids=["+".join(fields) for fields in COMBINATIONS])
@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_filter_combinations_return_exactly_the_matching_set_in_order(
    dev_stack: DevStack, batch: Batch, fields: tuple[str, ...], order: str
) -> None:
    ordered = sorted(batch.received, key=lambda alert_id: (batch.received[alert_id], alert_id))
    window = (batch.received[ordered[300]], batch.received[ordered[700]])
    choices: dict[str, list[Any]] = {
        "strategy": batch.strategies[1:2],
        "ticker": batch.tickers[2:4],
        "side": ["sell"],
        "window": [window],
    }
    headers = {"Authorization": f"Bearer {dev_stack.admin_token}"}
    with httpx.Client(base_url=dev_stack.api_url, timeout=60) as http:
        for values in product(*(choices[field] for field in fields)):
            chosen = dict(zip(fields, values, strict=True))
            params: dict[str, Any] = {"limit": 37, "order": order, "since": batch.since}
            for field in ("strategy", "ticker", "side"):
                if field in chosen:
                    params[field] = chosen[field]
            if "window" in chosen:
                params["since"], params["until"] = (moment.isoformat() for moment in chosen["window"])

            def matches(sent: Sent, chosen: dict[str, Any] = chosen) -> bool:
                low, high = chosen.get("window", (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)))
                in_window = low <= batch.received[sent.alert_id] <= high
                return in_window and all(getattr(sent, field) == chosen[field] for field in chosen if field != "window")

            expected = sorted(
                (sent.alert_id for sent in batch.sent if matches(sent)),
                key=lambda alert_id: (batch.received[alert_id], alert_id),
                reverse=order == "newest",
            )
            assert expected, chosen
            got = [item["alert_id"] for page in _pages(http, headers, params) for item in page]
            assert len(got) == len(set(got)), f"duplicates for {chosen}"
            assert got == expected, f"wrong set or order for {chosen}"


def test_stats_over_the_batch(dev_stack: DevStack, batch: Batch) -> None:
    headers = {"Authorization": f"Bearer {dev_stack.admin_token}"}
    for strategy in batch.strategies:
        stats = httpx.get(
            f"{dev_stack.api_url}/alerts/stats", params={"strategy": strategy}, headers=headers, timeout=60
        ).json()
        mine = [sent for sent in batch.sent if sent.strategy == strategy]
        assert stats["total"] == len(mine)
        assert stats["by_side"] == {
            side: sum(sent.side == side for sent in mine) for side in SIDES if any(sent.side == side for sent in mine)
        }


def test_cli_export_and_tail(dev_stack: DevStack, batch: Batch, tmp_path: Path) -> None:
    csv_file, ndjson_file = tmp_path / "alerts.csv", tmp_path / "alerts.ndjson"
    for target, file_format in ((csv_file, "csv"), (ndjson_file, "ndjson")):
        result = dev_stack.cli(
            "alerts", "export", "--format", file_format, "--out", str(target), "--strategy", batch.strategies[0]
        )
        assert result.returncode == 0, result.stderr
    mine = {sent.alert_id for sent in batch.sent if sent.strategy == batch.strategies[0]}
    with csv_file.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["alert_id"] for row in rows} == mine and len(rows) == len(mine)
    assert all(row["price"].endswith(".25") for row in rows)
    lines = ndjson_file.read_text().splitlines()
    assert {json.loads(line)["alert_id"] for line in lines} == mine and len(lines) == len(mine)

    theirs = {sent.alert_id for sent in batch.sent if sent.strategy == batch.strategies[2]}
    # Over the live socket: resumed from --since, so the batch's alerts come first, oldest first.
    tail = dev_stack.cli(
        "alerts",
        "tail",
        "--strategy",
        batch.strategies[2],
        "--since",
        batch.since,
        "--json",
        "--count",
        str(len(theirs)),
    )
    assert tail.returncode == 0, tail.stderr
    tailed = [json.loads(line)["alert_id"] for line in tail.stdout.splitlines()]
    assert set(tailed) == theirs and len(tailed) == len(theirs)
    assert tailed == sorted(tailed, key=lambda alert_id: (batch.received[alert_id], alert_id)), "oldest first"

    listed = dev_stack.cli("alerts", "list", "--ticker", batch.tickers[0], "--limit", "5")
    assert listed.returncode == 0 and "5 alert(s)" in listed.stdout
    shown = dev_stack.cli("alerts", "show", batch.sent[0].alert_id, "--json")
    assert json.loads(shown.stdout)["ticker"] == batch.sent[0].ticker
    stats = dev_stack.cli("alerts", "stats", "--strategy", batch.strategies[0])
    assert stats.returncode == 0 and "by side" in stats.stdout
