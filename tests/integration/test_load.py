"""A short `make load`: concurrency, throttled writes and crashing archive runs lose and duplicate nothing."""

from __future__ import annotations

from tests.bench.load_webhook import run_load


def test_load_with_faults_loses_and_duplicates_nothing() -> None:
    """Sized by count, not by time: a loaded machine sends the same load, only slower (it once accepted
    41 alerts in 6 s where the test asked for 50, and failed with nothing lost)."""
    report = run_load(requests=240, workers=8, strategies=3, resend_every=5, throttle_rate=0.1, archive=True)
    # All three at once, so a failure shows the trace of each lost alert (in `problems`):
    assert (report.lost, report.duplicated, report.problems) == ([], [], [])
    # The faults really happened, so the audit proved something:
    assert report.throttled_writes > 0
    assert report.archive_crashes >= 1 and report.archived > 0
    resent = [sent for sent in report.sent if sent.resend]
    assert resent and all(sent.duplicate for sent in resent if sent.status == 200)
    assert len(report.sent) == 240 and len(report.accepted) >= 150, "the load really ran"
