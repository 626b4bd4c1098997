"""`POST /webhooks/email` of the `crmbot serve` app over real HTTP on loopback, with the real
ingest, on SQLite and PostgreSQL (CONTRACT §3; issue 6 item 4(b)): signed, fresh, once."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.server import build_app
from store.db import session_factory
from store.models import ChatChannel, Email, EmailWebhookSignature, Outbox
from store.services.contacts import ContactData, upsert_contact
from store.signatures import SignatureLedger
from tests.databases import TestDatabase
from tests.e2e.test_webhook import QueueTransport, dead_database, make_settings, serving
from webhooks.email import SIGNATURE_HEADER, email_webhook, sign

SECRET = "email-hook-secret-9Qp"
PATH = "/webhooks/email"


@dataclass
class Hook:
    url: str
    http: aiohttp.ClientSession
    transport: QueueTransport
    database: TestDatabase

    async def post(
        self,
        body: bytes,
        *,
        signature: str | None = None,
        content_type: str = "message/rfc822",
    ) -> tuple[int, object]:
        """POST ``body``, signed now with the right secret unless ``signature`` is given."""
        headers = {"Content-Type": content_type}
        header = signature if signature is not None else sign(SECRET.encode(), now(), body)
        if header:
            headers[SIGNATURE_HEADER] = header
        async with self.http.post(
            self.url + PATH, data=io.BytesIO(body), headers=headers
        ) as response:
            return response.status, await response.json()

    async def stored(self) -> tuple[int, int, int]:
        """(emails, seen signatures, outbox rows) in the database."""
        return await stored(self.database)


async def stored(database: TestDatabase) -> tuple[int, int, int]:
    async with session_factory(database.engine)() as session:
        counts = [
            await session.scalar(select(func.count()).select_from(model))
            for model in (Email, EmailWebhookSignature, Outbox)
        ]
    emails, signatures, outbox = (count or 0 for count in counts)
    return emails, signatures, outbox


def now() -> int:
    return int(time.time())


def mail(number: int = 1, sender: str = "ana@vendor.test") -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "crm@crm.localhost"
    message["Subject"] = f"Oferta {number}"
    message["Message-ID"] = f"<hook-{number}@vendor.test>"
    message.set_content("Adjunto la oferta.")
    return message.as_bytes(policy=policy.SMTP)


@asynccontextmanager
async def running(
    database: TestDatabase, tmp_path: Path, **settings: object
) -> AsyncIterator[Hook]:
    transport = QueueTransport()
    values: dict[str, object] = {"email_webhook_secret": SecretStr(SECRET)} | settings
    app = build_app(
        make_settings(database.url, tmp_path / "files", **values),
        transport_factory=transport.factory,
    )
    async with serving(app) as (_runner, url), aiohttp.ClientSession() as http:
        yield Hook(url, http, transport, database)


@pytest.fixture
async def hook(database: TestDatabase, tmp_path: Path) -> AsyncIterator[Hook]:
    async with running(database, tmp_path) as hook:
        yield hook


async def test_a_signed_message_is_stored_once(hook: Hook) -> None:
    signed_at = now()
    status, answer = await hook.post(mail(), signature=sign(SECRET.encode(), signed_at, mail()))
    assert status == 200
    assert isinstance(answer, dict)
    assert answer["duplicate"] is False
    assert isinstance(answer["email_id"], int)
    # The same message signed afresh (a sender's retry): the same email, not a copy. Its
    # time is the first one's minus a second, never equal to it: with ``now() - 1`` a
    # first post that crossed a second boundary was re-signed identically, a replay.
    resigned = sign(SECRET.encode(), signed_at - 1, mail())
    assert await hook.post(mail(), signature=resigned) == (
        200,
        {"email_id": answer["email_id"], "duplicate": True},
    )
    assert (await hook.stored())[:2] == (1, 2)


async def test_the_linked_room_hears_of_a_new_email(hook: Hook) -> None:
    async with session_factory(hook.database.engine).begin() as session:
        contact, _ = await upsert_contact(session, ContactData("Ana", "Gil", "ana@vendor.test"))
        session.add(ChatChannel(contact_id=contact.id, room_id="room-acme", room_name="acme"))
    assert (await hook.post(mail()))[0] == 200
    notice = await hook.transport.received()
    assert notice.room_id == "room-acme"
    assert "Oferta 1" in notice.text


def _tampered(body: bytes) -> str:
    return sign(SECRET.encode(), now(), body + b" ")


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param("", id="missing"),
        pytest.param(sign(b"another-secret", now(), mail()), id="wrong-secret"),
        pytest.param(_tampered(mail()), id="signed-other-bytes"),
        pytest.param(f"t={now()}", id="no-v1"),
        pytest.param(f"v1={'0' * 64}", id="no-t"),
        pytest.param(f"t={now()},v1=zz{'0' * 62}", id="v1-not-hex"),
        pytest.param(f"t=-{now()},v1={'0' * 64}", id="negative-t"),
        pytest.param("garbage", id="garbage"),
    ],
)
async def test_a_bad_signature_is_refused_and_nothing_stored(hook: Hook, signature: str) -> None:
    assert await hook.post(mail(), signature=signature) == (
        401,
        {"error": "invalid or missing signature"},
    )
    assert await hook.stored() == (0, 0, 0)


@pytest.mark.parametrize("offset", [-301, 301], ids=["301-s-old", "301-s-ahead"])
async def test_a_stale_signature_is_refused_and_nothing_stored(hook: Hook, offset: int) -> None:
    body = mail()
    status, answer = await hook.post(body, signature=sign(SECRET.encode(), now() + offset, body))
    assert (status, answer) == (401, {"error": "timestamp more than 300 s off"})
    assert await hook.stored() == (0, 0, 0)


async def test_a_signature_within_the_window_is_accepted(hook: Hook) -> None:
    body = mail()
    status, _answer = await hook.post(body, signature=sign(SECRET.encode(), now() - 290, body))
    assert status == 200


async def test_a_replayed_signature_is_refused(hook: Hook) -> None:
    body = mail()
    signature = sign(SECRET.encode(), now(), body)
    assert (await hook.post(body, signature=signature))[0] == 200
    stored_once = await hook.stored()
    assert await hook.post(body, signature=signature) == (
        401,
        {"error": "signature already used"},
    )
    assert await hook.stored() == stored_once


async def test_concurrent_replays_are_stored_once(hook: Hook) -> None:
    body = mail()
    signature = sign(SECRET.encode(), now(), body)
    answers = await asyncio.gather(*(hook.post(body, signature=signature) for _ in range(4)))
    assert sorted(status for status, _ in answers) == [200, 401, 401, 401]
    assert (await hook.stored())[:2] == (1, 1)


async def test_a_replay_is_refused_by_another_process_on_the_database(
    database: TestDatabase, tmp_path: Path
) -> None:
    body = mail()
    signature = sign(SECRET.encode(), now(), body)
    async with (
        running(database, tmp_path / "a") as first,
        running(database, tmp_path / "b") as second,
    ):
        assert (await first.post(body, signature=signature))[0] == 200
        assert (await second.post(body, signature=signature))[0] == 401


async def test_without_a_secret_the_endpoint_is_not_found(
    database: TestDatabase, tmp_path: Path
) -> None:
    async with running(database, tmp_path, email_webhook_secret=None) as hook:
        status, _answer = await hook.post(mail())
    assert status == 404
    assert await stored(database) == (0, 0, 0)


async def test_a_body_over_the_size_limit_is_refused_and_nothing_stored(
    database: TestDatabase, tmp_path: Path
) -> None:
    async with running(database, tmp_path, max_file_mb=1) as hook:
        body = mail() + b"x" * (1024 * 1024)
        status, answer = await hook.post(body)
        assert (status, answer) == (413, {"error": "body larger than 1048576 bytes"})
        assert await hook.stored() == (0, 0, 0)


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        pytest.param(mail(), "application/json", 415, id="not-rfc822"),
        pytest.param(b"", "message/rfc822", 400, id="empty"),
        pytest.param(b"\r\n \r\n", "message/rfc822", 400, id="blank"),
    ],
)
async def test_a_bad_body_is_refused_and_nothing_stored(
    hook: Hook, body: bytes, content_type: str, status: int
) -> None:
    assert (await hook.post(body, content_type=content_type))[0] == status
    assert await hook.stored() == (0, 0, 0)


async def test_a_message_the_ingest_refuses_is_an_error_and_its_signature_is_released(
    hook: Hook,
) -> None:
    nested = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"--b\r\n\r\nx\r\n" * 20_000
    status, answer = await hook.post(nested)
    assert status == 400
    assert answer == {"error": "message refused: too_complex"}
    assert await hook.stored() == (0, 0, 0)


async def test_when_the_database_is_down_the_sender_is_asked_to_retry(tmp_path: Path) -> None:
    transport = QueueTransport()
    settings = make_settings(
        "sqlite+aiosqlite:///unused.db",
        tmp_path / "files",
        email_webhook_secret=SecretStr(SECRET),
    )
    app = build_app(settings, transport_factory=transport.factory, store_opener=dead_database)
    body = mail()
    headers = {
        "Content-Type": "message/rfc822",
        SIGNATURE_HEADER: sign(SECRET.encode(), now(), body),
    }
    async with (
        serving(app) as (_runner, url),
        aiohttp.ClientSession() as http,
        http.post(url + PATH, data=body, headers=headers) as response,
    ):
        assert response.status == 503
        assert await response.json() == {"error": "temporarily unavailable"}


@dataclass(frozen=True)
class Stored:
    email_id: int | None
    duplicate: bool = False
    refused: str | None = None


async def test_a_failure_to_store_releases_the_signature_so_the_sender_may_retry(
    database: TestDatabase,
) -> None:
    attempts: list[bytes] = []

    async def ingest(raw: bytes) -> Stored:
        attempts.append(raw)
        if len(attempts) == 1:
            raise ConnectionError("database is down")
        return Stored(7)

    app = web.Application()
    ledger = SignatureLedger(session_factory(database.engine))
    app.router.add_post(PATH, email_webhook(ingest, ledger, secret=SECRET, max_body=1 << 20))
    body = mail()
    headers = {
        "Content-Type": "message/rfc822",
        SIGNATURE_HEADER: sign(SECRET.encode(), now(), body),
    }
    async with serving(app) as (_runner, url), aiohttp.ClientSession() as http:
        for status in (503, 200):  # the retry carries the very same signature
            async with http.post(url + PATH, data=body, headers=headers) as response:
                assert response.status == status
    assert (await stored(database))[1] == 1
