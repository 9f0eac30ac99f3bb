"""Baseline for the cold-start benchmark: the same webhook route as a FastAPI + Mangum + boto3 app.

Not part of Arrowhook: it is the webhook written on the admin API's stack (the shape of most
self-hosted alert receivers), built in the same run so the ratio compares like with like: a DynamoDB
client created at import, a pydantic body, one PutItem per alert.
"""

from __future__ import annotations

import os
import uuid

import boto3
from fastapi import FastAPI
from mangum import Mangum
from pydantic import BaseModel

dynamodb = boto3.client("dynamodb")
TABLE = os.environ.get("ALERTS_TABLE_NAME", "alerts")
app = FastAPI()


class Alert(BaseModel):
    key: str
    ticker: str | None = None
    action: str | None = None
    price: str | None = None


@app.post("/webhook")
async def webhook(alert: Alert) -> dict[str, object]:
    alert_id = uuid.uuid4().hex
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": alert_id}, "ticker": {"S": alert.ticker or ""}})
    return {"status": "stored", "alert_id": alert_id, "duplicate": False}


handler = Mangum(app, lifespan="off")
