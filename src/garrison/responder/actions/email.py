"""The email action: a mail about the response, sent through the site's SMTP server.

The message is built by a pure function (``build_message``); the sending follows the
``[smtp]`` settings: STARTTLS when the server offers it (``auto``), or always
(``require``), or never; a login only over TLS, never in clear text. Each way a send can
fail ends in an ``ActionFailed`` whose reason names the server and what went wrong, and
says whether another attempt can help.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from ssl import SSLContext, SSLError
from typing import TYPE_CHECKING, ClassVar

import aiosmtplib
from pydantic import Field, field_validator

from garrison.responder.actions.base import (
    ActionConfig,
    ActionContext,
    ActionFailed,
    ActionResult,
    ActionType,
)
from garrison.responder.actions.outbound_tls import outbound_tls_context
from garrison.responder.actions.registry import register
from garrison.responder.templates import render

if TYPE_CHECKING:
    from garrison.config.settings import SmtpSettings

DEFAULT_SUBJECT = "[Garrison] {policy}: {address} ({phase}, {trigger})"
DEFAULT_BODY = """\
Garrison's Responder ran policy "{policy}" for {address} ({phase} actions).

Response:   {response_id}
Trigger:    {trigger}
Reason:     {reason}
Address:    {address}
MAC:        {mac}
User:       {user}
Opened at:  {opened_at}
Expires at: {expires_at}

Triggering events ({event_count}):
{events}
"""
RESPONSE_HEADER = "X-Garrison-Response"

# An addr-spec we are willing to hand to an MTA: a dot-atom local part and a domain of
# labels or an address literal. Quoted local parts and display names are refused: a
# policy names mailboxes, and anything fancier is more likely a typo than a need.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(
    rf"{_ATEXT}(?:\.{_ATEXT})*@(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\]|\[IPv6:[0-9A-Fa-f:.]+\])"
)


def check_address(value: str) -> str:
    """A mailbox ``local@domain``; raises ValueError saying what is wrong with it."""
    address = value.strip()
    if not _ADDRESS.fullmatch(address) or len(address) > 254:
        raise ValueError(f"{value!r} is not an email address (expected local@domain)")
    return address


class EmailConfig(ActionConfig):
    """Settings of one email action in a policy."""

    TEMPLATES: ClassVar[tuple[str, ...]] = ("subject", "body")

    to: list[str] = Field(min_length=1, description="recipients; at least one")
    cc: list[str] = Field(default_factory=list, description="copy recipients")
    subject: str = Field(DEFAULT_SUBJECT, min_length=1, max_length=998)
    body: str = Field(DEFAULT_BODY, max_length=1_000_000)
    server: str = Field("", description="SMTP server for this action; empty: [smtp] host")
    port: int | None = Field(None, ge=1, le=65535, description="empty: [smtp] port")

    @field_validator("to", "cc")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        return [check_address(v) for v in values]

    @field_validator("server")
    @classmethod
    def _server(cls, value: str) -> str:
        value = value.strip()
        if value and (any(c.isspace() for c in value) or "/" in value):
            raise ValueError(f"{value!r} is not a host name or address")
        return value


def build_message(
    *,
    sender: str,
    to: Sequence[str],
    cc: Sequence[str],
    subject: str,
    body: str,
    response_id: int,
    now: datetime | None = None,
) -> EmailMessage:
    """The mail, ready to send (no sockets here). Line breaks in the subject (an event
    name can carry one) become spaces: a header cannot hold them."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = " ".join(subject.split())
    message["Date"] = format_datetime(now or datetime.now(UTC))
    domain = sender.rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(f"garrison.{response_id}", domain=domain)
    message[RESPONSE_HEADER] = str(response_id)
    message.set_content(body)
    return message


@register
class EmailAction(ActionType[EmailConfig]):
    kind: ClassVar[str] = "email"
    title: ClassVar[str] = "Send an email about the host through the SMTP server"
    config_type: ClassVar[type[ActionConfig]] = EmailConfig

    async def run(self, context: ActionContext) -> ActionResult:
        smtp = self.services.settings.smtp
        host = self.config.server or smtp.host
        if not host:
            raise ActionFailed(
                "no SMTP server configured: set host in [smtp] or server in the action",
                retryable=False,
            )
        port = self.config.port or smtp.port
        values = context.values()
        message = build_message(
            sender=smtp.sender,
            to=self.config.to,
            cc=self.config.cc,
            subject=render(self.config.subject, values),
            body=render(self.config.body, values),
            response_id=context.response_id,
        )
        recipients = [*self.config.to, *self.config.cc]
        refused = await send_mail(
            message, smtp.sender, recipients, host=host, port=port, smtp=smtp,
            tls=self._tls_context(smtp),
        )  # fmt: skip
        accepted = [r for r in recipients if r not in refused]
        detail = f"mailed {', '.join(accepted)} through {host}:{port}"
        if refused:
            detail += "; refused: " + "; ".join(f"{r} ({why})" for r, why in refused.items())
        return ActionResult(
            detail=detail,
            data={"message_id": str(message["Message-ID"]), "recipients": ",".join(accepted)},
        )

    def _tls_context(self, smtp: SmtpSettings) -> SSLContext | None:
        """The context for STARTTLS; None when TLS is off. Built per send (cheap, and a
        changed CA file takes effect without a restart)."""
        if smtp.starttls == "never":
            return None
        return outbound_tls_context(
            self.services, ca_file=smtp.ca_file, verify_tls=smtp.verify_tls, what="SMTP"
        )


async def send_mail(
    message: EmailMessage,
    sender: str,
    recipients: Sequence[str],
    *,
    host: str,
    port: int,
    smtp: SmtpSettings,
    tls: SSLContext | None,
) -> dict[str, str]:
    """Send one message; returns the recipients the server refused (with its answer)
    when it took the others. Raises ActionFailed for everything else."""
    where = f"SMTP server {host}:{port}"
    client = aiosmtplib.SMTP(
        hostname=host,
        port=port,
        timeout=smtp.timeout_seconds,
        start_tls=False,  # decided below, after EHLO, by our own rules
        # EHLO name: the host name, without the DNS lookup socket.getfqdn() makes.
        local_hostname=socket.gethostname() or "localhost",
    )
    try:
        try:
            await client.connect()
            await client.ehlo()
        except aiosmtplib.SMTPTimeoutError:
            raise ActionFailed(f"connection to {where} timed out") from None
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, OSError) as exc:
            raise ActionFailed(f"connection to {where} failed: {_why(exc)}") from None
        await _maybe_starttls(client, where, host, smtp, tls)
        if smtp.username:
            await _login(client, where, smtp)
        try:
            errors, _ = await client.send_message(message, sender=sender, recipients=recipients)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            answers = "; ".join(f"{e.recipient}: {e.code} {e.message}" for e in exc.recipients)
            temporary = all(400 <= e.code < 500 for e in exc.recipients)
            raise ActionFailed(
                f"{where} refused every recipient: {answers}", retryable=temporary
            ) from None
        except aiosmtplib.SMTPSenderRefused as exc:
            raise ActionFailed(
                f"{where} refused the sender {sender}: {exc.code} {exc.message}",
                retryable=400 <= exc.code < 500,
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise ActionFailed(
                f"{where} refused the message: {exc.code} {exc.message}",
                retryable=not 500 <= exc.code < 600,
            ) from None
        except aiosmtplib.SMTPTimeoutError:
            raise ActionFailed(f"{where} stopped answering while sending") from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise ActionFailed(f"sending through {where} failed: {_why(exc)}") from None
        return {r: f"{code} {text}" for r, (code, text) in errors.items()}
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


async def _maybe_starttls(
    client: aiosmtplib.SMTP, where: str, host: str, smtp: SmtpSettings, tls: SSLContext | None
) -> None:
    if smtp.starttls == "never" or tls is None:
        return
    if not client.supports_extension("starttls"):
        if smtp.starttls == "require":
            raise ActionFailed(
                f"{where} does not offer STARTTLS, and [smtp] starttls is 'require'",
                retryable=False,
            )
        return
    try:
        await client.starttls(tls_context=tls, server_hostname=host)
    except aiosmtplib.SMTPTimeoutError:
        raise ActionFailed(f"TLS handshake with {where} timed out") from None
    except (SSLError, aiosmtplib.SMTPException, OSError) as exc:
        reason = _why(exc)
        # A certificate that does not verify will not verify on the next attempt either.
        untrusted = "certificate" in reason.lower()
        raise ActionFailed(
            f"STARTTLS with {where} failed: {reason}", retryable=not untrusted
        ) from None


async def _login(client: aiosmtplib.SMTP, where: str, smtp: SmtpSettings) -> None:
    if client.get_transport_info("sslcontext") is None:
        raise ActionFailed(
            f"refusing to send the SMTP password in clear text: {where} is not using TLS "
            f"(it did not offer STARTTLS, or [smtp] starttls is 'never')",
            retryable=False,
        )
    await client.ehlo()  # the AUTH mechanisms offered over TLS
    methods = [m for m in ("plain", "login", "cram-md5") if m in client.server_auth_methods]
    if not methods:
        raise ActionFailed(
            f"{where} offers no login mechanism Garrison speaks (PLAIN, LOGIN, CRAM-MD5); "
            f"it offers: {', '.join(client.server_auth_methods) or 'none'}",
            retryable=False,
        )
    # One attempt with one mechanism: trying each in turn after a refusal (as
    # aiosmtplib's login() does) counts against the account's lockout for nothing.
    login = getattr(client, "auth_" + methods[0].replace("-", ""))
    try:
        await login(smtp.username, smtp.password)
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise ActionFailed(
            f"{where} refused the login of user {smtp.username!r}: {exc.code} {exc.message}",
            retryable=False,
        ) from None
    except aiosmtplib.SMTPTimeoutError:
        raise ActionFailed(f"{where} stopped answering during the login") from None
    except aiosmtplib.SMTPException as exc:  # e.g. no AUTH offered, no common mechanism
        raise ActionFailed(f"cannot log in to {where}: {_why(exc)}", retryable=False) from None


def _why(exc: BaseException) -> str:
    """The error's own words, without the exception class noise."""
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"
    verify = getattr(exc, "verify_message", None)  # ssl.SSLCertVerificationError
    if isinstance(exc, SSLError) and exc.reason:
        return f"{exc.reason}: {verify}" if verify else str(exc.reason)
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())
