"""AWS faults injected at the embedded endpoint, seen over real HTTP: retried, bounded, never half-written."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from arrowhook.aws.dynamodb import webhook_client_config, worst_case_seconds
from arrowhook_tools.cli.samples import strategy_alert
from arrowhook_tools.local.stack import DEMO_SECRET, LocalStack
from arrowhook_tools.standins.embedded_aws import dynamodb
from tests.conftest import all_items
from tests.integration.conftest import in_process_stack

OVERRIDES = {
    "AuthorizerCacheSeconds": "0",  # no cached admin token: every admin call reads the SSM SecureString
}


@pytest.fixture(scope="module")
def running() -> Iterator[LocalStack]:
    """In-process, so that tests can reach the embedded endpoint's fault switch."""
    with in_process_stack(OVERRIDES) as stack:
        yield stack


@pytest.fixture
def http(stack: LocalStack) -> Iterator[httpx.Client]:
    assert stack.api is not None
    with httpx.Client(base_url=stack.api.url, timeout=30) as client:
        yield client


def _items(stack: LocalStack, prefix: str) -> list[dict[str, Any]]:
    table = stack.template.physical_name("AlertsTable")
    return [item for item in all_items(dynamodb(stack.aws.endpoint), table) if item["pk"]["S"].startswith(prefix)]


def _payload(item: dict[str, Any]) -> str:
    """The body as stored in clear: moto's tables are per process, so the table may also hold other
    modules' alerts, a large one among them kept compressed (`payload_gz`, no `payload`)."""
    return str(item.get("payload", {}).get("S", ""))


def _stored_with(stack: LocalStack, nonce: str) -> int:
    return sum(nonce in _payload(item) for item in _items(stack, "ALERT#"))


def _post(http: httpx.Client, body: str) -> httpx.Response:
    return http.post("/webhook", content=body.encode(), headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("error", "status"),
    [("ThrottlingException", 400), ("ProvisionedThroughputExceededException", 400), ("InternalServerError", 500)],
)
def test_one_failed_write_is_retried_and_the_alert_stored_once(
    stack: LocalStack, http: httpx.Client, error: str, status: int
) -> None:
    nonce = uuid.uuid4().hex
    fault = stack.aws.inject("PutItem", error=error, status=status, times=1, matching=nonce)
    response = _post(http, strategy_alert(DEMO_SECRET, nonce=nonce))
    assert response.status_code == 200, response.text
    assert response.json()["duplicate"] is False
    assert fault.served == 1
    assert fault.seen == 2, "the alert's write failed once, and boto3's standard mode retried it once"
    assert _stored_with(stack, nonce) == 1


def test_exhausted_retries_answer_503_and_write_nothing(stack: LocalStack, http: httpx.Client) -> None:
    nonce = uuid.uuid4().hex
    body = strategy_alert(DEMO_SECRET, nonce=nonce)
    markers = len(_items(stack, "DEDUPE#"))
    fault = stack.aws.inject("PutItem", times=-1, matching="DEDUPE#")
    response = _post(http, body)
    assert (response.status_code, response.json()["error"]) == (503, "unavailable")
    assert fault.served == 2, "bounded: one try and one retry, then the answer"
    assert _stored_with(stack, nonce) == 0
    assert len(_items(stack, "DEDUPE#")) == markers, "no dedupe marker was written"
    stack.aws.clear_faults()
    again = _post(http, body)
    assert (again.status_code, again.json()["duplicate"]) == (200, False), "a retry after the outage is stored"
    assert _stored_with(stack, nonce) == 1


def test_a_marker_left_by_a_failed_alert_write_does_not_block_the_retry(stack: LocalStack, http: httpx.Client) -> None:
    """The marker landed, the alert's write did not (both attempts throttled): 503. The sender's retry
    inside the dedupe window is stored, once, under the marker's id, and answered as no duplicate."""
    nonce = uuid.uuid4().hex
    body = strategy_alert(DEMO_SECRET, nonce=nonce)
    fault = stack.aws.inject("PutItem", times=-1, matching=nonce)  # the alert's write holds the body
    response = _post(http, body)
    assert (response.status_code, response.json()["error"]) == (503, "unavailable")
    assert fault.served == 2 and _stored_with(stack, nonce) == 0
    stack.aws.clear_faults()
    again = _post(http, body)
    assert (again.status_code, again.json()["duplicate"]) == (200, False)
    third = _post(http, body)
    assert (third.json()["alert_id"], third.json()["duplicate"]) == (again.json()["alert_id"], True)
    assert _stored_with(stack, nonce) == 1


def test_the_retry_budget_fits_tradingviews_three_seconds() -> None:
    assert webhook_client_config().retries == {"mode": "standard", "total_max_attempts": 2}  # type: ignore[attr-defined]
    assert worst_case_seconds() <= 1.8, "leaves over a second for a cold start inside TradingView's ~3 s"


def test_a_key_lookup_outage_is_503_not_401(stack: LocalStack, http: httpx.Client) -> None:
    """TradingView does not retry, but the trader must see 'retry later', not 'your key is wrong'."""
    stack.aws.inject("GetItem", error="InternalServerError", status=500, times=-1)
    response = _post(http, strategy_alert(DEMO_SECRET, nonce=uuid.uuid4().hex))
    assert (response.status_code, response.json()["error"]) == (503, "unavailable")


def test_parameter_store_outage_makes_the_authorizer_fail_closed(stack: LocalStack, http: httpx.Client) -> None:
    headers = {"Authorization": f"Bearer {stack.admin_token}"}
    assert http.get("/keys", headers=headers).status_code == 200
    fault = stack.aws.inject("GetParameter", error="InternalServerError", status=500, times=-1)
    denied = http.get("/keys", headers=headers)
    assert (denied.status_code, denied.json()) == (403, {"message": "Forbidden"})
    assert fault.served >= 1
    stack.aws.clear_faults()
    assert http.get("/keys", headers=headers).status_code == 200


def test_an_alerts_query_outage_is_a_json_503(stack: LocalStack, http: httpx.Client) -> None:
    stack.aws.inject("Query", error="InternalServerError", status=500, times=-1)
    response = http.get("/alerts", headers={"Authorization": f"Bearer {stack.admin_token}"})
    assert response.status_code == 503
    assert "Traceback" not in response.text and json.loads(response.text)


def test_health_reports_the_outage(stack: LocalStack, http: httpx.Client) -> None:
    assert http.get("/health").status_code == 200
    stack.aws.inject("GetItem", error="InternalServerError", status=500, times=-1)
    assert http.get("/health").json()["checks"] == {"store": "unreachable"}


def test_a_write_that_happened_but_answered_too_late_is_stored_once(stack: LocalStack, http: httpx.Client) -> None:
    """The SDK times out, retries, and finds its own first attempt: not a duplicate, not a second alert."""
    nonce = uuid.uuid4().hex
    fault = stack.aws.inject("PutItem", applied_then_slow=1.2, times=1, matching=nonce)  # the webhook waits 0.8 s
    response = _post(http, strategy_alert(DEMO_SECRET, nonce=nonce))
    assert fault.served == 1
    assert (response.status_code, response.json()["duplicate"]) == (200, False)
    [item] = [item for item in _items(stack, "ALERT#") if nonce in _payload(item)]
    assert item["alert_id"]["S"] == response.json()["alert_id"]


def test_parallel_identical_deliveries_with_late_answers_share_one_alert(stack: LocalStack, http: httpx.Client) -> None:
    from concurrent.futures import ThreadPoolExecutor

    nonce = uuid.uuid4().hex
    body = strategy_alert(DEMO_SECRET, nonce=nonce)
    stack.aws.inject("PutItem", applied_then_slow=1.0, probability=0.3, times=-1, matching="DEDUPE#")
    stack.aws.inject("PutItem", applied_then_slow=1.0, probability=0.3, times=-1, matching=nonce)
    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(lambda _: _post(http, body), range(16)))
    answered = {response.json()["alert_id"] for response in responses if response.status_code == 200}
    assert len(answered) == 1, [response.json() for response in responses]
    assert _stored_with(stack, nonce) == 1
