"""SMS: the gateway interface, and the default gateway that only logs what it would send.

A real gateway (a carrier's or a cloud provider's SMS API) is a class with `send(message)`
(the `Notifier` protocol) that raises `NotifyError` when the gateway refuses or cannot be
reached, registered in `GATEWAYS` under the name `CITYLOOP_SMS_GATEWAY` selects. Gateways in
China send only templates approved in advance and prefix a registered signature; the texts in
core/notify/messages.py are written to fit such templates (`message_id` is the "out id" a
gateway deduplicates by).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from core.config import Settings
from core.logs import get_logger
from core.notify.notifier import Message, Notifier
from core.privacy.masking import mask_phone

log = get_logger(__name__)
# A tracking link's token is the citizen's secret: a log line shows the link without it.
_TOKEN = re.compile(r"([?&]t=)[^&\s]+")


def without_token(text: str) -> str:
    return _TOKEN.sub(r"\1***", text)


class LoggingSms:
    """Logs the SMS it would send, the phone masked (138****1234) and a tracking link's token
    left out; sends nothing."""

    def send(self, message: Message) -> None:
        log.info(
            "sms_logged_not_sent",
            to=mask_phone(message.to),
            text=without_token(message.body),
            message_id=message.message_id,
        )


# name -> factory; add a real gateway here (and its settings in core/config.py).
GATEWAYS: dict[str, Callable[[Settings], Notifier]] = {
    "log": lambda _settings: LoggingSms(),
}


def gateway(settings: Settings) -> Notifier:
    """The gateway `CITYLOOP_SMS_GATEWAY` names (a worker with an unknown one does not start)."""
    make = GATEWAYS.get(settings.sms_gateway)
    if make is None:
        raise ValueError(
            f"CITYLOOP_SMS_GATEWAY={settings.sms_gateway!r} names no SMS gateway: "
            f"use one of {sorted(GATEWAYS)}"
        )
    return make(settings)
