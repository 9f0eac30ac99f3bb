"""Destination management use cases (the admin API's; the CLI calls the API), and the redrive of what did
not reach a destination."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from arrowhook.core.errors import KeyConflictError
from arrowhook.core.models import StoredAlert, new_id, utc_now
from arrowhook.core.settings import DestinationAdminSettings
from arrowhook.core.tradingview import AlertFields
from arrowhook.delivery.channels import FailureQueue, HttpTransport, SnsEmail
from arrowhook.delivery.destinations import Destination, DestinationSecret, check_template
from arrowhook.delivery.destinations_store import DestinationSecrets, DestinationStore
from arrowhook.delivery.kinds.base import InvalidDestinationError
from arrowhook.delivery.kinds.registry import DestinationKind
from arrowhook.delivery.lanes import Dispatcher
from arrowhook.delivery.public_addresses import (
    NotPublicError,
    Resolver,
    on_this_machine,
    public_addresses,
    system_resolver,
)
from arrowhook.delivery.records_store import DeliveryStore
from arrowhook.delivery.sending import Answer, DeliveryRecord, DeliveryStatus, Sender
from arrowhook.keys.service import StrategyReferences
from arrowhook.keys.store import KeyStore

_CONFLICT_RETRIES = 5
#: A redrive from the failure queue hides the reports it read while it works (removed once done).
REPORT_HIDE_SECONDS = 120
UNSENT = (DeliveryStatus.FAILED, DeliveryStatus.HELD)


@dataclass(frozen=True)
class DestinationChanges:
    """What a create or an update asks for; None leaves a value as it is (or takes the kind's default)."""

    name: str | None = None
    strategies: list[str] | None = None
    template: str | None = None
    enabled: bool | None = None
    timeout_seconds: float | None = None
    skip_late: bool | None = None
    url: str | None = None
    bot_token: str | None = None
    chat_id: str | None = None


class DestinationRecords(Protocol):
    """Destinations with a version each (arrowhook.delivery.destinations_store.DestinationStore)."""

    def create(self, destination: Destination) -> None: ...

    def get(self, destination_id: str) -> tuple[Destination, int]: ...

    def replace(self, destination: Destination, read_version: int) -> None: ...

    def all(self) -> list[Destination]: ...

    def delete(self, destination_id: str) -> None: ...


class SecretKeeper(Protocol):
    """Where a destination's secret is kept encrypted (DestinationSecrets: SSM SecureString)."""

    def put(self, destination_id: str, secret: DestinationSecret) -> None: ...

    def secret_for(self, destination: Destination) -> DestinationSecret | None: ...

    def delete(self, destination_id: str) -> None: ...


@dataclass
class DestinationAdmin:
    store: DestinationRecords
    secrets: SecretKeeper
    keys: StrategyReferences
    allow_http: bool = False
    #: Whether the stack has an AlertEmail topic (email destinations need one).
    email_enabled: bool = False
    now: Callable[[], datetime] = utc_now
    #: How a URL's host is resolved to check it is public (the tests inject their own: no lookups).
    resolve: Resolver = system_resolver

    def create(self, kind: DestinationKind, changes: DestinationChanges) -> tuple[Destination, str | None]:
        """The destination and, for a signed webhook, its signing secret: returned this once."""
        secret, target = self._secret(kind, changes, DestinationSecret())
        signing_secret = None
        if kind.rules.signs:
            signing_secret = _new_signing_secret()
            secret = secret.model_copy(update={"signing_secret": signing_secret})
        now = self.now()
        destination = Destination(
            id=new_id(),
            name=(changes.name or kind.value).strip(),
            kind=kind,
            strategies=self._strategy_ids(changes.strategies or []),
            template=check_template(
                changes.template if changes.template is not None else kind.rules.default_template, kind
            ),
            enabled=True if changes.enabled is None else changes.enabled,
            timeout_seconds=changes.timeout_seconds or 5.0,
            skip_late=bool(changes.skip_late),
            chat_id=kind.rules.chat_id(changes.chat_id),
            target=target,
            created_at=now,
            updated_at=now,
        )
        self.secrets.put(destination.id, secret)  # first: a destination never exists without its secret
        self.store.create(destination)
        return destination, signing_secret

    def get(self, destination_id: str) -> Destination:
        return self.store.get(destination_id)[0]

    def list(self) -> list[Destination]:
        return self.store.all()

    def update(self, destination_id: str, changes: DestinationChanges) -> Destination:
        """Applied on top of the latest version (a concurrent update is re-read, never overwritten)."""
        for attempt in range(_CONFLICT_RETRIES):
            current, version = self.store.get(destination_id)
            updated = self._updated(current, changes)
            try:
                self.store.replace(updated, version)
            except KeyConflictError:
                if attempt == _CONFLICT_RETRIES - 1:
                    raise
                continue
            return updated
        raise AssertionError("unreachable")  # pragma: no cover

    def _updated(self, current: Destination, changes: DestinationChanges) -> Destination:
        values: dict[str, object] = {"updated_at": self.now()}
        if changes.name is not None:
            values["name"] = changes.name.strip()
        if changes.strategies is not None:
            values["strategies"] = self._strategy_ids(changes.strategies)
        if changes.template is not None:
            values["template"] = check_template(changes.template, current.kind)
        if changes.enabled is not None:
            values["enabled"] = changes.enabled
            if changes.enabled:  # resumed by its operator: the sender's pause and its count are over
                values["paused_reason"], values["refusals"] = None, 0
        if changes.timeout_seconds is not None:
            values["timeout_seconds"] = changes.timeout_seconds
        if changes.skip_late is not None:
            values["skip_late"] = changes.skip_late
        if changes.chat_id is not None:
            values["chat_id"] = current.kind.rules.chat_id(changes.chat_id)
        if changes.url is not None or changes.bot_token is not None:
            kept = self.secrets.secret_for(current) or DestinationSecret()
            secret, target = self._secret(current.kind, changes, kept)
            self.secrets.put(current.id, secret)
            values["target"] = target
        return Destination.model_validate({**current.model_dump(), **values})

    def rotate_signing_secret(self, destination_id: str, grace_seconds: int) -> tuple[Destination, str]:
        """A webhook destination's new signing secret (returned this once). For `grace_seconds` messages are
        signed with both, so the receiver can switch without refusing one (Standard Webhooks lists each
        signature in `webhook-signature`; a verifier accepts any that matches)."""
        destination = self.get(destination_id)
        if not destination.kind.rules.signs:
            raise InvalidDestinationError("only webhook destinations have a signing secret")
        kept = self.secrets.secret_for(destination) or DestinationSecret()
        new_secret = _new_signing_secret()
        expires = int(self.now().timestamp()) + grace_seconds if grace_seconds > 0 and kept.signing_secret else None
        self.secrets.put(
            destination.id,
            kept.model_copy(
                update={
                    "signing_secret": new_secret,
                    "previous_signing_secret": kept.signing_secret if expires else None,
                    "previous_expires_at": expires,
                }
            ),
        )
        return destination, new_secret

    def delete(self, destination_id: str) -> None:
        self.store.delete(destination_id)
        self.secrets.delete(destination_id)

    def test(self, destination_id: str, sender: Sender) -> Answer:
        """Send a made-up alert now, once, and return the destination's answer (nothing is recorded)."""
        destination = self.get(destination_id)
        secret = self.secrets.secret_for(destination)
        if secret is None:
            raise InvalidDestinationError("the destination's secret is missing: set its url or bot token again")
        return sender.send(sample_alert(self.now()), destination, secret)

    # -- helpers -------------------------------------------------------------------------------------
    def _secret(
        self, kind: DestinationKind, changes: DestinationChanges, kept: DestinationSecret
    ) -> tuple[DestinationSecret, str]:
        rules = kind.rules
        if rules.via_email and not self.email_enabled:
            raise InvalidDestinationError("email: this stack has no AlertEmail address (set the parameter)")
        kept_fields, target = rules.credentials(
            changes.url or kept.url, changes.bot_token or kept.bot_token, allow_http=self.allow_http
        )
        if rules.takes_url:
            try:  # the local stack's fakes live on this machine, and nothing it forwards may leave it
                url = kept_fields["url"]
                on_this_machine(url) if self.allow_http else public_addresses(url, self.resolve)
            except NotPublicError as refused:
                raise InvalidDestinationError(f"url: {refused}") from None
        return kept.model_copy(update=kept_fields), target

    def _strategy_ids(self, strategies: Iterable[str]) -> tuple[str, ...]:
        """Names or ids in, ids stored (a renamed strategy keeps its destinations)."""
        ids: list[str] = []
        for strategy in strategies:
            key = self.keys.resolve(strategy)
            if key is None:
                raise InvalidDestinationError(f"strategies: no strategy {strategy!r}")
            if key.id not in ids:
                ids.append(key.id)
        return tuple(ids)


def _new_signing_secret() -> str:
    """Standard Webhooks' format: `whsec_` and 32 random bytes, base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sample_alert(now: datetime) -> StoredAlert:
    """What a test message carries: obviously a test, shaped like a strategy alert."""
    return StoredAlert(
        alert_id="TEST" + new_id()[4:],
        key_id="test",
        strategy="arrowhook-test",
        received_at=now.astimezone(UTC),
        body_format="json",
        fields=AlertFields.model_validate(
            {"ticker": "BTCUSDT", "side": "buy", "price": "50000", "quantity": "1", "alert_message": "test message"}
        ),
        payload='{"test": true}',
    )


@dataclass
class Backlog:
    """Failed and held deliveries (each lane's, oldest alert first), and sending them again: a redrive."""

    destinations: DestinationStore
    keys: KeyStore
    records: DeliveryStore
    dispatcher: Dispatcher
    #: Where failed and held deliveries were reported (the admin API's redrive reads it back).
    failures: FailureQueue | None = None

    def unsent(
        self,
        *,
        destination_id: str | None = None,
        strategy: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[DeliveryRecord]:
        """Alerts that did not reach their destination, lane by lane, narrowed by destination, strategy
        and the alerts' time (alert ids sort by when they arrived). A notice's content is not kept, so a
        failed notice is reported (the failure queue) but not listed here: it cannot be sent again."""
        lanes = self._lanes(destination_id, strategy)
        first = new_id(int(since.timestamp() * 1000))[:10] if since else ""
        last = new_id(int(until.timestamp() * 1000))[:10] + "~" if until else "~"
        found: list[DeliveryRecord] = []
        for lane in lanes:
            found.extend(record for record in self.records.unsent(lane.id, first, last) if record.purpose == "alert")
        return found

    def resume(self, destination_id: str, *, redrive: bool = True) -> tuple[Destination, list[DeliveryRecord]]:
        """A paused (or switched off) destination on again and, with `redrive`, what it missed sent again
        after what its lane holds: the one step an operator takes once the receiver is fixed."""
        destination = self.destinations.resume(destination_id, utc_now())
        again = self.redrive(self.unsent(destination_id=destination_id)) if redrive else []
        return destination, again

    def redrive(self, records: list[DeliveryRecord]) -> list[DeliveryRecord]:
        """Into their lanes again, pending, with the same message ids (a receiver's dedupe stays safe); a
        lane's redriven deliveries follow whatever it holds, in their own order."""
        return self.dispatcher.redrive(records)

    def redrive_reported(self, *, dry_run: bool = False) -> tuple[list[DeliveryRecord], int]:
        """What the failure queue names sent again (its failed and held alerts, lane by lane, oldest
        first), and those reports removed, so its alarm clears; also removed: reports of a delivery that
        arrived since, of a notice (its content is not kept) or of an expired record. A stream batch's
        report names no alert: it is left for the operator. Answers the deliveries and the reports
        removed (none in a dry run, which only looks)."""
        if self.failures is None:
            raise InvalidDestinationError("this function has no failure queue")
        hide = 0 if dry_run else REPORT_HIDE_SECONDS
        reports = [report for report in self.failures.reported(hide_seconds=hide) if report.delivery]
        records: dict[tuple[str, str], DeliveryRecord] = {}
        for report in reports:
            record = self.records.get(*report.delivery) if report.delivery else None
            if record is not None and record.purpose == "alert" and record.status in UNSENT:
                records[(record.alert_id, record.destination_id)] = record
        found = sorted(records.values(), key=lambda record: (record.lane, record.alert_id))
        if dry_run:
            return found, 0
        again = self.redrive(found)
        self.failures.acknowledge(reports)
        return again, len(reports)

    def lanes(self) -> list[Destination]:
        """Every destination: each has its own lane."""
        return self.destinations.all()

    def _lanes(self, destination_id: str | None, strategy: str | None) -> list[Destination]:
        if destination_id:
            return [self.destinations.get(destination_id)[0]]
        lanes = self.lanes()
        if strategy:
            key = self.keys.resolve(strategy)
            if key is None:
                raise InvalidDestinationError(f"strategy: no strategy {strategy!r}")
            lanes = [lane for lane in lanes if not lane.strategies or key.id in lane.strategies]
        return lanes


def destination_management(
    settings: DestinationAdminSettings, keys: StrategyReferences
) -> tuple[DestinationAdmin, Sender]:
    """The destinations use cases and the sender their tests use, as the destinations API and the console's
    destinations page both build them (secrets read fresh: a change shows in the next test)."""
    admin = DestinationAdmin(
        store=DestinationStore(settings.keys_table_name),
        secrets=DestinationSecrets(settings.destination_secrets_prefix, cache_seconds=0),
        keys=keys,
        allow_http=settings.allow_http_destinations,
        email_enabled=bool(settings.alert_email_topic_arn),
    )
    sender = Sender(
        transport=HttpTransport(allow_local=settings.allow_http_destinations),
        email=SnsEmail(settings.alert_email_topic_arn) if settings.alert_email_topic_arn else None,
        telegram_api_url=settings.telegram_api_url,
    )
    return admin, sender
