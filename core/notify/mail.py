"""E-mail over SMTP (the standard library's smtplib), and a stand-in that only logs.

One connection per message: notifications come a few a minute, and a connection that is
never kept open cannot go stale between the sender's runs.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from core.config import Settings
from core.logs import get_logger
from core.notify.notifier import Message, NotifyError

log = get_logger(__name__)


class SmtpEmail:
    """Sends through the SMTP server the settings name (`smtp_*`)."""

    def __init__(self, settings: Settings) -> None:
        self._s = settings

    def send(self, message: Message) -> None:
        mail = self._compose(message)
        try:
            with self._connect() as smtp:
                if self._s.smtp_user:
                    smtp.login(self._s.smtp_user, self._s.smtp_password.get_secret_value())
                smtp.send_message(mail)
        except (smtplib.SMTPException, OSError) as err:
            raise NotifyError(f"smtp {type(err).__name__}: {err}"[:500]) from err
        log.info("email_sent", to=message.to, message_id=message.message_id)

    def _compose(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self._s.smtp_sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = formatdate()
        mail["Message-ID"] = f"<{message.message_id}>"
        mail.set_content(message.body)
        return mail

    def _connect(self) -> smtplib.SMTP:
        s = self._s
        timeout = s.smtp_timeout_seconds
        if s.smtp_tls == "ssl":
            return smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=timeout, context=ssl.create_default_context()
            )
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=timeout)
        if s.smtp_tls == "starttls":
            try:
                smtp.starttls(context=ssl.create_default_context())
            except BaseException:
                smtp.close()
                raise
        return smtp


class LoggingEmail:
    """No SMTP server configured (`smtp_host` empty): log the e-mail instead of sending it.

    The address is masked on the log line (core/privacy/scrub.py masks e-mails in every line).
    """

    def send(self, message: Message) -> None:
        log.info(
            "email_logged_not_sent",
            to=message.to,
            subject=message.subject,
            message_id=message.message_id,
        )
