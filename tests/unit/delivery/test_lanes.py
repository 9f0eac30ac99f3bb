"""Delivery lanes without AWS or a network: the Dispatcher (records, then enqueues), the Courier (one attempt,
recorded; retried on the schedule; failed, held or skipped), the retry schedule, and redrive, with fakes
for the records, the lanes, the destinations, the transport and the clock."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from arrowhook.core.models import StoredAlert
from arrowhook.delivery.destinations import Destination, DestinationSecret
from arrowhook.delivery.kinds.registry import DestinationKind
from arrowhook.delivery.lanes import LaneMessage, Outcome, RetrySchedule
from arrowhook.delivery.sending import (
    Answer,
    DeliveryStatus,
    Notice,
    NoticeKind,
)
from tests.fakes.delivery import NOW, DeliveryFakes, alert, destination


def _queued(fakes: DeliveryFakes, *alerts: StoredAlert) -> list[LaneMessage]:
    for one in alerts:
        fakes.alerts[one.alert_id] = one
        fakes.dispatcher().dispatch(one, list(fakes.destinations.values()))
    return [message for message, _ in fakes.enqueued]


# -- the dispatcher: a record first, then the lane -------------------------------------------------------
def test_each_destination_gets_a_pending_record_then_a_message_in_its_own_lane() -> None:
    fakes = DeliveryFakes(
        destinations={"D1": destination(1), "D2": destination(2), "D3": destination(3, enabled=False)}
    )
    one = alert()
    records = fakes.dispatcher().dispatch(one, fakes.destinations.values())
    assert [(record.destination_id, record.status, record.attempts) for record in records] == [
        ("D1", DeliveryStatus.PENDING, 0),
        ("D2", DeliveryStatus.PENDING, 0),
    ]
    assert [(message.destination_id, message.message_id) for message, _ in fakes.enqueued] == [
        ("D1", f"msg_{one.alert_id}_D1"),
        ("D2", f"msg_{one.alert_id}_D2"),
    ]


def test_other_strategies_destinations_and_skipped_late_alerts_get_no_message() -> None:
    fakes = DeliveryFakes(
        destinations={"D1": destination(1, strategies=("OTHER",)), "D2": destination(2, skip_late=True)}
    )
    records = fakes.dispatcher().dispatch(alert(), fakes.destinations.values(), late="75 s after it fired")
    assert [(record.destination_id, record.status, record.last_error) for record in records] == [
        ("D2", DeliveryStatus.SKIPPED, "late: 75 s after it fired")
    ]
    assert fakes.enqueued == []


def test_an_alert_the_stream_delivers_again_adds_nothing_once_final() -> None:
    fakes = DeliveryFakes()
    [message] = _queued(fakes, one := alert())
    fakes.courier().handle(message)
    fakes.enqueued.clear()
    fakes.dispatcher().dispatch(one, fakes.destinations.values())
    assert fakes.enqueued == [] and len(fakes.sent) == 1


# -- the courier: one attempt per message -----------------------------------------------------------------
def test_a_500_is_retried_on_the_schedule_and_then_delivered_with_the_same_message_id() -> None:
    fakes = DeliveryFakes(answers=[Answer(500, "busy")])
    [message] = _queued(fakes, one := alert())
    retry = fakes.courier().handle(message)
    assert retry.retry_in is not None and 4 <= retry.retry_in <= 6, "5 s after the first attempt, jittered"
    record = fakes.record(one.alert_id)
    assert (record.status, record.attempts, record.last_status_code) == (DeliveryStatus.PENDING, 1, 500)
    assert record.next_attempt_at == NOW + timedelta(seconds=retry.retry_in)
    done = fakes.courier().handle(message)
    assert done.done and fakes.record(one.alert_id).status is DeliveryStatus.DELIVERED
    assert fakes.record(one.alert_id).attempts == 2 and fakes.record(one.alert_id).latency_ms == 2000
    assert fakes.sent[0].headers["webhook-id"] == fakes.sent[1].headers["webhook-id"]
    assert fakes.sent[0].body == fakes.sent[1].body


def test_retry_after_is_honoured_and_a_long_one_waits_rather_than_gives_up() -> None:
    for asked, at_least in (("20", 20), ("7200", 7200)):
        fakes = DeliveryFakes(answers=[Answer(429, headers={"Retry-After": asked})])
        [message] = _queued(fakes, alert())
        outcome = fakes.courier().handle(message)
        assert outcome.retry_in is not None and outcome.retry_in >= at_least


def test_a_receiver_down_for_hours_is_retried_over_a_day_then_failed_and_reported_once() -> None:
    schedule = RetrySchedule()
    fakes = DeliveryFakes(answers=[Answer(503, "down")] * schedule.attempts)
    [message] = _queued(fakes, one := alert())
    waited = 0.0
    outcome = Outcome(None, retry_in=0)
    while not outcome.done:
        waited += outcome.retry_in or 0
        outcome = fakes.courier().handle(message)
    assert len(fakes.sent) == schedule.attempts == 8
    assert 20 * 3600 < waited < 34 * 3600, "Svix's schedule: about 27 hours"
    record = fakes.record(one.alert_id)
    assert (record.status, record.attempts, record.last_error) == (DeliveryStatus.FAILED, 8, "HTTP 503: down")
    assert [(reported.alert_id, reason) for reported, reason in fakes.reported] == [(one.alert_id, "delivery failed")]


def test_a_4xx_that_will_not_change_fails_at_once_and_is_reported() -> None:
    fakes = DeliveryFakes(answers=[Answer(400, "bad request")])
    [message] = _queued(fakes, one := alert())
    assert fakes.courier().handle(message).done
    assert fakes.record(one.alert_id).status is DeliveryStatus.FAILED and len(fakes.reported) == 1


def test_410_gone_disables_the_destination_and_what_follows_is_held_for_a_redrive() -> None:
    fakes = DeliveryFakes(answers=[Answer(410, "gone")])
    first, second = _queued(fakes, one := alert(), two := alert(1))
    assert fakes.courier().handle(first).done
    assert fakes.destinations["D1"].enabled is False
    assert fakes.destinations["D1"].paused_reason == "disabled: it answered 410 Gone"
    assert fakes.courier().handle(second).done
    assert len(fakes.sent) == 1, "nothing more is sent to a disabled destination"
    assert fakes.record(one.alert_id).status is DeliveryStatus.FAILED
    held = fakes.record(two.alert_id)
    assert (held.status, held.last_error) == (DeliveryStatus.HELD, "held: disabled: it answered 410 Gone")
    assert [reason for _, reason in fakes.reported] == [
        "destination gone: disabled",
        "delivery held: destination paused",
    ]


def test_refusals_in_a_row_pause_the_destination_and_a_success_ends_the_run() -> None:
    fakes = DeliveryFakes(answers=[Answer(404), Answer(200), Answer(404), Answer(401), Answer(403)])
    messages = _queued(fakes, *(alert(number) for number in range(4)))
    courier = fakes.courier(pause_after=3)
    assert courier.handle(messages[0]).retry_in is not None, "a refusal is retried: the URL may come back"
    assert courier.handle(messages[0]).done and fakes.refusal_counts == {}, "delivered: the run is over"
    assert courier.handle(messages[1]).retry_in is not None
    assert courier.handle(messages[1]).retry_in is not None
    assert courier.handle(messages[1]).done, "the third refusal in a row pauses it"
    assert fakes.destinations["D1"].paused_reason == "paused after 3 refusals in a row (last: HTTP 403)"
    assert fakes.courier().handle(messages[2]).done and len(fakes.sent) == 5
    assert [fakes.record(message.record_key).status for message in messages[1:3]] == ["held", "held"]


def test_a_destination_deleted_on_the_way_is_recorded_as_skipped() -> None:
    fakes = DeliveryFakes()
    [message] = _queued(fakes, one := alert())
    del fakes.destinations["D1"]
    assert fakes.courier().handle(message).done
    record = fakes.record(one.alert_id)
    assert (record.status, record.last_error) == (DeliveryStatus.SKIPPED, "destination deleted") and fakes.sent == []


def test_no_answer_is_retried_and_an_email_without_a_topic_fails_at_once() -> None:
    fakes = DeliveryFakes(answers=[Answer(None, error="no answer: ReadTimeoutError")])
    [message] = _queued(fakes, alert())
    assert fakes.courier().handle(message).retry_in is not None
    fakes = DeliveryFakes(destinations={"D1": destination(kind=DestinationKind.EMAIL, template="{ticker}")})
    [message] = _queued(fakes, one := alert())
    assert fakes.courier().handle(message).done
    assert fakes.record(one.alert_id).last_error == "no AlertEmail topic in this stack"


def test_an_outage_of_ours_raises_for_the_caller_to_retry_and_nothing_is_lost() -> None:
    from arrowhook.core.errors import StoreUnavailableError

    fakes = DeliveryFakes()
    [message] = _queued(fakes, one := alert())

    def unreadable(_: Destination) -> DestinationSecret | None:
        raise StoreUnavailableError("ssm: unavailable")

    fakes.secret_for = unreadable  # type: ignore[method-assign]
    with pytest.raises(StoreUnavailableError):
        fakes.courier().handle(message)
    assert fakes.record(one.alert_id).status is DeliveryStatus.PENDING and fakes.sent == []


def test_a_notice_travels_in_the_lane_with_its_content() -> None:
    fakes = DeliveryFakes()
    notice = Notice(
        kind=NoticeKind.GAP,
        record_key="01ALERT",
        key_id="K1",
        subject="s",
        template="{strategy}: missing",
        values={"strategy": "ema-cross"},
        data={"strategy": "ema-cross"},
        occurred_at=NOW,
    )
    fakes.dispatcher().notify(notice, fakes.destinations.values())
    [(message, _)] = fakes.enqueued
    assert (message.record_id, message.message_id) == ("D1#gap", "msg_01ALERT_D1_gap")
    assert fakes.courier().handle(LaneMessage.model_validate_json(message.model_dump_json())).done
    assert fakes.records[("01ALERT", "D1#gap")].status is DeliveryStatus.DELIVERED


# -- the schedule and redrive -------------------------------------------------------------------------------
def test_the_schedule_is_jittered_honours_retry_after_and_never_exceeds_twelve_hours() -> None:
    schedule = RetrySchedule()
    chooser = random.Random(1)
    firsts = {schedule.delay(1, chooser=chooser) for _ in range(50)}
    assert min(firsts) >= 4 and max(firsts) <= 6 and len(firsts) > 40, "jittered: lanes do not retry in lockstep"
    assert schedule.delay(1, asked=90, chooser=chooser) >= 90
    assert schedule.delay(7, chooser=chooser) <= 43_200 and schedule.delay(1, asked=10**9) == 43_200


def test_a_redrive_sends_failed_and_held_deliveries_again_with_their_message_ids() -> None:
    fakes = DeliveryFakes(answers=[Answer(400, "bad")])
    [message] = _queued(fakes, one := alert())
    fakes.courier().handle(message)
    fakes.enqueued.clear()
    again = fakes.dispatcher().redrive([fakes.record(one.alert_id)])
    assert [record.status for record in again] == [DeliveryStatus.PENDING]
    [(redriven, is_redrive)] = fakes.enqueued
    assert is_redrive and redriven.message_id == message.message_id, "a receiver's dedupe stays safe"
    assert fakes.courier().handle(redriven).done and fakes.record(one.alert_id).status is DeliveryStatus.DELIVERED
