"""bot.mail.ingest on SQLite and PostgreSQL: stored once, matched, filed, threaded, notified."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.chatfmt import as_shown
from bot.mail.ingest import IngestResult, MailIngest
from bot.mail.parse import Limits
from bot.storage import Store
from store.models import (
    Blob,
    Case,
    ChatChannel,
    Contact,
    Email,
    EmailRecord,
    Outbox,
    StoredFile,
)
from store.records import read_records, unmatched_emails
from store.services.emails import NewEmail, insert_email
from tests.chat import Chat
from tests.data.mail import corpus

DOMAIN = "crm.localhost"
DROPBOX = f"crm@{DOMAIN}"
MAX_BYTES = 2 * 1024 * 1024
PDF = b"%PDF-1.4 contrato firmado"
NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def pipeline(store: Store, **kwargs: object) -> MailIngest:
    options: dict[str, object] = {"max_bytes": MAX_BYTES, "mail_domain": DOMAIN} | kwargs
    return MailIngest(store.sessions, store.files, clock=lambda: NOW, **options)  # type: ignore[arg-type]


def message(
    sender: str = "Ana Gil <ana@example.com>",
    to: str = "Proveedor <ventas@proveedor.example>",
    subject: str = "Contrato",
    *,
    msgid: str | None = "<m1@example.com>",
    attach: bytes | None = None,
    date: str = "Fri, 27 Nov 2026 10:00:00 +0100",
    **headers: str,
) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = date
    if msgid is not None:
        mail["Message-ID"] = msgid
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content("Adjunto el contrato.\n\nUn saludo,\nAna")
    if attach is not None:
        mail.add_attachment(
            attach, maintype="application", subtype="pdf", filename="../contrato.pdf"
        )
    return mail.as_bytes()


async def contact(
    store: Store, first: str, email: str | None, *, room: str = "", secondary: str | None = None
) -> int:
    async with store.sessions.begin() as session:
        row = Contact(first_name=first, last_name="Test", email=email, secondary_email=secondary)
        session.add(row)
        await session.flush()
        if room:
            session.add(ChatChannel(contact_id=row.id, room_id=room, room_name=room))
        return row.id


async def case(store: Store, contact_id: int, number: str = "CAS-00007") -> None:
    async with store.sessions.begin() as session:
        session.add(Case(number=number, contact_id=contact_id, title="Pantalla rota"))


async def room_texts(store: Store) -> dict[str, list[str]]:
    """What each room heard once the notifier has delivered everything queued."""
    chat = Chat(store)
    await chat.app.notifier.drain()
    heard: dict[str, list[str]] = {}
    for sent in chat.transport.sent:
        heard.setdefault(sent.room_id, []).append(as_shown(sent.text))
    return heard


async def count(store: Store, model: type[object]) -> int:
    async with store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def email(store: Store, email_id: int | None) -> Email:
    assert email_id is not None
    async with store.sessions() as session:
        row = await session.get(Email, email_id)
        assert row is not None
        return row


async def test_bccd_mail_from_a_contact_reaches_emails_files_and_room(store: Store) -> None:
    ana = await contact(store, "Ana", "ana@example.com", room="room-ana")
    raw = message(attach=PDF)

    result = await pipeline(store).ingest(raw, envelope_to=[DROPBOX])

    assert result == IngestResult(result.email_id, False, (ana,), None)
    async with store.sessions() as session:
        emails = await read_records(session, "emails", ana)
        files = await read_records(session, "files", ana)
    assert [(e["subject"], e["direction"], e["from"]) for e in emails] == [
        ("Contrato", "inbound", "Ana Gil <ana@example.com>")
    ]
    assert [(f["name"], f["source"], f["size"]) for f in files] == [
        ("contrato.pdf", "email", len(PDF))
    ]
    assert emails[0]["attachments"] == [files[0]["id"]]
    assert store.files.read_bytes(str(files[0]["sha256"])) == PDF
    stored = await email(store, result.email_id)
    assert store.files.read_bytes(stored.raw_sha256) == raw  # the original is kept
    assert stored.message_id == "<m1@example.com>"
    assert stored.body.startswith("Adjunto")
    assert await room_texts(store) == {
        "room-ana": [
            "✉️ Correo de *Ana Gil <ana@example.com>* para *Ana Test*: Contrato · 📎 1 adjunto"
        ]
    }


async def test_every_contact_in_from_to_cc_is_linked_and_told(store: Store) -> None:
    ana = await contact(store, "Ana", "ana@example.com", room="r-ana")
    bob = await contact(store, "Bob", "bob@x.org", room="r-bob")
    carla = await contact(store, "Carla", "carla@main.example", secondary="Shared@X.org")
    dani = await contact(store, "Dani", None, secondary="shared@x.org", room="r-dani")
    raw = message(
        sender="ANA@Example.com", to=f"Bob <BOB@x.org>, {DROPBOX}", Cc="shared@x.org", attach=PDF
    )

    result = await pipeline(store, locale="en").ingest(raw)

    assert result.contact_ids == (ana, bob, carla, dani)
    async with store.sessions() as session:
        for contact_id in (ana, bob, carla, dani):
            assert len(await read_records(session, "emails", contact_id)) == 1
            assert len(await read_records(session, "files", contact_id)) == 1
    heard = await room_texts(store)
    assert sorted(heard) == ["r-ana", "r-bob", "r-dani"]
    assert heard["r-bob"] == [
        "✉️ Email from *ana@example.com* for *Bob Test*: Contrato · 📎 1 attachment"
    ]


async def test_plus_address_routes_to_that_contact(store: Store) -> None:
    ana = await contact(store, "Ana", "ana@example.com")
    stranger = "Desconocido <x@unknown.example>"

    by_to = await pipeline(store).ingest(message(stranger, f"crm+{ana}@{DOMAIN}", msgid="<p1@u>"))
    by_envelope = await pipeline(store).ingest(
        message(stranger, DROPBOX, msgid="<p2@u>"), envelope_to=[f"CRM+{ana}@{DOMAIN.upper()}"]
    )
    unknown_id = await pipeline(store).ingest(
        message(stranger, f"crm+999999@{DOMAIN}", msgid="<p3>")
    )
    other_domain = await pipeline(store).ingest(message(stranger, f"crm+{ana}@else.example"))

    assert by_to.contact_ids == by_envelope.contact_ids == (ana,)
    assert unknown_id.contact_ids == other_domain.contact_ids == ()


async def test_case_number_in_subject_links_the_case_and_says_so(store: Store) -> None:
    ana = await contact(store, "Ana", "ana@example.com", room="r-ana")
    await case(store, ana)
    raw = message("Soporte <help@vendor.example>", DROPBOX, "Re: [cas-00007] Pantalla rota")

    result = await pipeline(store).ingest(raw)

    assert result.contact_ids == (ana,)
    async with store.sessions() as session:
        links = list(await session.scalars(select(EmailRecord.record_number)))
    assert links == ["CAS-00007"]
    assert await room_texts(store) == {
        "r-ana": [
            "✉️ Correo en el caso `CAS-00007` de *Soporte <help@vendor.example>* para *Ana Test*: "
            "Re: [cas-00007] Pantalla rota"
        ]
    }


async def test_unknown_record_number_links_nothing(store: Store) -> None:
    result = await pipeline(store).ingest(message("x@unknown.example", DROPBOX, "OC-00099"))
    assert result.contact_ids == ()
    assert await count(store, EmailRecord) == 0


async def test_a_reply_threads_to_the_stored_email_and_its_case(store: Store) -> None:
    ana = await contact(store, "Ana", "ana@example.com", room="r-ana")
    await case(store, ana)
    ingest = pipeline(store)
    first = await ingest.ingest(message(subject="[CAS-00007] Pantalla", msgid="<root@Example.COM>"))
    reply = await ingest.ingest(
        message(
            "Técnico <tech@vendor.example>",
            DROPBOX,
            "Re: Pantalla",
            msgid="<reply@vendor.example>",
            In_Reply_To="<root@example.com>",
        )
    )
    deeper = await ingest.ingest(
        message(
            "otra@vendor.example",
            DROPBOX,
            "Re: Re: Pantalla",
            msgid="<deeper@vendor.example>",
            References="<unknown@x> <root@example.com> <reply@vendor.example>",
        )
    )

    assert reply.contact_ids == deeper.contact_ids == (ana,)
    assert (await email(store, reply.email_id)).thread_root_id == first.email_id
    assert (await email(store, deeper.email_id)).thread_root_id == first.email_id
    assert (await email(store, reply.email_id)).in_reply_to == "<root@example.com>"
    async with store.sessions() as session:
        linked = await session.scalars(
            select(EmailRecord.email_id).where(EmailRecord.record_number == "CAS-00007")
        )
        assert set(linked) == {first.email_id, reply.email_id, deeper.email_id}
    heard = (await room_texts(store))["r-ana"]
    assert len(heard) == 3
    assert all("caso `CAS-00007`" in line for line in heard)


async def test_duplicate_message_id_is_stored_once(store: Store) -> None:
    ana = await contact(store, "Ana", "ana@example.com", room="r-ana")
    ingest = pipeline(store)
    first = await ingest.ingest(message(attach=PDF))
    # The CC copy: other bytes (a Received header), the same Message-ID in another case.
    again = await ingest.ingest(
        message(msgid="<m1@EXAMPLE.com>", attach=PDF, Received="from relay by mx")
    )

    assert again == IngestResult(first.email_id, True, (ana,), None)
    assert await count(store, Email) == 1
    assert await count(store, StoredFile) == 1
    assert await count(store, Outbox) == 1


async def test_concurrent_copies_are_stored_once(store: Store) -> None:
    ana = await contact(store, "Ana", "ana@example.com", room="r-ana")
    copies = [message(attach=PDF, X_Copy=str(n)) for n in range(4)]

    results = await asyncio.gather(*(pipeline(store).ingest(raw) for raw in copies))

    assert sorted(r.duplicate for r in results) == [False, True, True, True]
    assert {r.email_id for r in results} == {results[0].email_id}
    assert all(r.contact_ids == (ana,) for r in results)
    assert (await count(store, Email), await count(store, Outbox)) == (1, 1)


async def test_insert_on_conflict_reports_the_duplicate(store: Store) -> None:
    row = NewEmail("<x@y>", "0" * 64, "s", "a@b.c", "", "", "", NOW, "inbound")
    async with store.sessions.begin() as session:
        assert await insert_email(session, row) is not None
    async with store.sessions.begin() as session:
        assert await insert_email(session, row) is None


async def test_mail_without_message_id_is_stored_once_per_raw_bytes(store: Store) -> None:
    ingest = pipeline(store)
    raw = message(msgid=None)
    first = await ingest.ingest(raw)
    again = await ingest.ingest(raw)
    other = await ingest.ingest(message(msgid=None, subject="Otro"))

    assert again.duplicate
    assert again.email_id == first.email_id
    assert not other.duplicate
    assert other.email_id != first.email_id
    stored = await email(store, first.email_id)
    assert stored.message_id == f"<{stored.raw_sha256}@crmbot.invalid>"


async def test_unmatched_mail_is_listed_and_can_be_linked_later(store: Store) -> None:
    ingest = pipeline(store)
    result = await ingest.ingest(message("x@unknown.example", DROPBOX, attach=PDF))

    assert result.contact_ids == ()
    assert not result.duplicate
    async with store.sessions() as session:
        unmatched = await unmatched_emails(session)
    assert [row["id"] for row in unmatched] == [result.email_id]
    assert await count(store, StoredFile) == 0  # a file needs a contact: blobs only
    assert await count(store, Blob) == 2  # the raw message and the attachment

    ana = await contact(store, "Ana", "ana@example.com")
    assert result.email_id is not None
    assert await ingest.link(result.email_id, ana) == 1
    assert await ingest.link(result.email_id, ana) == 0  # already linked: nothing doubled
    with pytest.raises(LookupError):
        await ingest.link(result.email_id, ana + 100)
    async with store.sessions() as session:
        assert await unmatched_emails(session) == []
        files = await read_records(session, "files", ana)
    assert [(f["name"], f["source"]) for f in files] == [("contrato.pdf", "email")]


async def test_our_own_addresses_never_match_and_set_the_direction(store: Store) -> None:
    staff = await contact(store, "Staff", f"ventas@{DOMAIN}")
    ana = await contact(store, "Ana", "ana@example.com")

    result = await pipeline(store).ingest(message(f"Ventas <ventas@{DOMAIN}>", "ana@example.com"))

    assert result.contact_ids == (ana,)
    assert staff not in result.contact_ids
    assert (await email(store, result.email_id)).direction == "outbound"


async def test_notify_false_and_unlinked_contacts_queue_nothing(store: Store) -> None:
    await contact(store, "Ana", "ana@example.com", room="r-ana")
    await contact(store, "Bob", "bob@x.org")
    await pipeline(store).ingest(message(msgid="<a@x>"), notify=False)
    await pipeline(store).ingest(message("bob@x.org", msgid="<b@x>"))
    assert await count(store, Outbox) == 0


async def test_future_dates_are_replaced_by_the_arrival_time(store: Store) -> None:
    result = await pipeline(store).ingest(message(date="Sat, 01 Jan 2050 00:00:00 +0000"))
    assert (await email(store, result.email_id)).date == NOW


@pytest.mark.parametrize(
    ("raw", "limits", "refused"),
    [
        (message(attach=b"x" * 5000), Limits(), "too_large"),
        (corpus.many_parts(250), Limits(), "too_complex"),
        (corpus.nested_multipart(21), Limits(), "too_complex"),
        (corpus.many_parts(10, filename=True), Limits(max_parts=5), "too_complex"),
    ],
    ids=["size", "parts", "depth", "custom-parts"],
)
async def test_limits_refuse_with_their_reason(
    store: Store, raw: bytes, limits: Limits, refused: str
) -> None:
    ingest = pipeline(store, max_bytes=4000 if refused == "too_large" else MAX_BYTES, limits=limits)
    assert await ingest.ingest(raw) == IngestResult(None, False, (), refused)
    assert await count(store, Email) == 0


async def test_attachments_over_the_limit_keep_the_first_fifty(store: Store) -> None:
    ana = await contact(store, "Ana", "a@example.org")
    result = await pipeline(store).ingest(corpus.many_parts(60, filename=True))
    assert result.contact_ids == (ana,)
    async with store.sessions() as session:
        names = [str(row["name"]) for row in await read_records(session, "files", ana)]
    assert sorted(names) == sorted(f"f{n}.bin" for n in range(50))


_STORED_PATH = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}")


def _tree(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()}


async def test_hostile_corpus_is_stored_readably_or_refused(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await contact(store, "Ana", "ana@example.org", room="r-ana")
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)  # a name used as a path would land here
    before = _tree(tmp_path)
    ingest = pipeline(store, max_bytes=25 * 1024 * 1024)
    for item in corpus.corpus():
        result = await ingest.ingest(item.raw, envelope_to=[DROPBOX])
        assert result.refused == item.refused, item.name
        if item.refused:
            continue
        stored = await email(store, result.email_id)
        assert item.expect_in_body in stored.body, item.name
        assert item.expect_subject in stored.subject, item.name
    async with store.sessions() as session:
        names = list(await session.scalars(select(StoredFile.name)))
    assert names
    assert all("/" not in name and "\\" not in name for name in names)
    assert not any(workdir.iterdir())
    files_root = store.files.root
    for path in _tree(tmp_path) - before:
        if path.is_relative_to(files_root):
            assert _STORED_PATH.fullmatch(path.relative_to(files_root).as_posix()), path
        else:  # the database's own files (SQLite journal), nothing else
            assert path.suffix in (".db", ".db-wal", ".db-shm") or "-wal" in path.name, path
    await room_texts(store)  # every notification renders
