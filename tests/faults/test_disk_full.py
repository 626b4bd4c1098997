"""The file store's disk filling up while a chat file or an emailed attachment is being stored.

The fault is injected at the lowest write FileStore makes (its `_write` of the temporary file):
half the bytes go out, then `OSError(ENOSPC)`, as a real full disk does. Whoever delivered the
bytes is asked to try again (Rocket.Chat's webhook gets 503, which it retries; the email
webhook 503 with its signature released; SMTP 451), nothing half-written or temporary is left,
no row points at bytes that are not there, and once there is space again the redelivery stores
the file exactly once.
"""

from __future__ import annotations

import errno
import hashlib
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import BinaryIO

import aiohttp
import aiosmtplib
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.chatfmt import as_shown
from bot.file_intake import FILE_SUFFIX
from bot.server import build_app
from bot.storage import Store
from store.filestore import FileStore, StoredBlob
from store.models import Blob, Email, EmailWebhookSignature, Outbox, StoredFile
from store.services.contacts import ContactData, upsert_contact
from tests.databases import TestDatabase
from tests.e2e.test_webhook import QueueTransport, make_settings, serving
from tests.fakes.rocketchat import FakeRocketChat
from tests.fakes.rocketchat_model import FakeFile, FakeRoom
from tests.faults import invariants
from tests.faults.harness import (
    all_delivered,
    bot_settings,
    bot_texts,
    crm_user,
    link_room,
    running_bot,
    store_of,
    wait_until,
)
from webhooks.email import SIGNATURE_HEADER, sign

CONTENT = b"%PDF-1.4 " + bytes(range(256)) * 64  # 16 KiB: a half-write is visible
SECRET = "email-hook-secret-disk"
SENDER, DROPBOX = "ana@acme.test", "crm@crm.localhost"


class Disk:
    """The file store's disk: full or not; counts the writes it refused and those under way."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = False
        self.refused = 0
        self._busy = 0
        self._lock = threading.Lock()
        write, put = FileStore._write, FileStore.put
        disk = self

        def write_to_disk(store: FileStore, handle: BinaryIO, data: bytes) -> None:
            if not disk.full:
                write(store, handle, data)
                return
            handle.write(data[: len(data) // 2])  # what fitted before the disk filled up
            handle.flush()
            with disk._lock:  # writes run in worker threads
                disk.refused += 1
            raise OSError(errno.ENOSPC, "No space left on device")

        async def tracked_put(store: FileStore, data: bytes) -> StoredBlob:
            # Mail puts run side by side: the request is answered at the first failure while
            # a sibling may still be cleaning up in its thread, so a test waits for them all.
            disk._busy += 1
            try:
                return await put(store, data)
            finally:
                disk._busy -= 1

        monkeypatch.setattr(FileStore, "_write", write_to_disk)
        monkeypatch.setattr(FileStore, "put", tracked_put)

    async def settled(self) -> None:
        async def idle() -> bool:
            return self._busy == 0

        await wait_until(idle, "every file write finished")


async def count(store: Store, *models: type[object]) -> list[int]:
    async with store.sessions() as session:
        return [
            int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for model in models
        ]


# ---------------------------------------------------------------- a file posted in the chat


@dataclass
class RetryWait:
    """Rocket.Chat's wait before retrying a delivery (§1.7). It looks at what the failed
    attempt left behind (files on disk; blob, file and outbox rows), and meanwhile the
    operator frees space, unless the disk is to stay full."""

    store: Store
    disk: Disk
    space_returns: bool = True
    left: list[tuple[list[Path], list[int]]] = field(default_factory=list)

    async def __call__(self, _delay: float) -> None:
        on_disk = invariants.files_on_disk(self.store.files)
        self.left.append((on_disk, await count(self.store, Blob, StoredFile, Outbox)))
        if self.space_returns:
            self.disk.full = False


@dataclass
class ChatWorld:
    """A room linked to a contact, and a user allowed to post files there."""

    rc: FakeRocketChat
    store: Store
    room: FakeRoom
    disk: Disk
    retry: RetryWait

    async def bot_said(self, n: int) -> list[str]:
        async def answered() -> bool:
            return len(bot_texts(self.rc, self.room)) >= n

        await wait_until(answered, f"{n} messages from the bot")
        await all_delivered(self.store, self.rc)
        return bot_texts(self.rc, self.room)


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> Disk:
    return Disk(monkeypatch)


@pytest.fixture
async def chat(database: TestDatabase, tmp_path: Path, disk: Disk) -> AsyncIterator[ChatWorld]:
    store = store_of(database, tmp_path / "files")
    retry = RetryWait(store, disk)
    async with FakeRocketChat(webhook_sleep=retry) as rc:
        ana = rc.add_user("ana")
        room = rc.add_room("acme", members=[ana, rc.bot])
        async with store.sessions.begin() as session:
            contact, _ = await upsert_contact(session, ContactData("Ana", "Gil", "ana@acme.test"))
        await link_room(store, room.id, contact.id)
        await crm_user(store, ana, "ventas")
        yield ChatWorld(rc, store, room, disk, retry)


async def test_a_chat_file_on_a_full_disk_is_retried_and_stored_once(
    chat: ChatWorld, database: TestDatabase, tmp_path: Path
) -> None:
    settings = bot_settings(chat.rc, database.url, tmp_path / "files")
    chat.disk.full = True
    async with running_bot(chat.rc, settings, events=("sendMessage", "fileUploaded")):
        sent = await chat.rc.emit_message(
            chat.room, "ana", "", file=FakeFile("factura.pdf", CONTENT)
        )
        (said,) = await chat.bot_said(1)
    first, second = sent.deliveries
    assert [a.status for a in first.attempts] == [503, 200]  # Rocket.Chat retries a 503
    assert first.attempts[0].body == b'{"error": "temporarily unavailable"}'  # no traceback
    assert [a.status for a in second.attempts] == [200]  # the other event: a duplicate
    assert chat.disk.refused == 1
    assert chat.retry.left == [([], [0, 0, 0])]  # the failed attempt left no bytes and no rows
    (stored,) = await files_of(chat.store)
    assert (stored.name, stored.size) == ("factura.pdf", len(CONTENT))
    assert stored.sha256 == hashlib.sha256(CONTENT).hexdigest()
    assert [p.read_bytes() for p in invariants.files_on_disk(chat.store.files)] == [CONTENT]
    assert as_shown(said).startswith("📎 Guardado *factura.pdf* (16393 bytes)")
    acknowledged = [sent.message.id + FILE_SUFFIX]
    await invariants.check_all(
        chat.store.sessions, chat.store.files, rc=chat.rc, acknowledged=acknowledged
    )


async def test_a_disk_full_past_every_retry_leaves_nothing_and_a_repost_is_stored_once(
    chat: ChatWorld, database: TestDatabase, tmp_path: Path
) -> None:
    settings = bot_settings(chat.rc, database.url, tmp_path / "files")
    chat.disk.full = True
    chat.retry.space_returns = False
    async with running_bot(chat.rc, settings, events=("fileUploaded",)):
        lost = await chat.rc.emit_message(chat.room, "ana", "", file=FakeFile("a.pdf", CONTENT))
        (delivery,) = lost.deliveries
        # Rocket.Chat gives up after its retries; nothing at all was kept meanwhile.
        assert delivery.outcome == "too-many-retries"
        assert {a.status for a in delivery.attempts} == {503}
        assert chat.retry.left == [([], [0, 0, 0])] * (len(delivery.attempts) - 1)
        assert invariants.files_on_disk(chat.store.files) == []
        # Space again: the user posts the file once more, and it is stored once.
        chat.disk.full = False
        again = await chat.rc.emit_message(chat.room, "ana", "", file=FakeFile("a.pdf", CONTENT))
        (said,) = await chat.bot_said(1)
    assert chat.disk.refused == len(delivery.attempts)
    assert as_shown(said).startswith("📎 Guardado *a.pdf*")
    assert [(f.name, f.sha256) for f in await files_of(chat.store)] == [
        ("a.pdf", hashlib.sha256(CONTENT).hexdigest())
    ]
    acknowledged = [again.message.id + FILE_SUFFIX]
    await invariants.check_all(
        chat.store.sessions, chat.store.files, rc=chat.rc, acknowledged=acknowledged
    )


async def files_of(store: Store) -> list[StoredFile]:
    async with store.sessions() as session:
        return list(await session.scalars(select(StoredFile).order_by(StoredFile.id)))


# ---------------------------------------------------------------- an emailed attachment


def mail_with_attachment() -> bytes:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = DROPBOX
    message["Subject"] = "Factura de mayo"
    message["Message-ID"] = "<disk-full-1@acme.test>"
    message.set_content("Adjunto la factura.")
    message.add_attachment(CONTENT, maintype="application", subtype="pdf", filename="mayo.pdf")
    return message.as_bytes(policy=policy.SMTP)


@dataclass
class MailSender:
    """Delivers one message through the signed HTTP webhook or SMTP, as its sender would."""

    door: str
    url: str
    smtp_port: int
    http: aiohttp.ClientSession

    async def deliver(self, raw: bytes, timestamp: int) -> tuple[int, object]:
        """The answer: HTTP status and JSON body, or SMTP reply code and text."""
        if self.door == "http":
            signature = sign(SECRET.encode(), timestamp, raw)
            headers = {"Content-Type": "message/rfc822", SIGNATURE_HEADER: signature}
            async with self.http.post(
                self.url + "/webhooks/email", data=raw, headers=headers
            ) as response:
                return response.status, await response.json()
        try:
            await aiosmtplib.send(
                raw, sender=SENDER, recipients=[DROPBOX], hostname="127.0.0.1",
                port=self.smtp_port, timeout=30,
            )  # fmt: skip
        except aiosmtplib.SMTPDataError as refused:
            return refused.code, refused.message
        return 250, ""


@pytest.mark.parametrize("door", ["http", "smtp"])
async def test_an_emailed_attachment_on_a_full_disk_is_refused_cleanly_then_stored_once(
    database: TestDatabase, tmp_path: Path, disk: Disk, door: str, unused_tcp_port: int
) -> None:
    store = store_of(database, tmp_path / "files")
    async with store.sessions.begin() as session:
        contact, _ = await upsert_contact(session, ContactData("Ana", "Gil", SENDER))
    await link_room(store, "room-acme", contact.id)
    transport = QueueTransport()
    doors: dict[str, object] = {"email_webhook_secret": SecretStr(SECRET)}
    if door == "smtp":
        doors["smtp_port"] = unused_tcp_port
    settings = make_settings(database.url, tmp_path / "files", **doors)
    raw, now = mail_with_attachment(), int(time.time())
    app = build_app(settings, transport_factory=transport.factory)
    async with serving(app) as (_runner, url), aiohttp.ClientSession() as http:
        sender = MailSender(door, url, unused_tcp_port, http)
        disk.full = True
        refused = await sender.deliver(raw, now)
        await disk.settled()
        disk.full = False
        left_behind = invariants.files_on_disk(store.files)
        rows = await count(store, Email, Blob, StoredFile, Outbox, EmailWebhookSignature)
        first = await sender.deliver(raw, now)  # the same delivery again (signature released)
        again = await sender.deliver(raw, now + 1)  # and once more, after it was stored
        notice = await transport.received()
    assert disk.refused >= 1
    assert (left_behind, rows) == ([], [0, 0, 0, 0, 0])  # nothing kept, not even half
    if door == "http":
        assert refused == (503, {"error": "temporarily unavailable"})
        assert first == (200, {"email_id": 1, "duplicate": False})
        assert again == (200, {"email_id": 1, "duplicate": True})
    else:
        assert refused == (451, "4.3.0 Temporary failure, try again later")
        assert first == again == (250, "")
    (stored,) = await files_of(store)
    assert (stored.name, stored.sha256) == ("mayo.pdf", hashlib.sha256(CONTENT).hexdigest())
    assert await count(store, Email, Outbox) == [1, 1]  # one email, one notice to its room
    assert transport.sent == [notice]
    assert notice.room_id == "room-acme"
    await invariants.check_all(store.sessions, store.files)
