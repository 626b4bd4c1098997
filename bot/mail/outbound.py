"""Owns outbound mail: the relay URL, the MIME message with its PDF, and one SMTP delivery.

``CRMBOT_SMTP_RELAY_URL`` is ``smtp://[user:pass@]host[:port]`` (port 25 by default;
STARTTLS whenever the relay offers it) or ``smtps://…`` (implicit TLS, port 465 by
default). User and password are percent-decoded, so ``user%40example.com`` is allowed.
A password is never sent in clear: with credentials and a relay that is not on
loopback, ``smtp://`` insists on STARTTLS (EMAIL.md §4).
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from urllib.parse import unquote, urlsplit

import aiosmtplib

from store.types import utcnow

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
SMTP_STEP = 60.0
MAX_REASON = 300


@dataclass(frozen=True, slots=True)
class RelayConfig:
    """Where outbound mail goes and how to log in there."""

    host: str
    port: int
    implicit_tls: bool = False
    username: str = ""
    password: str = field(default="", repr=False)

    @property
    def on_loopback(self) -> bool:
        """Whether the relay is this machine (a password may then travel without TLS)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False

    @property
    def require_start_tls(self) -> bool | None:
        """aiosmtplib's ``start_tls``: None = upgrade when offered; True = insist on it."""
        if self.implicit_tls:
            return False
        return True if self.username and not self.on_loopback else None


def parse_relay_url(url: str) -> RelayConfig:
    """The relay described by ``url``; ValueError saying what is wrong with it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError("must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("has no host name")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:  # urlsplit's port check: not a number, or out of range
        raise ValueError("has an invalid port") from exc
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("must be only scheme, credentials, host and port")
    return RelayConfig(
        host=parts.hostname,
        port=port,
        implicit_tls=parts.scheme == "smtps",
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


def sender_address(relay: RelayConfig, mail_domain: str) -> str:
    """The From address: the relay login when it is an address (relays such as Gmail or
    Microsoft 365 refuse any other From), else the dropbox ``crm@<domain>``."""
    if valid_address(relay.username):
        return relay.username
    return f"crm@{mail_domain}"


def valid_address(text: str | None) -> str | None:
    """``text`` as a bare ASCII mail address, or None when it is not one."""
    candidate = (text or "").strip()
    if not candidate or not candidate.isascii() or any(c in candidate for c in '\r\n<>,;"() '):
        return None
    local, at, domain = candidate.rpartition("@")
    if not at or not local or "." not in domain.strip(".") or domain.startswith("."):
        return None
    try:
        Address(addr_spec=candidate)
    except (ValueError, IndexError):
        return None
    return candidate


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file to attach: display name, MIME type and bytes."""

    name: str
    mime_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """A message to build: addresses are bare (validated), names are display text."""

    message_id: str
    from_addr: str
    to_addr: str
    subject: str
    text: str
    from_name: str = ""
    to_name: str = ""
    reply_to: str = ""
    attachments: tuple[Attachment, ...] = ()


def build_message(mail: OutgoingMail) -> EmailMessage:
    """The MIME message (policy.default refuses header injection: CR/LF in a header)."""
    message = EmailMessage()
    message["Message-ID"] = mail.message_id
    message["Date"] = format_datetime(utcnow())
    message["From"] = Address(_one_line(mail.from_name), addr_spec=mail.from_addr)
    message["To"] = Address(_one_line(mail.to_name), addr_spec=mail.to_addr)
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    message["Subject"] = _one_line(mail.subject)
    message.set_content(mail.text)
    for attachment in mail.attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        message.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.name
        )
    return message


def as_bytes(message: EmailMessage) -> bytes:
    """The exact bytes sent and stored (CRLF line ends, as on the wire)."""
    return message.as_bytes(policy=SMTP)


def _one_line(text: str) -> str:
    return " ".join(text.split())


class RelayError(Exception):
    """The relay did not take the mail. ``permanent``: retrying cannot help (5xx, bad setup)."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason[:MAX_REASON]
        self.permanent = permanent


async def deliver(
    relay: RelayConfig, sender: str, recipient: str, raw: bytes, *, step_seconds: float = SMTP_STEP
) -> None:
    """Hand ``raw`` to the relay for ``recipient``; RelayError when it is not accepted.

    Each SMTP step may take ``step_seconds``; the whole exchange at most three times that.
    """
    client = aiosmtplib.SMTP(
        hostname=relay.host,
        port=relay.port,
        username=relay.username or None,
        password=relay.password or None,
        use_tls=relay.implicit_tls,
        start_tls=relay.require_start_tls,
        timeout=step_seconds,
    )
    try:
        async with asyncio.timeout(step_seconds * 3), client:
            await client.sendmail(sender, [recipient], raw)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients
        reason = _describe(refused[0]) if refused else str(exc)
        raise RelayError(reason, permanent=all(r.code >= 500 for r in refused)) from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise RelayError(_describe(exc), permanent=exc.code >= 500) from exc
    except (aiosmtplib.SMTPNotSupported, ssl.SSLCertVerificationError) as exc:
        # A setup problem (no STARTTLS where a password needs it, an untrusted
        # certificate): the same attempt would fail the same way.
        raise RelayError(str(exc) or type(exc).__name__, permanent=True) from exc
    except (aiosmtplib.SMTPException, OSError) as exc:  # unreachable, timed out, cut off
        raise RelayError(str(exc) or type(exc).__name__, permanent=False) from exc


def _describe(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {' '.join(exc.message.split())}".strip()
