"""A short `make load`: concurrency, throttled writes and crashing archive runs lose and duplicate nothing."""

from __future__ import annotations

from tests.bench.load_webhook import run_load


def test_load_with_faults_loses_and_duplicates_nothing() -> None:
    report = run_load(seconds=6, workers=8, strategies=3, resend_every=5, throttle_rate=0.1, archive=True)
    # All three at once, so a failure shows the trace of each lost alert (in `problems`):
    assert (report.lost, report.duplicated, report.problems) == ([], [], [])
    # The faults really happened, so the audit proved something:
    assert report.throttled_writes > 0
    assert report.archive_crashes >= 1 and report.archived > 0
    resent = [sent for sent in report.sent if sent.resend]
    assert resent and all(sent.duplicate for sent in resent if sent.status == 200)
    assert len(report.accepted) > 50
