"""Floor for the warm-path benchmark: the least a webhook with Arrowhook's exactly-once write can do.

Not part of Arrowhook: it parses the JSON body, writes the alert (every body field as a string) and
its dedupe marker in one two-item transaction, and logs one line. Whatever the webhook does beyond
this (exact decimals, secret scrubbing, validation, routing, metrics) costs on top; this row shows
how far a single-PutItem baseline is out of reach for any handler that keeps the guarantee.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config

dynamodb = boto3.client("dynamodb", config=Config(parameter_validation=False))
TABLE = os.environ.get("ALERTS_TABLE_NAME", "alerts")
logger = Logger()


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    body = event["body"]
    fields = json.loads(body)
    alert_id = uuid.uuid4().hex
    item = {name: {"S": str(value)} for name, value in fields.items() if name != "key"}
    item.update({"pk": {"S": f"ALERT#{alert_id}"}, "payload": {"S": body}})
    marker = {
        "pk": {"S": "DEDUPE#" + hashlib.sha256(body.encode()).hexdigest()},
        "alert_id": {"S": alert_id},
        "expires_at": {"N": str(int(time.time()) + 60)},
    }
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": TABLE, "Item": marker, "ConditionExpression": "attribute_not_exists(pk)"}},
        ]
    )
    logger.info("alert stored", extra={"alert_id": alert_id})
    return {"statusCode": 200, "body": json.dumps({"status": "stored", "alert_id": alert_id, "duplicate": False})}
