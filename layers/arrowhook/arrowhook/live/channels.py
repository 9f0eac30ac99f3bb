"""The `@connections` management API: how the fan-out (and a `resume`) sends a frame to one connection.
Its endpoint is the WebSocket API's own (`https://<api>.execute-api.<region>.amazonaws.com/<stage>`,
from the function's environment; the local stack's stand-in serves the same calls)."""

from __future__ import annotations

from typing import Any

import boto3

from arrowhook.aws.dynamodb import succeeded


class ConnectionsApi:
    def __init__(self, endpoint_url: str, client: Any = None) -> None:
        self.endpoint_url = endpoint_url
        self._client = client

    def post(self, connection_id: str, data: bytes) -> bool:
        """Sent; False when API Gateway says the connection is gone (410): the caller forgets it."""
        if self._client is None:  # built on first use: most batches have no connection to send to
            self._client = boto3.client("apigatewaymanagementapi", endpoint_url=self.endpoint_url)
        client = self._client
        return succeeded(
            lambda: client.post_to_connection(ConnectionId=connection_id, Data=data), unless="GoneException"
        )
