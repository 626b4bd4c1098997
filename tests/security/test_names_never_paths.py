"""No path from a file's or an attachment's name to the file system (or to another URL).

Hostile names (traversal, absolute paths, Windows paths, NUL and other controls, a
thousand characters, look-alike slashes, bidi overrides) arrive the two ways names reach
crmbot: a file posted in a linked Rocket.Chat room (the file hook, over real HTTP from the
fake Rocket.Chat) and attachments of a mail posted to the signed email webhook. Afterwards:

* the bytes are on disk only as ``files/ab/cd/<sha256 of the bytes>``, and nothing else was
  created anywhere: not under the files directory, not in the working directory, not where
  any of the names would point from either;
* the download from Rocket.Chat went to ``/file-upload/<file id>/…`` (the name, escaped,
  never became path segments that reach another route);
* each name is kept as display text only: what the contact's files list shows.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.server import build_app
from store.db import session_factory
from store.models import ChatChannel, StoredFile
from store.services.contacts import ContactData, upsert_contact
from store.services.users import set_role
from tests.databases import TestDatabase
from tests.e2e.test_webhook import TOKEN, make_settings, serving
from tests.fakes.rocketchat import FakeRocketChat
from tests.fakes.rocketchat_model import FakeFile
from webhooks.email import SIGNATURE_HEADER, sign

SECRET = "names-hook-secret"
CONTACT_EMAIL = "ana@cliente.test"
_CONTENT_ADDRESSED = re.compile(r"([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})")


def hostile_names(outside: Path) -> list[str]:
    """Names that would write somewhere else if any of them became a path."""
    return [
        "../../etc/passwd",
        "../../../../../../../../../../tmp/crmbot-escape.txt",
        "/etc/passwd",
        str(outside / "absolute.txt"),
        "..\\..\\windows\\system32\\drivers\\etc\\hosts",
        "C:\\Users\\Public\\evil.exe",
        "dir/../../escape.txt",
        "\u2025\uff0f\u2025\uff0fetc\uff0fpasswd",  # look-alike dots and slashes
        "%2e%2e%2f%2e%2e%2fescape.txt",
        "name\x00.txt",
        "\x1b[31mred\x07\r\nX-Injected: 1.txt",
        "\u202etxt.exe",
        ".",
        "..",
        "~/.ssh/authorized_keys",
        "a" * 1000 + ".pdf",
        "ñ" * 300 + ".txt",
    ]


def tree(root: Path) -> set[str]:
    """Every file under ``root`` (relative paths)."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def check_content_addressed(files_dir: Path, contents: set[bytes]) -> None:
    """Only ``ab/cd/<sha256>`` files, each holding the bytes its name is the hash of."""
    stored = {}
    for relative in tree(files_dir):
        match = _CONTENT_ADDRESSED.fullmatch(relative)
        assert match is not None, f"{relative} is not a content address"
        data = (files_dir / relative).read_bytes()
        assert hashlib.sha256(data).hexdigest() == match[3]
        assert match[3].startswith(match[1] + match[2])
        stored[match[3]] = data
    assert contents <= set(stored.values())


def check_nowhere_else(names: list[str], bases: list[Path], contents: set[bytes]) -> None:
    """None of the names, taken as a path from any of ``bases``, holds any of the bytes."""
    for name in names:
        if "\x00" in name:
            continue  # not a path on any system
        for base in bases:
            target = Path(os.path.normpath(os.path.join(base, name)))
            try:
                found = target.read_bytes() if target.is_file() else None
            except OSError:  # a name too long to be a path
                found = None
            assert found not in contents, target


async def _seed(database: TestDatabase, room_id: str) -> None:
    async with session_factory(database.engine).begin() as session:
        contact, _ = await upsert_contact(session, ContactData("Ana", "Gil", CONTACT_EMAIL))
        session.add(ChatChannel(contact_id=contact.id, room_id=room_id, room_name="acme"))
        await set_role(session, "ana", "ventas")


async def _stored(database: TestDatabase) -> list[StoredFile]:
    async with session_factory(database.engine)() as session:
        return list(await session.scalars(select(StoredFile).order_by(StoredFile.id)))


async def _until_stored(database: TestDatabase, count: int) -> list[StoredFile]:
    for _ in range(1000):  # a bounded wait for the inbox, not a timing assumption
        found = await _stored(database)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError(f"only {len(found)} of {count} files were stored")


def _visible(name: str) -> str:
    """A name as display text: what a reader can see of it."""
    return "".join(ch for ch in name if ch.isprintable() or ch == " ").strip()


async def test_chat_file_names_are_display_text_only(
    rc: FakeRocketChat,
    sqlite_database: TestDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    workdir, outside = tmp_path / "cwd", tmp_path / "outside"
    workdir.mkdir()
    outside.mkdir()
    monkeypatch.chdir(workdir)  # a relative path written by mistake would land here
    files_dir = tmp_path / "files"
    names = hostile_names(outside)
    contents = {f"chat file {i}".encode() for i in range(len(names))}
    ana = rc.add_user("ana")
    room = rc.add_room("acme", members=[ana, rc.bot])
    await _seed(sqlite_database, room.id)
    settings = make_settings(
        sqlite_database.url, files_dir, rocketchat_url=rc.url, rocketchat_user_id=rc.bot.id,
        rocketchat_token=rc.bot.token,
    )  # fmt: skip
    before = tree(tmp_path)
    async with serving(build_app(settings)) as (_, url):
        rc.add_outgoing_webhook(url + "/webhooks/rocketchat", TOKEN, event="fileUploaded")
        uploads = []
        for i, name in enumerate(names):
            result = await rc.emit_message(
                room, ana, "", file=FakeFile(name, f"chat file {i}".encode())
            )
            uploads.append(result.message.file)
        stored = await _until_stored(sqlite_database, len(names))
    assert [f.name for f in stored] == [_visible(n)[:255] or "archivo" for n in names]
    assert all(f.sha256 == hashlib.sha256(f"chat file {i}".encode()).hexdigest()
               for i, f in enumerate(stored))  # fmt: skip
    # Downloads went to the file's own route, whatever its name.
    downloads = [r for r in rc.requests if r.method == "GET" and "/file-upload/" in r.path]
    assert len(downloads) == len(names)
    for record, upload in zip(downloads, uploads, strict=True):
        assert upload is not None
        assert record.path.startswith(f"/file-upload/{upload['_id']}/")
        assert record.status == 200
    check_content_addressed(files_dir, contents)
    database_file = sqlite_database.url.rpartition("/")[2]
    new = {p for p in tree(tmp_path) - before if not p.startswith(database_file)}  # its journal
    assert {p for p in new if not p.startswith("files/")} == set()
    assert tree(workdir) == set()
    assert tree(outside) == set()
    check_nowhere_else(names, [files_dir, files_dir / "ab" / "cd", workdir], contents)


def _mail_with(names: list[str]) -> tuple[bytes, set[bytes]]:
    message = EmailMessage()
    message["From"] = CONTACT_EMAIL
    message["To"] = "crm@crm.localhost"
    message["Subject"] = "Adjuntos"
    message["Message-ID"] = "<names@cliente.test>"
    message.set_content("Van adjuntos.")
    contents = set()
    for i, name in enumerate(names):
        data = f"attachment {i}".encode()
        contents.add(data)
        message.add_attachment(data, maintype="application", subtype="octet-stream")
        # RFC 2231 encoding carries any character, CR, LF and NUL included, in a name.
        part = list(message.iter_attachments())[-1]
        del part["Content-Disposition"]
        part["Content-Disposition"] = f"attachment; filename*=utf-8''{quote(name, safe='')}"
    return message.as_bytes(policy=policy.SMTP), contents


async def test_email_attachment_names_are_display_text_only(
    sqlite_database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workdir, outside = tmp_path / "cwd", tmp_path / "outside"
    workdir.mkdir()
    outside.mkdir()
    monkeypatch.chdir(workdir)
    files_dir = tmp_path / "files"
    names = hostile_names(outside)
    raw, contents = _mail_with(names)
    await _seed(sqlite_database, "room-acme")
    settings = make_settings(sqlite_database.url, files_dir, email_webhook_secret=SecretStr(SECRET))
    async with serving(build_app(settings)) as (_, url), aiohttp.ClientSession() as http:
        headers = {
            "Content-Type": "message/rfc822",
            SIGNATURE_HEADER: sign(SECRET.encode(), int(time.time()), raw),
        }
        async with http.post(f"{url}/webhooks/email", data=io.BytesIO(raw), headers=headers) as r:
            assert r.status == 200, await r.text()
    stored = await _stored(sqlite_database)
    assert sorted(f.sha256 for f in stored) == sorted(
        hashlib.sha256(c).hexdigest() for c in contents
    )
    for file in stored:
        assert "/" not in file.name, file.name
        assert "\\" not in file.name, file.name
        assert file.name == _visible(file.name)
        assert 0 < len(file.name) <= 255
        assert file.name not in (".", "..")
    shown = {f.name for f in stored}
    assert "passwd" in shown
    assert "hosts" in shown
    assert "authorized_keys" in shown
    check_content_addressed(files_dir, contents | {raw})
    assert tree(workdir) == set()
    assert tree(outside) == set()
    check_nowhere_else(names, [files_dir, files_dir / "ab" / "cd", workdir], contents)
