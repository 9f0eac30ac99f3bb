"""One duration grammar for the API and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from arrowhook.alerts.query import parse_moment
from arrowhook.core.durations import parse_duration
from arrowhook_tools.cli.common import duration_seconds

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("30m", 1_800), (" 12H ", 43_200), ("7d", 604_800), ("2w", 1_209_600), ("0s", 0)],
)
def test_the_api_and_the_cli_read_a_duration_alike(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert duration_seconds(text) == seconds, "the CLI's --grace"
    assert parse_moment(text, NOW) == NOW - timedelta(seconds=seconds), "the API's since/until"


@pytest.mark.parametrize("text", ["", "h", "1.5h", "-3d", "3y", "1 2h", "999999999999w"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|too long"):
        parse_duration(text)
