"""The inbound SMTP listener over real SMTP on loopback (smtplib in a thread), with a stand-in
ingest that records what it is handed (EMAIL.md §2(a), issue 6 item 4(a))."""

from __future__ import annotations

import asyncio
import smtplib
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import func, select

from bot.mail.smtp import SmtpListener, smtp_listener
from bot.server import SMTP_KEY, build_app
from bot.settings import SettingsError
from store.db import session_factory
from store.models import Email
from tests.databases import TestDatabase
from tests.e2e.test_webhook import QueueTransport, make_settings, serving

DOMAIN = "crm.example.test"
MAX_BYTES = 64 * 1024
SENDER = "ana@vendor.test"


@dataclass(frozen=True)
class Result:
    email_id: int | None
    duplicate: bool = False
    refused: str | None = None


@dataclass
class Recorder:
    """Stands in for `MailIngest.ingest`: records the bytes and envelope it is handed."""

    received: list[tuple[bytes, tuple[str, ...]]] = field(default_factory=list)
    failures: int = 0  # the next this many calls raise, as a database outage would
    refusal: str | None = None

    async def __call__(self, raw: bytes, envelope_to: Sequence[str]) -> Result:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database is down")
        if self.refusal:
            return Result(None, refused=self.refusal)
        self.received.append((raw, tuple(envelope_to)))
        return Result(len(self.received))


@dataclass
class Server:
    listener: SmtpListener
    ingest: Recorder

    async def send(self, message: EmailMessage, to: Sequence[str]) -> dict[str, tuple[int, bytes]]:
        """Send as an MTA would (SIZE declared at MAIL); the recipients refused, by address."""
        return await asyncio.to_thread(self._send, wire(message), list(to))

    def _send(self, raw: bytes, to: list[str]) -> dict[str, tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", self.listener.port, timeout=10) as client:
            return client.sendmail(SENDER, to, raw)


def message(number: int = 1, body: str = "Hola, adjunto la oferta.") -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = SENDER
    mail["To"] = f"crm@{DOMAIN}"
    mail["Subject"] = f"Oferta {number}"
    mail["Message-ID"] = f"<offer-{number}@vendor.test>"
    mail.set_content(body)
    return mail


def wire(mail: EmailMessage) -> bytes:
    """The message as it travels over SMTP, lines ending in CRLF."""
    return mail.as_bytes(policy=policy.SMTP)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    ingest = Recorder()
    listener = smtp_listener(ingest, domain=DOMAIN, max_bytes=MAX_BYTES)
    await listener.start("127.0.0.1", 0)
    try:
        yield Server(listener, ingest)
    finally:
        await listener.stop()


async def test_mail_for_the_dropbox_is_ingested_once(server: Server) -> None:
    assert await server.send(message(), [f"crm@{DOMAIN}"]) == {}
    [(raw, envelope)] = server.ingest.received
    assert envelope == (f"crm@{DOMAIN}",)
    assert b"Message-ID: <offer-1@vendor.test>" in raw
    assert raw.endswith(b"Hola, adjunto la oferta.\r\n")  # the bytes as sent, CRLF on the wire


@pytest.mark.parametrize(
    "address", [f"CRM@{DOMAIN.upper()}", f"crm+42@{DOMAIN}", f"Crm+7@{DOMAIN.title()}"]
)
async def test_plus_addresses_and_any_case_are_accepted(server: Server, address: str) -> None:
    assert await server.send(message(), [address]) == {}
    assert [envelope for _, envelope in server.ingest.received] == [(address,)]


@pytest.mark.parametrize(
    "address",
    [
        "victim@gmail.test",
        f"crm@mail.{DOMAIN}",
        f"crm@{DOMAIN}.evil.test",
        f"sales@{DOMAIN}",
        f"crmx@{DOMAIN}",
        f"crm+abc@{DOMAIN}",
        f"crm+@{DOMAIN}",
        f"x-crm@{DOMAIN}",
    ],
)
async def test_any_other_recipient_is_refused_with_550(server: Server, address: str) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        await server.send(message(), [address])
    assert refused.value.recipients[address][0] == 550
    assert server.ingest.received == []


async def test_only_the_dropbox_recipients_of_a_mixed_envelope_are_taken(server: Server) -> None:
    refused = await server.send(message(), ["boss@other.test", f"crm+3@{DOMAIN}"])
    assert refused["boss@other.test"][0] == 550
    [(_raw, envelope)] = server.ingest.received
    assert envelope == (f"crm+3@{DOMAIN}",)


async def test_oversize_mail_declared_at_mail_from_is_refused_with_552(server: Server) -> None:
    big = message(body=("x" * 70 + "\n") * 1000)  # 71 KB, over the 64 KiB limit
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await server.send(big, [f"crm@{DOMAIN}"])
    assert refused.value.smtp_code == 552
    assert server.ingest.received == []


async def test_oversize_mail_streamed_without_a_size_is_refused_with_552(server: Server) -> None:
    def send_undeclared() -> tuple[int, bytes]:
        raw = wire(message(body=("x" * 70 + "\n") * 1000))
        with smtplib.SMTP("127.0.0.1", server.listener.port, timeout=10) as client:
            client.ehlo()
            client.mail(SENDER)  # no SIZE=: the limit is met while DATA streams in
            client.rcpt(f"crm@{DOMAIN}")
            return client.data(raw)  # the final reply, unlike sendmail, is returned

    code, _text = await asyncio.to_thread(send_undeclared)
    assert code == 552
    assert server.ingest.received == []


async def test_a_failure_to_store_is_temporary_and_the_retry_is_taken(server: Server) -> None:
    server.ingest.failures = 1
    with pytest.raises(smtplib.SMTPDataError) as failed:
        await server.send(message(), [f"crm@{DOMAIN}"])
    assert failed.value.smtp_code == 451  # 4xx: the sending MTA keeps it and retries
    assert server.ingest.received == []
    assert await server.send(message(), [f"crm@{DOMAIN}"]) == {}
    assert len(server.ingest.received) == 1


async def test_mail_the_ingest_refuses_is_answered_with_a_permanent_error(server: Server) -> None:
    server.ingest.refusal = "too_complex"
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await server.send(message(), [f"crm@{DOMAIN}"])
    assert refused.value.smtp_code == 554
    assert b"too_complex" in refused.value.smtp_error


async def test_stop_closes_sessions_left_open(server: Server) -> None:
    def open_session() -> smtplib.SMTP:
        client = smtplib.SMTP("127.0.0.1", server.listener.port, timeout=10)
        client.ehlo()
        return client

    client = await asyncio.to_thread(open_session)
    try:
        async with asyncio.timeout(10):  # a guard: stop must not wait for the idle client
            await server.listener.stop()
        with pytest.raises(smtplib.SMTPServerDisconnected):
            await asyncio.to_thread(client.noop)
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_inside_serve_mail_is_stored_once_in_the_database(
    database: TestDatabase, tmp_path: Path
) -> None:
    settings = make_settings(
        database.url, tmp_path / "files", smtp_port=free_port(), mail_domain=DOMAIN
    )
    app = build_app(settings, transport_factory=QueueTransport().factory)
    async with serving(app):
        server = Server(app[SMTP_KEY], Recorder())
        assert await server.send(message(), [f"crm@{DOMAIN}"]) == {}
        assert await server.send(message(), [f"crm+1@{DOMAIN}"]) == {}  # a duplicate: 250 too
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            await server.send(message(2), ["someone@else.test"])
    async with session_factory(database.engine)() as session:
        subjects = list(await session.scalars(select(Email.subject)))
        assert await session.scalar(select(func.count()).select_from(Email)) == 1
    assert subjects == ["Oferta 1"]


async def test_a_busy_smtp_port_stops_serve_with_one_clear_line(
    database: TestDatabase, tmp_path: Path
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        settings = make_settings(database.url, tmp_path / "files", smtp_port=port)
        app = build_app(settings, transport_factory=QueueTransport().factory)
        runner = web.AppRunner(app)
        with pytest.raises(SettingsError, match=f"CRMBOT_SMTP_HOST/CRMBOT_SMTP_PORT: .*:{port}"):
            await runner.setup()
        await runner.cleanup()  # what `run_app` does: the resources opened before are closed
