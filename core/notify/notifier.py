"""The notifier interface: one message out, by one channel; a failure raises."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


@dataclass(frozen=True)
class Message:
    """One message to one address.

    `message_id` is the outbox row's key: a message sent twice (delivery is at least once)
    carries the same id, by which a mail client or an SMS gateway can recognise it.
    """

    to: str
    subject: str
    body: str
    message_id: str


class NotifyError(Exception):
    """The message was not handed over; the text says why (it is stored as the row's error)."""


class Notifier(Protocol):
    def send(self, message: Message) -> None:
        """Hand `message` to the channel's server or gateway.

        Raises:
            NotifyError: it was not accepted; sending again later may succeed.
        """
        ...
