"""Every destination kind by name: the API's and the stored destinations' `kind`, and what each kind does
(its module under arrowhook.delivery.kinds). Adding a kind: its module, a member here, a line in KINDS."""

from __future__ import annotations

from enum import StrEnum

from arrowhook.delivery.kinds.base import DestinationKindRules
from arrowhook.delivery.kinds.discord import DISCORD
from arrowhook.delivery.kinds.email import EMAIL
from arrowhook.delivery.kinds.slack import SLACK
from arrowhook.delivery.kinds.telegram import TELEGRAM
from arrowhook.delivery.kinds.webhook import WEBHOOK


class DestinationKind(StrEnum):
    DISCORD = "discord"
    SLACK = "slack"
    TELEGRAM = "telegram"
    WEBHOOK = "webhook"
    EMAIL = "email"

    @property
    def rules(self) -> DestinationKindRules:
        return KINDS[self]


KINDS: dict[DestinationKind, DestinationKindRules] = {
    DestinationKind.DISCORD: DISCORD,
    DestinationKind.SLACK: SLACK,
    DestinationKind.TELEGRAM: TELEGRAM,
    DestinationKind.WEBHOOK: WEBHOOK,
    DestinationKind.EMAIL: EMAIL,
}
