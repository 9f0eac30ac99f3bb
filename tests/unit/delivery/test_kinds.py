"""The registry of destination kinds is the one list: the CLI's choices and the local stand-ins are checked
against it, and every kind sent over HTTP is built, sent and answered end to end by its stand-in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from arrowhook.delivery.admin import DestinationAdmin, DestinationChanges, sample_alert
from arrowhook.delivery.channels import HttpTransport
from arrowhook.delivery.destinations import Destination, DestinationSecret, check_template
from arrowhook.delivery.kinds.base import InvalidDestinationError
from arrowhook.delivery.kinds.registry import KINDS, DestinationKind
from arrowhook.delivery.sending import Sender
from arrowhook_tools.cli.destinations import Kind as CliKind
from arrowhook_tools.standins.receivers import STAND_INS, Receivers

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
HTTP_KINDS = [kind for kind, rules in KINDS.items() if not rules.via_email]


def test_every_kind_has_its_rules_under_its_own_name() -> None:
    assert set(KINDS) == set(DestinationKind)
    for kind, rules in KINDS.items():
        assert rules.name == kind.value
        assert check_template(rules.default_template, kind) == rules.default_template
        assert not (rules.via_email and rules.takes_url), f"{kind}: email has no URL"


def test_the_clis_choices_are_the_registrys_kinds() -> None:
    assert [kind.value for kind in CliKind] == [kind.value for kind in DestinationKind]


def test_every_kind_sent_over_http_has_a_local_stand_in() -> None:
    assert set(STAND_INS) == {kind.value for kind in HTTP_KINDS}


def test_only_telegram_takes_a_chat_id() -> None:
    for kind, rules in KINDS.items():
        if kind is DestinationKind.TELEGRAM:
            assert rules.chat_id("-100123") == "-100123"
            with pytest.raises(InvalidDestinationError, match="chat_id"):
                rules.chat_id(None)
        else:
            assert rules.chat_id(None) is None
            with pytest.raises(InvalidDestinationError, match="chat_id: only for telegram"):
                rules.chat_id("42")


@pytest.mark.parametrize("kind", HTTP_KINDS, ids=str)
def test_each_kind_reaches_its_stand_in_and_is_answered_ok(kind: DestinationKind) -> None:
    """What the admin API checks and stores, what the sender builds from it, and what the stand-in
    answers: the whole path a new kind must walk."""
    receivers = Receivers().start()
    try:
        prefix, _ = STAND_INS[kind.value]
        admin = DestinationAdmin(store=None, secrets=None, keys=None, allow_http=True)  # type: ignore[arg-type]
        changes = DestinationChanges(url=f"{receivers.url}{prefix}1/secret-token-{kind}", bot_token="777:" + "A" * 24)
        secret, target = admin._secret(kind, changes, DestinationSecret())
        if kind.rules.signs:
            secret = secret.model_copy(update={"signing_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
        assert target and "secret-token" not in target and "AAAA" not in target, "the hint never shows a credential"
        destination = Destination(
            id=f"D-{kind}",
            name=kind.value,
            kind=kind,
            template=kind.rules.default_template,
            chat_id=kind.rules.chat_id("-100123") if kind is DestinationKind.TELEGRAM else None,
            target=target,
            created_at=NOW,
            updated_at=NOW,
        )
        sender = Sender(HttpTransport(allow_local=True), telegram_api_url=f"{receivers.url}/telegram", now=lambda: NOW)
        answer = sender.send(sample_alert(NOW), destination, secret)
        assert answer.ok, answer
        (received,) = receivers.received
        assert received.path.startswith(prefix) and "BTCUSDT" in received.body.decode()
    finally:
        receivers.stop()
