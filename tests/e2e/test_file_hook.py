"""Files posted in a Rocket.Chat room reach the contact's files (issue 5, file hook):
through both events, once, size-limited, with hostile names kept as display text only."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.server import build_app
from store.db import session_factory
from store.models import ChatChannel, StoredFile
from store.services.contacts import ContactData, upsert_contact
from tests.databases import TestDatabase
from tests.e2e.test_webhook import TOKEN, make_settings, serving
from tests.fakes.rocketchat import FakeRocketChat
from tests.fakes.rocketchat_model import FakeFile, FakeRoom

WEBHOOK = "/webhooks/rocketchat"


async def _link(database: TestDatabase, room_id: str) -> int:
    async with session_factory(database.engine).begin() as session:
        contact, _ = await upsert_contact(session, ContactData("Ana", "Gil", "ana@example.com"))
        session.add(ChatChannel(contact_id=contact.id, room_id=room_id, room_name="acme"))
        return contact.id


async def _bot_says(rc: FakeRocketChat, room: FakeRoom, count: int) -> list[str]:
    """The bot's messages in ``room`` once there are ``count`` of them (bounded wait).

    Also waits for the fake to finish sending those messages back through the outgoing
    webhook, as Rocket.Chat does: a delivery still connecting when the test stops the server
    would be accepted after the server's shutdown and its socket never closed."""
    for _ in range(500):
        texts = [m.msg for m in rc.room_messages(room) if m.user.id == rc.bot.id]
        if len(texts) >= count:
            await rc.webhooks_idle()
            return texts
        await asyncio.sleep(0.01)
    raise AssertionError(f"the bot said {texts!r}")


async def _files(database: TestDatabase) -> list[StoredFile]:
    async with session_factory(database.engine)() as session:
        return list(await session.scalars(select(StoredFile).order_by(StoredFile.id)))


def _settings(
    rc: FakeRocketChat, database: TestDatabase, tmp_path: Path, **extra: object
) -> object:
    return make_settings(
        database.url, tmp_path / "files", rocketchat_url=rc.url,
        rocketchat_user_id=rc.bot.id, rocketchat_token=rc.bot.token, **extra,
    )  # fmt: skip


async def test_a_file_in_a_linked_room_is_stored_once(
    rc: FakeRocketChat, database: TestDatabase, tmp_path: Path
) -> None:
    ana = rc.add_user("ana")
    room = rc.add_room("acme", members=[ana, rc.bot])
    contact_id = await _link(database, room.id)
    await _crm_user(database, "ana")
    content = b"%PDF-1.4 invoice"
    async with serving(build_app(_settings(rc, database, tmp_path))) as (_, url):  # type: ignore[arg-type]
        rc.add_outgoing_webhook(url + WEBHOOK, TOKEN, event="sendMessage")
        rc.add_outgoing_webhook(url + WEBHOOK, TOKEN, event="fileUploaded")
        result = await rc.emit_message(room, ana, "", file=FakeFile("../../etc/passwd", content))
        said = await _bot_says(rc, room, 1)
    assert all(d.outcome == "success" for d in result.deliveries)
    (stored,) = await _files(database)
    assert stored.contact_id == contact_id
    assert stored.source == "chat"
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.name == "../../etc/passwd"  # display text only
    on_disk = list((tmp_path / "files").rglob("*"))
    assert [p.read_bytes() for p in on_disk if p.is_file()] == [content]
    assert all("etc" not in p.parts and "passwd" not in p.name for p in on_disk)
    assert len(said) == 1
    assert "passwd" in said[0]


async def _crm_user(database: TestDatabase, username: str) -> None:
    from store.services.users import set_role

    async with session_factory(database.engine).begin() as session:
        await set_role(session, username, "ventas")


async def test_oversize_and_unlinked_files_are_refused_politely(
    rc: FakeRocketChat, database: TestDatabase, tmp_path: Path
) -> None:
    ana = rc.add_user("ana")
    linked = rc.add_room("acme", members=[ana, rc.bot])
    loose = rc.add_room("loose", members=[ana, rc.bot])
    await _link(database, linked.id)
    await _crm_user(database, "ana")
    settings = _settings(rc, database, tmp_path, max_file_mb=1)
    async with serving(build_app(settings)) as (_, url):  # type: ignore[arg-type]
        rc.add_outgoing_webhook(url + WEBHOOK, TOKEN, event="fileUploaded")
        await rc.emit_message(linked, ana, "", file=FakeFile("big.bin", b"x" * (2 * 1024 * 1024)))
        too_big = await _bot_says(rc, linked, 1)
        await rc.emit_message(loose, ana, "", file=FakeFile("a.txt", b"hola"))
        unlinked = await _bot_says(rc, loose, 1)
    assert await _files(database) == []
    assert "1 MB" in too_big[0]
    assert "vincular" in unlinked[0]


@pytest.mark.parametrize(
    ("events", "caption"),
    [
        (("sendMessage",), ""),  # seen only as an empty message: chat.getMessage finds the file
        (("fileUploaded",), ""),
        (("sendMessage", "fileUploaded"), "la factura"),  # a caption does not hide the file
    ],
)
async def test_either_event_stores_the_file_exactly_once(
    rc: FakeRocketChat,
    database: TestDatabase,
    tmp_path: Path,
    events: tuple[str, ...],
    caption: str,
) -> None:
    ana = rc.add_user("ana")
    room = rc.add_room("acme", members=[ana, rc.bot])
    await _link(database, room.id)
    await _crm_user(database, "ana")
    async with serving(build_app(_settings(rc, database, tmp_path))) as (_, url):  # type: ignore[arg-type]
        for event in events:
            rc.add_outgoing_webhook(url + WEBHOOK, TOKEN, event=event)  # type: ignore[arg-type]
        await rc.emit_message(room, ana, caption, file=FakeFile("f.csv", b"a,b\n1,2\n"))
        said = await _bot_says(rc, room, 1)
    files = await _files(database)
    assert [(f.name, f.size) for f in files] == [("f.csv", 8)]
    assert len(said) == 1


async def test_a_file_during_an_outage_is_asked_again_with_one_log_line(
    rc: FakeRocketChat, database: TestDatabase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ana = rc.add_user("ana")
    room = rc.add_room("acme", members=[ana, rc.bot])
    await _link(database, room.id)
    await _crm_user(database, "ana")
    # Every try of the first webhook attempt fails (the transport's own retries included).
    rc.fail_next(4, status=502)  # nothing else calls Rocket.Chat before the download
    async with serving(build_app(_settings(rc, database, tmp_path))) as (_, url):  # type: ignore[arg-type]
        rc.add_outgoing_webhook(url + WEBHOOK, TOKEN, event="fileUploaded")
        with caplog.at_level("INFO", logger="webhooks"):
            result = await rc.emit_message(room, ana, "", file=FakeFile("f.csv", b"a,b\n"))
        said = await _bot_says(rc, room, 1)
    [delivery] = result.deliveries
    assert [a.status for a in delivery.attempts] == [503, 200]
    assert [(f.name, f.size) for f in await _files(database)] == [("f.csv", 4)]
    assert len(said) == 1
    outage = [r for r in caplog.records if "not recorded yet" in r.getMessage()]
    assert [(r.levelname, r.exc_info) for r in outage] == [("WARNING", None)]
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
