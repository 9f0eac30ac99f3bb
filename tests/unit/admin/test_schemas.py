"""An alert field added in one place must reach every place that shows or keeps alerts: the API's
`AlertOut` (built from AlertFields, and so `AlertDetail` and the console) and the archive's frozen
`ArchivedAlertV1` (and so the Glue table). Both validate from dumps, so a field missing from either model
would be silently dropped; likewise the stats the API answers with. These tests name the file to edit."""

from __future__ import annotations

from dataclasses import fields

import pytest
from pydantic import BaseModel

from arrowhook.admin.schemas import AlertOut, AlertStatsOut
from arrowhook.alerts.stats import AlertStats
from arrowhook.archive.record import ArchivedAlertV1
from arrowhook.core.tradingview import AlertFields

#: Where each reader of an alert's fields is declared.
READERS: dict[str, type[BaseModel]] = {
    "layers/arrowhook/arrowhook/admin/schemas.py (AlertOut)": AlertOut,
    "layers/arrowhook/arrowhook/archive/record.py (ArchivedAlertV1, and the Glue table's columns)": ArchivedAlertV1,
}


@pytest.mark.parametrize("where", sorted(READERS))
def test_every_parsed_field_reaches_every_reader(where: str) -> None:
    missing = sorted(set(AlertFields.model_fields) - set(READERS[where].model_fields))
    assert not missing, f"add {missing} to {where}: AlertFields (core/tradingview.py) has them"


def test_the_apis_stats_answer_every_stat_the_layer_counts() -> None:
    counted = [field.name for field in fields(AlertStats)]
    answered = list(AlertStatsOut.model_fields)
    assert counted == answered, (
        f"alerts/stats.py (AlertStats) counts {counted}; admin/schemas.py (AlertStatsOut) answers {answered}: "
        "make them the same"
    )
