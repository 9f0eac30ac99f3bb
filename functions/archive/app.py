"""Daily housekeeping: EventBridge Scheduler (daily) or `arrowhook archive run` counts the days that
closed (arrowhook.alerts.daily_counts, for fast stats), then moves old alerts to S3;
`arrowhook archive restore --day D` brings an archived day back (arrowhook.archive.restore).

Thin on purpose: validate the input, run the Archiver from the layer, publish its figures. A failed
run raises, so Lambda's Errors metric (and the archive alarm) see it; the journal makes it resumable.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from arrowhook.alerts.daily_counts import DailyCounts
from arrowhook.archive.protocol import Archiver, ArchiveRequest
from arrowhook.archive.restore import ArchiveRestore
from arrowhook.core.models import utc_now
from arrowhook.core.observability import Metric, MetricUnit, logger, metrics, traced
from arrowhook.core.settings import ArchiveSettings

settings = ArchiveSettings.from_environment()
archiver = Archiver(
    settings.alerts_table_name,
    settings.archive_bucket_name,
    alerts_per_object=settings.archive_alerts_per_object,
)
daily_counts = DailyCounts(settings.alerts_table_name)
restorer = ArchiveRestore(settings.alerts_table_name, settings.archive_bucket_name)


@traced
@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    if not isinstance(event, dict):
        return {"status": "rejected", "errors": ["the event must be a JSON object"]}
    try:
        request = ArchiveRequest.model_validate(event)
    except ValidationError as error:
        problems = [f"{'.'.join(map(str, issue['loc']))}: {issue['msg']}" for issue in error.errors()]
        logger.warning("archive request rejected", extra={"problems": problems})
        return {"status": "rejected", "errors": problems}
    if request.restore_day is not None:
        restored = restorer.restore_day(request.restore_day, request.keep_days)
        logger.info("archived day restored", extra={"report": restored.model_dump(mode="json", exclude={"objects"})})
        return {"status": "restored", **restored.model_dump(mode="json")}
    cutoff = request.cutoff(settings.archive_retention_days)
    logger.info("archive run", extra={"trigger": request.trigger, "cutoff": cutoff.isoformat(), "dry": request.dry_run})
    try:
        if not request.dry_run:  # counted first: this run may archive the oldest uncounted day
            counted = daily_counts.count_closed_days(utc_now().date(), not_before=cutoff.date())
            metrics.add_metric(name=Metric.DAYS_COUNTED, unit=MetricUnit.Count, value=len(counted))
        report = archiver.run(
            cutoff,
            dry_run=request.dry_run,
            remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000,
        )
    except Exception:
        metrics.add_metric(name=Metric.ARCHIVE_ERRORS, unit=MetricUnit.Count, value=1)
        logger.exception("archive run failed; the next run resumes from the journal")
        raise
    metrics.add_metric(name=Metric.ALERTS_ARCHIVED, unit=MetricUnit.Count, value=report.archived + report.resumed)
    metrics.add_metric(name=Metric.ARCHIVE_OBJECTS_WRITTEN, unit=MetricUnit.Count, value=len(report.objects))
    metrics.add_metric(name=Metric.ARCHIVE_BYTES_WRITTEN, unit=MetricUnit.Bytes, value=report.bytes_written)
    metrics.add_metric(name=Metric.ARCHIVE_BATCHES_RETRIED, unit=MetricUnit.Count, value=report.batches_retried)
    metrics.add_metric(name=Metric.ARCHIVE_INCOMPLETE, unit=MetricUnit.Count, value=int(report.status == "incomplete"))
    logger.info("archive run finished", extra={"report": report.model_dump(mode="json", exclude={"objects"})})
    return report.model_dump(mode="json")
