"""`enviar <número>` / `send <number>` (issue 6 §6, CONTRACT §4): the PDF reaches a real SMTP
server on loopback, the room, the contact's history; refusals change nothing. Every test
runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import TypeVar

import pytest
from aiosmtpd.smtp import SMTP as SmtpServer
from aiosmtpd.smtp import Envelope, Session
from pydantic import SecretStr
from pypdf import PdfReader
from sqlalchemy import func, select

from bot.bootstrap import build_chat, sender_config
from bot.chatfmt import as_shown
from bot.commands.base import ChatConfig
from bot.mail.outbound import parse_relay_url
from bot.mail.sender import DocumentSender, SenderConfig
from bot.server import build_app
from bot.settings import SettingsError
from bot.shell import ShellSession
from bot.storage import Store
from bot.transport.shell import ShellTransport
from store.filestore import FileStore, FileStoreError, StoredBlob
from store.models import (
    Base,
    ChatChannel,
    Document,
    Email,
    EmailContact,
    EmailFile,
    EmailRecord,
    SendJob,
    StoredFile,
)
from store.services.catalogue import VendorData, upsert_vendor
from store.services.contacts import ContactData, upsert_contact
from store.services.documents import DocumentDraft, LineDraft, create_document
from store.services.users import set_role
from store.vocab import DocumentKind
from tests.chat import Chat
from tests.databases import TestDatabase
from tests.e2e.test_webhook import TOKEN, make_settings, serving
from tests.fakes.rocketchat import FakeRocketChat

T = TypeVar("T")
DOMAIN = "crm.example.test"
VENDOR_EMAIL = "pedidos@ferreteria.example"
CONTACT_EMAIL = "ana@example.com"
PO, QUOTE = "OC-00001", "COT-00001"
ROLES = {"marta": "admin", "carlos": "compras", "vera": "ventas", "luis": "lectura"}
NBSP = "\u00a0"


# --- a real SMTP server on loopback, in the test's own loop ----------------------------------


@dataclass
class Sink:
    """Collects what the relay accepts; may refuse recipients for good or for now."""

    refuse: str = ""  # e.g. "550 5.1.1 mailbox unavailable"
    busy: int = 0  # how many recipients to answer 451 first
    envelopes: list[Envelope] = field(default_factory=list)
    arrived: asyncio.Queue[Envelope] = field(default_factory=asyncio.Queue)
    url: str = ""

    async def handle_RCPT(
        self, server: SmtpServer, session: Session, envelope: Envelope, address: str, _: object
    ) -> str:
        if self.refuse:
            return self.refuse
        if self.busy:
            self.busy -= 1
            return "451 4.3.2 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SmtpServer, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        self.arrived.put_nowait(envelope)
        return "250 2.0.0 queued"

    async def next_mail(self) -> tuple[Envelope, EmailMessage]:
        async with asyncio.timeout(10):  # a guard against hanging, not a timing assumption
            envelope = await self.arrived.get()
        assert isinstance(envelope.content, bytes)
        message = message_from_bytes(envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        return envelope, message


@asynccontextmanager
async def smtp_sink(sink: Sink) -> AsyncIterator[Sink]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SmtpServer(sink, hostname="sink.test"), "127.0.0.1", 0
    )
    sink.url = f"smtp://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    async with smtp_sink(Sink()) as running:
        yield running


# --- the CRM side --------------------------------------------------------------------------


@dataclass
class World:
    contact_id: int
    po_id: int


async def seed(
    store: Store,
    *,
    vendor_email: str | None = VENDOR_EMAIL,
    contact_email: str | None = CONTACT_EMAIL,
    rooms: dict[str, str] | None = None,
) -> World:
    """Roles, Ana García with a PO (DOMAIN §2's worked lines) and a quote, linked rooms."""
    async with store.sessions.begin() as s:
        for user, role in ROLES.items():
            await set_role(s, user, role)
        ana, _ = await upsert_contact(s, ContactData("Ana", "García", email=contact_email))
        vendor, _ = await upsert_vendor(s, VendorData("Ferretería Sur", email=vendor_email))
        lines = [
            LineDraft("Tornillo M4", Decimal(10), Decimal("12.50"), sku="TOR-M4",
                      tax_name="IVA 21 %", tax_rate=Decimal(21), discount_percent=Decimal(10)),
            LineDraft("Montaje", Decimal(3), Decimal("40.00"), tax_name="IVA 21 %",
                      tax_rate=Decimal(21), discount_amount=Decimal("5.00")),
        ]  # fmt: skip
        po, _ = await create_document(
            s,
            DocumentDraft(DocumentKind.PURCHASE_ORDER, ana.id, "Material de obra",
                          dt.date(2026, 11, 28), lines, vendor_id=vendor.id,
                          terms="Pago a 30 días."),
        )  # fmt: skip
        await create_document(
            s,
            DocumentDraft(DocumentKind.QUOTE, ana.id, "Reforma de oficina", dt.date(2026, 11, 28),
                          lines, valid_until=dt.date(2026, 12, 28)),
        )  # fmt: skip
        for room_id, name in (rooms or {"room-1": "acme", "room-2": "acme-obra"}).items():
            s.add(ChatChannel(contact_id=ana.id, room_id=room_id, room_name=name))
        return World(ana.id, po.id)


async def count(store: Store, model: type[Base]) -> int:
    async with store.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def status_of(store: Store, number: str) -> str | None:
    async with store.sessions() as s:
        return await s.scalar(select(Document.status).where(Document.number == number))


def pdf_text(data: bytes) -> str:
    pages = PdfReader(io.BytesIO(data)).pages
    return "\n".join(page.extract_text() for page in pages).replace(NBSP, " ")


def the_pdf(message: EmailMessage) -> tuple[str | None, bytes]:
    (attachment,) = message.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    content = attachment.get_content()
    assert isinstance(content, bytes)
    return attachment.get_filename(), content


def mail_chat(store: Store, relay_url: str, *, locale: str = "es", **config: float) -> Chat:
    """The transcript harness with the send worker wired as `crmbot serve` wires it."""
    chat = Chat(store, locale=locale, fixed_role=None)
    sender = SenderConfig(parse_relay_url(relay_url), DOMAIN, **config)  # type: ignore[arg-type]
    chat.app = build_chat(
        store, chat.transport, ChatConfig(), locale=locale, fixed_role=None, sender=sender
    )
    return chat


async def send(chat: Chat, text: str, *, user: str = "carlos", room: str = "room-1") -> list[str]:
    """Say ``text``, let the worker run what it queued, and return what ``room`` heard."""
    before = len(chat.transport.sent)
    await chat.say(text, user=user, room=room)
    if chat.app.sender is not None:
        await chat.app.sender.drain()
    await chat.app.notifier.drain()
    return [m.text for m in chat.transport.sent[before:] if m.room_id == room]


async def until(check: Callable[[], T | None], what: str) -> T:
    """``check()`` once it is truthy (bounded wait)."""
    for _ in range(1000):
        found = check()
        if found:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError(f"never saw {what}")


# --- through `crmbot serve` and a faithful fake Rocket.Chat ----------------------------------


async def test_a_purchase_order_reaches_the_vendor_the_room_and_the_history(
    rc: FakeRocketChat, database: TestDatabase, store: Store, sink: Sink, tmp_path: Path
) -> None:
    carlos = rc.add_user("carlos")
    room, other = (rc.add_room(name, members=[carlos, rc.bot]) for name in ("acme", "obra"))
    world = await seed(store, rooms={room.id: "acme", other.id: "obra"})
    settings = make_settings(
        database.url, tmp_path / "files", rocketchat_url=rc.url, rocketchat_user_id=rc.bot.id,
        rocketchat_token=rc.bot.token, smtp_relay_url=SecretStr(sink.url), mail_domain=DOMAIN,
    )  # fmt: skip
    async with serving(build_app(settings)) as (_, url):
        rc.add_outgoing_webhook(url + "/webhooks/rocketchat", TOKEN, event="sendMessage")
        await rc.emit_message(room, carlos, f"!enviar {PO}")
        envelope, message = await sink.next_mail()
        posted = await until(
            lambda: [m for m in rc.room_messages(room) if m.file], "the PDF in the room"
        )
        said = await until(
            lambda: [m.msg for m in rc.room_messages(room) if m.msg.startswith("✅")],
            "the confirmation",
        )
        noticed = await until(
            lambda: [m.msg for m in rc.room_messages(other) if m.user.id == rc.bot.id], "notice"
        )
        await rc.webhooks_idle()  # the bot's own messages, sent back through the webhook
    pdf = check_vendor_mail(sink, envelope, message, world)
    # The room: the PDF through rooms.media + rooms.mediaConfirm, and what happened.
    (upload,) = rc.uploads
    assert (upload.confirmed, upload.content, upload.name) == (True, pdf, f"{PO}.pdf")
    assert posted[0].user.id == rc.bot.id
    assert "Enviada al proveedor" in said[0]
    assert "carlos" in noticed[0]
    assert PO in noticed[0]
    await check_history(store, world, message, envelope, pdf)


def check_vendor_mail(sink: Sink, envelope: Envelope, message: EmailMessage, world: World) -> bytes:
    """One mail in the vendor's inbox, the PDF attached with the number and DOMAIN §2's total."""
    assert len(sink.envelopes) == 1
    assert envelope.rcpt_tos == [VENDOR_EMAIL]
    assert envelope.mail_from == f"crm@{DOMAIN}"
    assert message["To"] == f"Ferretería Sur <{VENDOR_EMAIL}>"
    assert message["Subject"] == f"Orden de compra {PO} · Material de obra"
    assert message["Reply-To"] == f"crm+{world.contact_id}@{DOMAIN}"
    name, pdf = the_pdf(message)
    assert name == f"{PO}.pdf"
    text = pdf_text(pdf)
    assert PO in text
    assert "Total 275,28 €" in text
    return pdf


async def check_history(
    store: Store, world: World, message: EmailMessage, envelope: Envelope, pdf: bytes
) -> None:
    """PO sent; an outbound email and a file of the contact, linked; the job done."""
    assert await status_of(store, PO) == "sent"
    async with store.sessions() as s:
        (email,) = await s.scalars(select(Email))
        (file,) = await s.scalars(select(StoredFile))
        (job,) = await s.scalars(select(SendJob))
        contact = await s.scalar(
            select(EmailContact.contact_id).where(EmailContact.email_id == email.id)
        )
        record = await s.scalar(select(EmailRecord.record_number))
        attached = await s.scalar(select(EmailFile.file_id).where(EmailFile.email_id == email.id))
    assert (email.direction, email.message_id) == ("outbound", message["Message-ID"])
    assert email.raw_sha256 == hashlib.sha256(envelope.original_content or b"").hexdigest()
    assert (contact, record, attached) == (world.contact_id, PO, file.id)
    assert (file.contact_id, file.source, file.name) == (world.contact_id, "upload", f"{PO}.pdf")
    assert file.sha256 == hashlib.sha256(pdf).hexdigest()
    assert (job.status, job.email_id, job.file_id) == ("done", email.id, file.id)


# --- transcripts through the same pipeline, the worker drained after each line ---------------


async def test_a_quote_goes_to_the_contact_in_english(store: Store, sink: Sink) -> None:
    world = await seed(store)
    async with mail_chat(store, sink.url, locale="en") as chat:
        said = await send(chat, f"send {QUOTE}", user="vera")
    _, message = await sink.next_mail()
    assert message["To"] == f"Ana García <{CONTACT_EMAIL}>"
    assert message["Subject"] == f"Quote {QUOTE} · Reforma de oficina"
    name, pdf = the_pdf(message)
    text = pdf_text(pdf)
    assert (name, QUOTE in text, "Total €275.28" in text) == (f"{QUOTE}.pdf", True, True)
    assert said[0].startswith(f"📤 Sending quote `{QUOTE}` *Reforma de oficina* to *Ana García*")
    assert said[1].startswith(f"✅ Sent `{QUOTE}` *Reforma de oficina*")
    assert "Status" not in said[1]  # a quote keeps its status
    assert "room-2" in {m.room_id for m in chat.transport.sent}  # the other room was told
    assert await status_of(store, QUOTE) == "created"
    async with store.sessions() as s:
        (file,) = await s.scalars(select(StoredFile))
        email = await s.scalar(select(Email))
    assert (file.contact_id, file.name) == (world.contact_id, f"{QUOTE}.pdf")
    assert email is not None
    assert email.subject == message["Subject"]


async def test_without_a_relay_nothing_is_sent_or_changed(store: Store) -> None:
    await seed(store)
    async with Chat(store, fixed_role=None) as chat:
        (said,) = await chat.say(f"enviar {PO}", user="carlos")
    assert "CRMBOT_SMTP_RELAY_URL" in said
    assert "No he cambiado nada" in said
    assert await count(store, SendJob) == 0
    assert await status_of(store, PO) == "created"


@pytest.mark.parametrize(
    ("number", "user", "seeded", "shown"),
    [
        (PO, "carlos", {"vendor_email": None}, "el proveedor *Ferretería Sur* no tiene email"),
        (QUOTE, "vera", {"contact_email": None}, "el contacto *Ana García* no tiene email"),
        (PO, "carlos", {"vendor_email": "pedidos en ferretería"}, "tiene un email que no es"),
    ],
)
async def test_no_address_no_mail(
    store: Store, sink: Sink, number: str, user: str, seeded: dict[str, str | None], shown: str
) -> None:
    await seed(store, **seeded)  # type: ignore[arg-type]
    async with mail_chat(store, sink.url) as chat:
        (said,) = await send(chat, f"enviar {number}", user=user)
    assert shown in said
    assert "No he cambiado nada" in said
    assert (await count(store, SendJob), sink.envelopes) == (0, [])
    assert await status_of(store, PO) == "created"


@pytest.mark.parametrize(
    ("user", "number", "needed"),
    [("vera", PO, "compras"), ("carlos", QUOTE, "ventas"), ("luis", PO, "compras")],
)
async def test_roles_that_may_not_send(
    store: Store, sink: Sink, user: str, number: str, needed: str
) -> None:
    await seed(store)
    async with mail_chat(store, sink.url) as chat:
        (said,) = await send(chat, f"enviar {number}", user=user)
    assert f"hace falta el rol `{needed}`" in said
    assert (await count(store, SendJob), sink.envelopes) == (0, [])


async def test_admin_may_send_both(store: Store, sink: Sink) -> None:
    await seed(store)
    async with mail_chat(store, sink.url) as chat:
        await send(chat, f"enviar {PO}", user="marta")
        await send(chat, f"enviar {QUOTE}", user="marta")
    assert [e.rcpt_tos for e in sink.envelopes] == [[VENDOR_EMAIL], [CONTACT_EMAIL]]


async def test_a_refusing_relay_is_reported_and_nothing_changes(store: Store) -> None:
    await seed(store)
    refusing = Sink(refuse="550 5.1.1 <pedidos@ferreteria.example>: no such user")
    async with smtp_sink(refusing) as s, mail_chat(store, s.url) as chat:
        said = await send(chat, f"enviar {PO}")
    assert said[0].startswith("📤 Enviando la orden de compra")
    assert said[1].startswith("❌ No se pudo enviar")
    assert "«550 5.1.1 <pedidos@ferreteria.example>: no such user»" in as_shown(said[1])
    assert await status_of(store, PO) == "created"
    assert (await count(store, Email), await count(store, StoredFile)) == (0, 0)
    async with store.sessions() as session:
        job = await session.scalar(select(SendJob))
    assert job is not None
    assert job.status == "failed"
    assert "550" in job.last_error


async def test_a_busy_relay_is_tried_again(store: Store) -> None:
    await seed(store)
    async with smtp_sink(Sink(busy=1)) as s, mail_chat(store, s.url, backoff_base=0) as chat:
        said = await send(chat, f"enviar {PO}")
    assert [text[0] for text in said] == ["📤", "⏳", "✅"]
    assert len(s.envelopes) == 1
    assert await status_of(store, PO) == "sent"


async def test_asking_twice_sends_once(store: Store, sink: Sink) -> None:
    await seed(store)
    async with mail_chat(store, sink.url) as chat:
        await chat.say(f"enviar {PO}", user="carlos")
        second = await chat.say(f"enviar {PO.lower()}", user="carlos")
        assert chat.app.sender is not None
        await chat.app.sender.drain()
        assert "ya se está enviando" in second[0]
        again = await send(chat, f"enviar {PO}")  # once out, sending again is a new mail
    assert len(sink.envelopes) == 2
    assert again[-1].startswith("✅ Enviada")
    assert "Estado" not in again[-1]  # already sent: the status stays


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("enviar", "`enviar OC-00012`"),
        ("enviar OV-00001", "`OV-00001` no se envía por email"),
        ("enviar CAS-7", "`CAS-00007` no se envía por email"),
        ("enviar OC-00099", "No encuentro `OC-00099`"),
        ("enviar factura", "No encuentro `factura`"),
    ],
)
async def test_what_cannot_be_sent(store: Store, sink: Sink, text: str, shown: str) -> None:
    await seed(store)
    async with mail_chat(store, sink.url) as chat:
        (said,) = await send(chat, text)
    assert shown in said
    assert await count(store, SendJob) == 0


class BrokenDisk(FileStore):
    """A file store that fails after the relay accepted the mail: the worker 'crashes'."""

    async def put(self, data: bytes) -> StoredBlob:
        raise FileStoreError("the disk is full")


async def test_a_crash_after_the_relay_accepted_resends_with_the_same_message_id(
    store: Store, sink: Sink, tmp_path: Path
) -> None:
    await seed(store)
    async with mail_chat(store, sink.url) as chat:
        await chat.say(f"enviar {PO}", user="carlos")
    relay = SenderConfig(parse_relay_url(sink.url), DOMAIN, lease_seconds=0)
    crashing = DocumentSender(store.sessions, BrokenDisk(tmp_path / "broken"), relay)
    with pytest.raises(FileStoreError):
        await crashing.run_pass()
    assert await status_of(store, PO) == "created"  # accepted, but not recorded
    # Its lease over, another worker takes the job and sends it again, under the same id.
    assert await DocumentSender(store.sessions, store.files, relay).drain() == 1
    first, second = (message_from_bytes(e.content, policy=default) for e in sink.envelopes)  # type: ignore[arg-type]
    assert first["Message-ID"] == second["Message-ID"]
    assert await status_of(store, PO) == "sent"
    assert await count(store, Email) == 1


async def test_the_shell_sends_and_says_where_the_pdf_is(store: Store, sink: Sink) -> None:
    await seed(store, rooms={"shell": "shell"})
    out = io.StringIO()
    relay = SenderConfig(parse_relay_url(sink.url), DOMAIN)
    app = build_chat(
        store, ShellTransport(out, "shell"), ChatConfig(), locale="es", fixed_role="admin",
        sender=relay,
    )  # fmt: skip
    app.start()
    try:
        shell = ShellSession(
            app.inbox, app.notifier, user="admin", room="shell", out=out, sender=app.sender
        )
        await shell.say(f"enviar {PO}")
    finally:
        await app.stop()
    printed = out.getvalue()
    assert "📤 Enviando la orden de compra `OC-00001` *Material de obra*" in printed
    assert "✅ Enviada `OC-00001`" in printed
    assert "Estado: Creada → *Enviada al proveedor*" in printed
    assert "queda en los archivos de *Ana García*" in printed
    assert len(sink.envelopes) == 1


def test_a_malformed_relay_url_stops_the_start_with_one_line(tmp_path: Path) -> None:
    settings = make_settings(
        "sqlite+aiosqlite:///unused.db",
        tmp_path,
        smtp_relay_url=SecretStr("http://user:hunter2@mail.example.com"),
    )
    with pytest.raises(SettingsError) as caught:
        build_app(settings)
    assert str(caught.value).startswith("CRMBOT_SMTP_RELAY_URL: must start with smtp://")
    assert "hunter2" not in str(caught.value)
    assert sender_config(make_settings("sqlite+aiosqlite:///unused.db", tmp_path)) is None
