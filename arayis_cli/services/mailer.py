"""SMTP: the settings URL, building the message, sending it, classifying failures.

``ARAYIS_SMTP_URL``: ``smtp://host:port`` (plain), ``smtp+starttls://host:port``,
``smtps://host:port`` (TLS from the start), optionally ``user:password@host``.
``ARAYIS_MAIL_FROM``: the sender address.
"""

from __future__ import annotations

import html
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from types import TracebackType
from urllib.parse import unquote, urlsplit

from arayis_cli.errors import InvalidInput
from arayis_cli.i18n import N_, _

TIMEOUT = 30


@dataclass(frozen=True)
class SmtpSettings:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None
    sender: str

    @classmethod
    def parse(cls, smtp_url: str | None, mail_from: str | None) -> SmtpSettings:
        """Parsed from the ``ARAYIS_SMTP_URL`` / ``ARAYIS_MAIL_FROM`` settings' values."""
        url = smtp_url or ""
        sender = mail_from or ""
        if not url:
            raise InvalidInput(
                _("ARAYIS_SMTP_URL is not set (e.g. smtp+starttls://mail.example:587)")
            )
        if not sender:
            raise InvalidInput(_("ARAYIS_MAIL_FROM is not set (e.g. arayis@azersu.az)"))
        from arayis_cli.validation import parse_email

        sender = parse_email(sender)
        parts = urlsplit(url)
        defaults = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
        if parts.scheme not in defaults or not parts.hostname:
            raise InvalidInput(
                _("ARAYIS_SMTP_URL must be smtp://, smtp+starttls:// or smtps://host[:port]")
            )
        try:
            port = parts.port or defaults[parts.scheme]
        except ValueError:
            raise InvalidInput(_("ARAYIS_SMTP_URL has an invalid port")) from None
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            sender=sender,
        )


def build_message(
    *, sender: str, to: str, subject: str, body: str, message_id: str, date: datetime
) -> EmailMessage:
    """UTF-8 plain text with an HTML alternative; headers encoded per RFC 2047."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    from arayis_cli.validation import BAKU

    msg["Date"] = format_datetime(date.astimezone(BAKU))  # the office's time, +0400
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body, charset="utf-8")
    paragraphs = "".join(
        "<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in body.split("\n\n")
    )
    msg.add_alternative(
        f'<!DOCTYPE html><html lang="az"><meta charset="utf-8"><body>{paragraphs}</body></html>',
        subtype="html",
        charset="utf-8",
    )
    return msg


def new_message_id(sender: str) -> str:
    domain = sender.rpartition("@")[2] or "arayis.local"
    return make_msgid(idstring="arayis", domain=domain)


class TemporaryFailure(Exception):
    """Worth retrying later: connection trouble or a 4xx reply.

    ``str(exc)`` is the server's reply as it came (kept with the message, for support);
    ``code`` is the stable word a script branches on (``outbox send --json``)."""

    code = "smtp_deferred"


class PermanentFailure(Exception):
    """Will not succeed by retrying: a 5xx reply for this message."""

    def __init__(self, detail: str, code: str = "smtp_rejected") -> None:
        super().__init__(detail)
        self.code = code


class ConnectionFailure(TemporaryFailure):
    """The server cannot be reached or refused us: stop the batch, retry later.

    ``why`` says the same as the detail to a person, in their language."""

    code = "smtp_unreachable"

    def __init__(self, detail: str, why: str = "") -> None:
        super().__init__(detail)
        self.why = why or detail


#: The stable codes of a message's sending error, and what each says to a person (msgids;
#: ``{reply}`` is the server's three-digit reply code, ``{why}`` why it was unreachable).
SEND_ERRORS = {
    "smtp_rejected": N_(
        "the mail server refused it for good ({reply}); check the address: "
        "arayis outbox retry {id} --to EMAIL"
    ),
    "smtp_unsupported": N_(
        "the mail server cannot take this address (it needs SMTPUTF8); "
        "arayis outbox retry {id} --to EMAIL"
    ),
    "smtp_deferred": N_("the mail server asked to try later ({reply}); it will be retried"),
    "smtp_unreachable": N_("the mail server cannot be reached: {why}; it will be retried"),
}


def reply_code(detail: str) -> str:
    """The server's three-digit reply code at the start of ``detail``, or "—"."""
    head = detail[:3]
    return head if len(head) == 3 and head.isdigit() else "—"


def why_unreachable(exc: BaseException) -> str:
    """Why the SMTP server could not be used, in the operator's language (never the
    socket library's English)."""
    import socket

    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return _("it refused the user name or password")
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return _("the TLS connection failed (certificate or protocol)")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return _("it does not support STARTTLS or login")
    if isinstance(exc, socket.gaierror):
        return _("the host name is not known")
    if isinstance(exc, ConnectionRefusedError):
        return _("the connection was refused (is it running?)")
    if isinstance(exc, TimeoutError | socket.timeout):
        return _("it did not answer in time")
    if isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError):
        return _("the connection was closed")
    if isinstance(exc, smtplib.SMTPResponseException):
        return _("it answered {code}").format(code=exc.smtp_code)
    if isinstance(exc, OSError):
        return _("network error")
    return _("SMTP error")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return f"{exc.smtp_code} {text}".strip()[:300]
    return f"{type(exc).__name__}: {exc}"[:300]


class SmtpSender:
    """One SMTP connection for a batch; ``send`` raises one of the failure classes above."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.conn: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSender:
        s = self.settings
        try:
            if s.scheme == "smtps":
                self.conn = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=TIMEOUT, context=ssl.create_default_context()
                )
            else:
                self.conn = smtplib.SMTP(s.host, s.port, timeout=TIMEOUT)
                if s.scheme == "smtp+starttls":
                    self.conn.starttls(context=ssl.create_default_context())
            if s.username:
                self.conn.login(s.username, s.password or "")
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise ConnectionFailure(_describe(exc), why_unreachable(exc)) from None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (OSError, smtplib.SMTPException):
                self.conn.close()
            self.conn = None

    def send(self, msg: EmailMessage) -> None:
        if self.conn is None:  # closed, or dropped by an earlier failure: never connected here
            raise ConnectionFailure("not connected to the SMTP server", _("not connected"))
        try:
            self.conn.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            detail = "; ".join(
                f"{c} {m.decode('utf-8', 'replace') if isinstance(m, bytes) else m}"
                for c, m in exc.recipients.values()
            )[:300]
            if all(500 <= c < 600 for c in codes):
                raise PermanentFailure(detail) from None
            raise TemporaryFailure(detail) from None
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(_describe(exc)) from None
            raise TemporaryFailure(_describe(exc)) from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.conn = None
            raise ConnectionFailure(_describe(exc), why_unreachable(exc)) from None
        except smtplib.SMTPNotSupportedError as exc:
            # e.g. an address that needs SMTPUTF8 and a server without it: retrying the
            # same message to the same server cannot help (outbox retry --to can).
            raise PermanentFailure(_describe(exc), "smtp_unsupported") from None
        except smtplib.SMTPException as exc:
            raise TemporaryFailure(_describe(exc)) from None
