"""What a deployed stack costs, computed from template.yaml (the source of truth), not kept by hand.

Prices are on-demand, us-east-1, as published in November 2026, without free tiers, each with its
source in PRICE_TABLE (check the AWS pricing pages before relying on them). The benchmarks print these
figures beside their targets and a template test keeps the `Monitoring` parameter's description honest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from arrowhook_tools.local.template import LocalTemplate


@dataclass(frozen=True)
class Price:
    """One unit's price: on demand, us-east-1, arm64, without free tiers, as published on `source` at
    PRICES_DATE."""

    dollars: float
    unit: str
    source: str


PRICES_DATE = "2026-11"
_LAMBDA = "https://aws.amazon.com/lambda/pricing/"
_DYNAMODB = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
_SQS = "https://aws.amazon.com/sqs/pricing/"
_S3 = "https://aws.amazon.com/s3/pricing/"
_CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/"
#: Every price the meter (arrowhook_tools.standins.meter) and the estimates below use: one table.
PRICE_TABLE: dict[str, Price] = {
    "api_gateway_http_request": Price(1.00e-6, "HTTP API request", "https://aws.amazon.com/api-gateway/pricing/"),
    "api_gateway_websocket_message": Price(1.00e-6, "WebSocket message, either way (32 KB chunk)",
                                           "https://aws.amazon.com/api-gateway/pricing/"),
    "api_gateway_websocket_connection_minute": Price(0.25e-6, "WebSocket connection minute",
                                                     "https://aws.amazon.com/api-gateway/pricing/"),
    "lambda_request": Price(0.20e-6, "invocation", _LAMBDA),
    "lambda_arm_gb_second": Price(0.0000133334, "GB-second, arm64", _LAMBDA),
    "xray_trace_recorded": Price(5.00e-6, "trace recorded", "https://aws.amazon.com/xray/pricing/"),
    "dynamodb_write_unit": Price(0.625e-6, "write request unit (1 KB)", _DYNAMODB),
    "dynamodb_read_unit": Price(0.125e-6, "read request unit (4 KB, strongly consistent)", _DYNAMODB),
    "dynamodb_control_plane": Price(0.0, "DescribeTable and the like (free)", _DYNAMODB),
    "dynamodb_streams_read_by_lambda": Price(0.0, "stream read by a Lambda trigger (free)", _DYNAMODB),
    "dynamodb_streams_read": Price(0.02e-5, "stream read request by anything else (a Pipe)", _DYNAMODB),
    "dynamodb_storage_gb_month": Price(0.25, "GB-month of table and index storage", _DYNAMODB),
    "dynamodb_pitr_gb_month": Price(0.20, "GB-month of continuous backup (table size)", _DYNAMODB),
    "cloudwatch_logs_ingest_gb": Price(0.50, "GB of log ingestion", _CLOUDWATCH),
    "cloudwatch_alarm_metric_month": Price(0.10, "standard alarm, per metric, per month", _CLOUDWATCH),
    "cloudwatch_dashboard_month": Price(3.00, "dashboard per month", _CLOUDWATCH),
    "secrets_manager_secret_month": Price(0.40, "secret per month", "https://aws.amazon.com/secrets-manager/pricing/"),
    "sqs_request": Price(0.40e-6, "standard queue request (64 KB chunk)", _SQS),
    "sqs_fifo_request": Price(0.50e-6, "FIFO queue request (64 KB chunk)", _SQS),
    "ssm_standard_api_call": Price(0.0, "standard parameter, standard throughput (free)",
                                   "https://aws.amazon.com/systems-manager/pricing/"),
    "sns_publish": Price(0.50e-6, "publish request", "https://aws.amazon.com/sns/pricing/"),
    "eventbridge_pipe_request": Price(0.40e-6, "Pipe request (64 KB chunk)", "https://aws.amazon.com/eventbridge/pricing/"),
    "eventbridge_custom_event": Price(1.00e-6, "custom event (64 KB chunk)", "https://aws.amazon.com/eventbridge/pricing/"),
    "s3_put_request": Price(0.005e-3, "PUT, COPY, POST or LIST request", _S3),
    "s3_get_request": Price(0.0004e-3, "GET or other request", _S3),
    "s3_delete_request": Price(0.0, "DELETE request (free)", _S3),
    "s3_storage_gb_month": Price(0.023, "GB-month, S3 Standard", _S3),
}  # fmt: skip


def _per_million(name: str) -> float:
    return PRICE_TABLE[name].dollars * 1_000_000


#: The same prices in the units the estimates below use.
PRICES = {
    "alarm_metric_month": PRICE_TABLE["cloudwatch_alarm_metric_month"].dollars,
    "dashboard_month": PRICE_TABLE["cloudwatch_dashboard_month"].dollars,
    "secrets_manager_month": PRICE_TABLE["secrets_manager_secret_month"].dollars,
    "api_gateway_http_per_million": _per_million("api_gateway_http_request"),
    "lambda_requests_per_million": _per_million("lambda_request"),
    "lambda_arm_gb_second": PRICE_TABLE["lambda_arm_gb_second"].dollars,
    "dynamodb_write_units_per_million": _per_million("dynamodb_write_unit"),
    "dynamodb_read_units_per_million": _per_million("dynamodb_read_unit"),
    "cloudwatch_logs_ingest_per_gb": PRICE_TABLE["cloudwatch_logs_ingest_gb"].dollars,
    "dynamodb_streams_reads_per_100k": PRICE_TABLE["dynamodb_streams_read"].dollars * 100_000,
    "sqs_requests_per_million": _per_million("sqs_request"),
    "sqs_fifo_requests_per_million": _per_million("sqs_fifo_request"),
}
#: An assumption, not a published figure: a Pipe polls each stream shard about as often as Lambda's
#: event source mapping does (4 times a second), whether or not records arrive.
PIPE_POLLS_PER_SECOND = 4
_SECONDS_PER_MONTH = 30 * 86_400
#: The promise: an idle stack with the default parameters costs at most this much a month.
IDLE_TARGET_MONTHLY = 0.50


@dataclass(frozen=True)
class FixedCost:
    item: str
    count: int
    monthly: float


def _alarm_metrics(properties: Mapping[str, Any]) -> int:
    """CloudWatch bills an alarm per metric it reads: one, or each MetricStat of a metric-math alarm."""
    queries = properties.get("Metrics")
    if not queries:
        return 1
    return sum(1 for query in queries if "MetricStat" in query)


def fixed_monthly_costs(parameters: Mapping[str, str] | None = None) -> list[FixedCost]:
    """Everything billed per month whether or not an alert ever arrives, with these parameter values.

    Pay-per-use resources (HTTP API, Lambda, DynamoDB on demand, S3, SSM standard parameters under the
    AWS-managed key, the SNS topic, EventBridge Scheduler) cost nothing while idle; storage is per GB."""
    template = LocalTemplate(parameter_overrides=dict(parameters or {}))
    alarm_metrics = dashboards = secrets = pipes = 0
    for resource in template.resources.values():
        condition = resource.get("Condition")
        if condition and not template.condition(condition):
            continue
        kind = resource["Type"]
        if kind == "AWS::CloudWatch::Alarm":
            alarm_metrics += _alarm_metrics(resource["Properties"])
        elif kind == "AWS::CloudWatch::Dashboard":
            dashboards += 1
        elif kind == "AWS::SecretsManager::Secret":
            secrets += 1
        elif kind == "AWS::Pipes::Pipe":
            pipes += 1
    pipe_polling = PIPE_POLLS_PER_SECOND * _SECONDS_PER_MONTH / 100_000 * PRICES["dynamodb_streams_reads_per_100k"]
    runs = scheduled_runs_per_month(template)
    return [
        FixedCost("alarm metrics", alarm_metrics, alarm_metrics * PRICES["alarm_metric_month"]),
        FixedCost("dashboards", dashboards, dashboards * PRICES["dashboard_month"]),
        FixedCost("Secrets Manager secrets", secrets, secrets * PRICES["secrets_manager_month"]),
        FixedCost("EventBridge Pipes polling a stream (estimate)", pipes, pipes * pipe_polling),
        FixedCost("scheduled runs (signal watch, archive): per month", runs, runs * SCHEDULED_RUN_COST),
    ]


#: One scheduled run with nothing to do: a Lambda request, ~0.1 s at 256 MB, one small Query (the
#: signal watch lists the keys; the archive finds no day to move). EventBridge Scheduler's own
#: invocations are within its free 14 million a month.
SCHEDULED_RUN_COST = (
    PRICES["lambda_requests_per_million"] / 1_000_000
    + 0.1 * 0.25 * PRICES["lambda_arm_gb_second"]
    + PRICES["dynamodb_read_units_per_million"] / 2_000_000
)
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")


def scheduled_runs_per_month(template: LocalTemplate) -> int:
    """How often the template's schedules fire in a month (a cron expression is taken as daily)."""
    runs = 0
    for _, function in template.resources_of_type("AWS::Serverless::Function"):
        for event in (function.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") not in ("Schedule", "ScheduleV2"):
                continue
            expression = str(template.resolve(event["Properties"]["ScheduleExpression"]))
            match = _RATE.match(expression)
            if match is None:
                runs += 30
                continue
            unit_seconds = {"minute": 60, "hour": 3600, "day": 86_400}[match[2].rstrip("s")]
            runs += _SECONDS_PER_MONTH // (int(match[1]) * unit_seconds)
    return runs


#: An estimate, not a published figure: Lambda polls an SQS queue with about five long polls (20 s) at a
#: time whether or not messages arrive, ~650,000 receives a month per queue. Within SQS's always-free
#: million requests a month for most accounts; without it, $0.26 (standard) to $0.32 (FIFO) per queue.
SQS_IDLE_POLLS_PER_MONTH = 5 * 3 * 60 * 24 * 30
SQS_IDLE_POLLING_MONTHLY = {
    "standard": SQS_IDLE_POLLS_PER_MONTH / 1_000_000 * PRICES["sqs_requests_per_million"],
    "fifo": SQS_IDLE_POLLS_PER_MONTH / 1_000_000 * PRICES["sqs_fifo_requests_per_million"],
}
#: Memory of the stream consumer and the sender (the template's Globals).
FUNCTION_MEMORY_GB = 0.25


def delivery_cost_per_million(sender_seconds: float, consumer_seconds: float = 0.05) -> dict[str, float]:
    """What a million deliveries (alert, destination) cost on their lane when the first attempt succeeds.

    `sender_seconds` is one sender invocation's billed time: its own work plus the destination's answer.
    The stream consumer's query of a strategy's destinations is per batch and is counted here as if each
    alert came alone (a quiet stack, the worst case). A retry adds one invocation, a receive, a visibility
    change and a record write. Lambda's long polling of an idle queue is per queue, not per delivery: see
    SQS_IDLE_POLLING_MONTHLY."""
    per = 1_000_000
    return {
        "stream consumer: invocation share + destinations query": PRICES["lambda_requests_per_million"]
        + consumer_seconds * FUNCTION_MEMORY_GB * PRICES["lambda_arm_gb_second"] * per
        + PRICES["dynamodb_read_units_per_million"] / 2,
        "pending record written first": PRICES["dynamodb_write_units_per_million"],
        "FIFO lane: send, receive, delete": 3 * PRICES["sqs_fifo_requests_per_million"],
        "sender: invocation and duration": PRICES["lambda_requests_per_million"]
        + sender_seconds * FUNCTION_MEMORY_GB * PRICES["lambda_arm_gb_second"] * per,
        "sender: record (consistent), destination and alert reads": 2 * PRICES["dynamodb_read_units_per_million"],
        "sender: delivered record written": PRICES["dynamodb_write_units_per_million"],
    }


def idle_monthly(parameters: Mapping[str, str] | None = None) -> float:
    return round(sum(cost.monthly for cost in fixed_monthly_costs(parameters)), 2)
