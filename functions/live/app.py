"""The live WebSocket API's routes (docs/live.md): `$connect` checks the ticket in `?ticket=` and records
the connection (any answer but 200 makes API Gateway refuse the upgrade), `$disconnect` forgets it,
`$default` answers a client's `ping` and `resume` through the `@connections` API. Thin: the use cases are
arrowhook.live and arrowhook.admin.live_messages."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from arrowhook.admin.live_messages import answer
from arrowhook.alerts.query import AlertQuery
from arrowhook.core.errors import StoreUnavailableError
from arrowhook.core.models import utc_now
from arrowhook.core.observability import logger, metrics, traced
from arrowhook.core.settings import LiveSettings
from arrowhook.live.channels import ConnectionsApi
from arrowhook.live.connections import LiveConnections
from arrowhook.live.store import ConnectionStore, TicketRedemptions
from arrowhook.live.tickets import TicketRefusedError, ticket_signer

settings = LiveSettings.from_environment()
connections = ConnectionStore(settings.keys_table_name)
redemptions = TicketRedemptions(settings.keys_table_name)
alert_query = AlertQuery(settings.alerts_table_name)
connections_api = ConnectionsApi(settings.live_connections_url)


def live() -> LiveConnections:
    return LiveConnections(ticket_signer(settings.cursor_key_parameter), connections, redemptions)


def _status(code: int, error: str | None = None) -> dict[str, Any]:
    return {"statusCode": code, **({"body": json.dumps({"error": error})} if error else {})}


@traced
@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = event.get("requestContext") or {}
    connection_id = str(request.get("connectionId") or "")
    kind = request.get("eventType")
    try:
        if kind == "CONNECT":
            ticket = (event.get("queryStringParameters") or {}).get("ticket")
            opened = live().connect(connection_id, ticket)
            logger.info("live connected", extra={"holder": opened.holder, "strategies": opened.strategies})
        elif kind == "DISCONNECT":
            connections.delete(connection_id)
        elif kind == "MESSAGE":
            frames = answer(event.get("body"), connections.get(connection_id), alert_query, utc_now())
            for frame in frames:
                if not connections_api.post(connection_id, frame):
                    connections.delete(connection_id)
                    break
        else:
            return _status(400, "not a WebSocket event")
    except TicketRefusedError as refused:
        logger.warning("live connection refused", extra={"reason": str(refused)})
        return _status(401, str(refused))
    except StoreUnavailableError:
        return _status(503, "store temporarily unavailable, retry")
    return _status(200)
