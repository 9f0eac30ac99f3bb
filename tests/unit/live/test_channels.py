"""The management API's answers, as botocore's Stubber gives them: sent, gone (forgotten), or an outage
(StoreUnavailableError: the stream batch is retried)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from arrowhook.core.errors import StoreUnavailableError
from arrowhook.live.channels import ConnectionsApi


def test_sent_gone_and_unavailable_are_told_apart() -> None:
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url="http://127.0.0.1:9/live",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    api = ConnectionsApi("http://127.0.0.1:9/live", client)
    with Stubber(client) as stub:
        stub.add_response("post_to_connection", {}, {"ConnectionId": "c1", "Data": b"{}"})
        stub.add_client_error("post_to_connection", "GoneException", http_status_code=410)
        stub.add_client_error("post_to_connection", "LimitExceededException", http_status_code=429)
        assert api.post("c1", b"{}") is True
        assert api.post("c2", b"{}") is False
        with pytest.raises(StoreUnavailableError):
            api.post("c3", b"{}")
