"""Baseline for the webhook benchmark: the same route as a minimal Flask app.

Not part of Arrowhook: it is the shape of the popular self-hosted TradingView webhook bots (one Flask
module, a JSON body, a passphrase check, one database write), built in the same run so the ratios
compare like with like: a DynamoDB client created at import and one PutItem per alert.
"""

from __future__ import annotations

import os
import uuid

import boto3
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

dynamodb = boto3.client("dynamodb")
TABLE = os.environ.get("ALERTS_TABLE_NAME", "alerts")
flask_app = Flask(__name__)


@flask_app.post("/webhook")
def webhook() -> ResponseReturnValue:
    alert = request.get_json(force=True, silent=True) or {}
    if not isinstance(alert.get("key"), str):
        return jsonify({"error": "unauthorized"}), 401
    alert_id = uuid.uuid4().hex
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": alert_id}, "ticker": {"S": str(alert.get("ticker", ""))}})
    return jsonify({"status": "stored", "alert_id": alert_id, "duplicate": False})
