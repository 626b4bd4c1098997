"""IMAP polling against a real Dovecot on loopback (tests/support/dovecot.py), with a stand-in
ingest that records what it is handed (EMAIL.md §2(b), issue 6 item 4(c))."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.mail.imap import ImapAccount, ImapPoller
from bot.server import IMAP_KEY, build_app
from bot.settings import Settings, SettingsError
from store.db import session_factory
from store.models import Email
from tests.databases import TestDatabase
from tests.e2e.test_webhook import QueueTransport, make_settings, serving
from tests.support.dovecot import Dovecot, Mailbox, running_dovecot

MAX_BYTES = 64 * 1024
LONG = 3600.0  # a poll or IDLE renewal this far off never happens within a test


@dataclass(frozen=True)
class Result:
    email_id: int | None
    duplicate: bool = False
    refused: str | None = None


@dataclass
class Recorder:
    """Stands in for `MailIngest.ingest`: records the Message-IDs it is handed."""

    received: list[str] = field(default_factory=list)
    failures: int = 0  # the next this many calls raise, as a database outage would
    calls: int = 0

    async def __call__(self, raw: bytes, envelope_to: Sequence[str]) -> Result:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database is down")
        self.received.append(str(message_from_bytes(raw)["Message-ID"]))
        return Result(len(self.received))


def mail(number: int, body: str = "Hola") -> bytes:
    message = EmailMessage()
    message["From"] = "ana@vendor.test"
    message["To"] = "crm@crm.example.test"
    message["Subject"] = f"Oferta {number}"
    message["Message-ID"] = f"<m{number}@vendor.test>"
    message.set_content(body)
    return message.as_bytes(policy=policy.SMTP)


def account(mailbox: Mailbox) -> ImapAccount:
    return ImapAccount(mailbox.host, mailbox.port, mailbox.user, mailbox.password, use_ssl=False)


@asynccontextmanager
async def polling(
    mailbox: Mailbox, ingest: Recorder, *, poll_seconds: float = LONG
) -> AsyncIterator[ImapPoller]:
    poller = ImapPoller(
        account(mailbox), ingest, max_bytes=MAX_BYTES, poll_seconds=poll_seconds, idle_seconds=LONG
    )
    poller.start()
    try:
        yield poller
    finally:
        await poller.stop()


async def passes(poller: ImapPoller, count: int) -> None:
    async with asyncio.timeout(15):  # a guard against hanging, not a timing assumption
        await poller.wait_passes(count)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Mailbox:
    return dovecot.mailbox()


async def test_unseen_mail_is_ingested_once_marked_seen_and_not_again_after_a_restart(
    mailbox: Mailbox,
) -> None:
    await mailbox.append(mail(1), mail(2))
    ingest = Recorder()
    async with polling(mailbox, ingest) as poller:
        await passes(poller, 1)
    assert ingest.received == ["<m1@vendor.test>", "<m2@vendor.test>"]
    assert await mailbox.unseen() == []
    async with polling(mailbox, ingest) as poller:
        await passes(poller, 1)
    assert ingest.calls == 2


async def test_idle_brings_new_mail_without_waiting_for_a_poll(mailbox: Mailbox) -> None:
    ingest = Recorder()
    async with polling(mailbox, ingest) as poller:
        await passes(poller, 1)
        assert ingest.received == []
        await mailbox.append(mail(3))
        await passes(poller, 2)  # the IDLE push, not the hour-long poll, woke it
    assert ingest.received == ["<m3@vendor.test>"]
    assert await mailbox.unseen() == []


async def test_without_idle_the_folder_is_polled() -> None:
    with running_dovecot(idle=False) as server:
        mailbox = server.mailbox()
        ingest = Recorder()
        async with polling(mailbox, ingest, poll_seconds=0.05) as poller:
            await passes(poller, 1)
            await mailbox.append(mail(4))
            async with asyncio.timeout(15):  # a guard: each poll is a pass, the mail is in one
                while not ingest.received:
                    await poller.wait_passes(poller.passes + 1)
        assert ingest.received == ["<m4@vendor.test>"]
        assert await mailbox.unseen() == []


async def test_mail_stays_unseen_while_ingest_fails_and_is_taken_after_reconnecting(
    mailbox: Mailbox,
) -> None:
    await mailbox.append(mail(5))
    ingest = Recorder(failures=1)
    async with polling(mailbox, ingest) as poller:
        await passes(poller, 1)  # the first connection fails before a pass completes
    assert ingest.calls == 2
    assert ingest.received == ["<m5@vendor.test>"]
    assert await mailbox.unseen() == []


async def test_mail_over_the_size_limit_is_left_out_and_flagged(mailbox: Mailbox) -> None:
    await mailbox.append(mail(6, "x" * (MAX_BYTES + 1)), mail(7))
    ingest = Recorder()
    async with polling(mailbox, ingest) as poller:
        await passes(poller, 1)
    assert ingest.received == ["<m7@vendor.test>"]
    assert await mailbox.unseen() == []  # not fetched again on every pass


async def test_a_wrong_password_is_reported_and_stopping_ends_the_back_off(
    dovecot: Dovecot,
) -> None:
    mailbox = dovecot.mailbox()
    wrong = Mailbox(mailbox.host, mailbox.port, mailbox.user, "not-the-password")
    async with polling(wrong, Recorder()) as poller:
        async with asyncio.timeout(15):
            await poller.wait_failures(1)
        # Stopped during the back-off: the context's exit must not wait it out.
    assert poller.passes == 0
    assert poller.last_error is not None
    assert "LOGIN failed" in poller.last_error


def imap_settings(database: TestDatabase, files: Path, mailbox: Mailbox) -> Settings:
    return make_settings(
        database.url,
        files,
        imap_host=mailbox.host,
        imap_port=mailbox.port,
        imap_user=mailbox.user,
        imap_password=SecretStr(mailbox.password),
        imap_ssl=False,
    )


async def test_inside_serve_the_mailbox_is_stored_once_across_restarts(
    database: TestDatabase, tmp_path: Path, mailbox: Mailbox
) -> None:
    await mailbox.append(mail(8), mail(9))
    settings = imap_settings(database, tmp_path / "files", mailbox)
    for _run in range(2):
        app = build_app(settings, transport_factory=QueueTransport().factory)
        async with serving(app):
            await passes(app[IMAP_KEY], 1)
    async with session_factory(database.engine)() as session:
        subjects = list(await session.scalars(select(Email.subject).order_by(Email.id)))
    assert subjects == ["Oferta 8", "Oferta 9"]
    assert await mailbox.unseen() == []


def test_an_imap_host_without_a_password_stops_serve_with_one_clear_line(tmp_path: Path) -> None:
    settings = make_settings("sqlite+aiosqlite:///unused.db", tmp_path, imap_host="imap.test")
    with pytest.raises(SettingsError, match="CRMBOT_IMAP_USER is required"):
        build_app(settings)
