"""Demo files (bytes in the FileStore) and email threads with attachments, linked to contacts."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from email.utils import format_datetime

from store import demo_data as data
from store.demo_base import Demo, DemoContact
from store.demo_files import csv_bytes, pdf_bytes, text_bytes
from store.filestore import record_blobs
from store.models import Base, Case, Email, EmailContact, EmailFile, EmailRecord, StoredFile
from store.vocab import FileSource

INBOUND, OUTBOUND = "inbound", "outbound"
STAFF_NAME = "Equipo comercial"
# Mail is recorded a moment after it is sent, as the dropbox would see it.
INGEST_DELAY = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Attachment:
    """A file as it is about to be stored: display name, MIME type and bytes."""

    name: str
    mime_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        """The digest the FileStore keeps it under."""
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class _Mail:
    """An email to write, with who it links to and what it carries."""

    direction: str
    subject: str
    date: dt.datetime
    person: DemoContact
    cc: list[DemoContact] = field(default_factory=list)
    attachment: Attachment | None = None
    case_number: str | None = None
    parent: _Mail | None = None
    row: Email | None = None

    @property
    def email(self) -> Email:
        """The row, once ``_save_mails`` has numbered the mail."""
        assert self.row is not None, "mail not numbered yet"
        return self.row

    @property
    def people(self) -> list[DemoContact]:
        """Every contact whose address the email carries."""
        return [self.person, *self.cc]


async def add_files_and_emails(demo: Demo, cases: list[Case]) -> None:
    """One or two uploaded files per full contact, and email threads for every contact."""
    uploads: list[StoredFile] = []
    contents: dict[str, bytes] = {}
    for person in demo.full_people:
        for _ in range(demo.rng.randint(1, 2)):
            at = person.created(demo.clock)
            upload = _upload(demo, person, at.date())
            uploads.append(_stored_file(demo, person, upload, FileSource.UPLOAD, at))
            contents[upload.sha256] = upload.content
    mails = _mails(demo, cases)
    contents |= {m.attachment.sha256: m.attachment.content for m in mails if m.attachment}
    # Distinct bytes only, stored concurrently: each put fsyncs in its own worker thread.
    blobs = await asyncio.gather(*(demo.files.put(content) for content in contents.values()))
    await record_blobs(demo.session, blobs)
    demo.session.add_all(uploads)
    await _save_mails(demo, mails)


def _upload(demo: Demo, person: DemoContact, day: dt.date) -> Attachment:
    """A document about ``person`` dated ``day``: a PDF, a note or a spreadsheet."""
    template, mime = demo.pick(data.FILE_KINDS)
    name = template.format(year=day.year, n=demo.rng.randint(1, 999), date=day.strftime("%d-%m-%Y"))
    title = f"{name} · {person.contact.account or person.name}"
    if mime == "text/plain":
        return Attachment(name, mime, text_bytes(title, demo.some(data.COMMENTS, 2, 4)))
    if mime == "text/csv":
        rows = [(p.sku, p.name, demo.rng.randint(1, 12)) for p in demo.some(demo.products, 3, 6)]
        return Attachment(name, mime, csv_bytes(("sku", "nombre", "unidades"), rows))
    return Attachment(name, mime, pdf_bytes(title, [person.name, f"Fecha: {day:%d/%m/%Y}"]))


def _stored_file(
    demo: Demo, person: DemoContact, attachment: Attachment, source: FileSource, at: dt.datetime
) -> StoredFile:
    return StoredFile(
        contact_id=person.id,
        name=attachment.name,
        size=len(attachment.content),
        sha256=attachment.sha256,
        mime_type=attachment.mime_type,
        source=source.value,
        note="Adjunto de correo" if source is FileSource.EMAIL else "",
        created_by="" if source is FileSource.EMAIL else demo.pick(data.OWNERS),
        created_at=at,
    )


def _mails(demo: Demo, cases: list[Case]) -> list[_Mail]:
    """Threads of one or two messages; sorted by date so Message-IDs follow time."""
    by_contact: dict[int, list[Case]] = defaultdict(list)
    for case in cases:
        by_contact[case.contact_id].append(case)
    catalogue = Attachment(
        data.SHARED_FILE_NAME,
        "application/pdf",
        pdf_bytes(data.SHARED_FILE_NAME, [f"{p.sku}  {p.name}" for p in demo.products[:20]]),
    )
    mails: list[_Mail] = []
    for person in demo.people:
        for _ in range(demo.rng.randint(1, 3) if person.full else 1):
            root = _root(demo, person, by_contact[person.id], catalogue)
            mails.append(root)
            if demo.rng.random() < 0.5:
                mails.append(_reply(demo, root))
    mails.sort(key=lambda mail: mail.date)
    return mails


def _root(demo: Demo, person: DemoContact, cases: list[Case], catalogue: Attachment) -> _Mail:
    direction = demo.pick((INBOUND, OUTBOUND))
    subjects = data.INBOUND_SUBJECTS if direction == INBOUND else data.OUTBOUND_SUBJECTS
    mail = _Mail(direction, demo.pick(subjects), person.created(demo.clock), person)
    colleagues = demo.colleagues(person)
    if colleagues and demo.rng.random() < 0.25:
        mail.cc.append(demo.pick(colleagues))
    if cases and demo.rng.random() < 0.35:
        case = demo.pick(cases)
        mail.case_number = case.number
        mail.subject = f"[{case.number}] {case.title}"
    if mail.subject == data.SHARED_FILE_NAME.removesuffix(".pdf"):
        mail.attachment = catalogue  # the same bytes for everyone: stored once
    elif direction == INBOUND and demo.rng.random() < 0.3:
        mail.attachment = _upload(demo, person, mail.date.date())
    return mail


def _reply(demo: Demo, root: _Mail) -> _Mail:
    date = root.date + dt.timedelta(hours=demo.rng.randint(1, 48))
    if date.date() > demo.clock.yesterday:  # never in the future
        date = root.date + dt.timedelta(minutes=20)
    direction = OUTBOUND if root.direction == INBOUND else INBOUND
    return _Mail(
        direction,
        f"Re: {root.subject}",
        date,
        root.person,
        cc=list(root.cc),
        case_number=root.case_number,
        parent=root,
    )


async def _save_mails(demo: Demo, mails: list[_Mail]) -> None:
    """Roots first (replies point at their ids), then contact, file and case links."""
    for number, mail in enumerate(mails, 1):
        mail.row = _email_row(mail, number)
    demo.session.add_all(mail.email for mail in mails if mail.parent is None)
    await demo.session.flush()
    for mail in mails:
        if mail.parent is not None:
            mail.email.thread_root_id = mail.parent.email.id
            demo.session.add(mail.email)
    await demo.session.flush()
    links: list[Base] = []
    attached: list[tuple[Email, StoredFile]] = []
    for mail in mails:
        links += _links(mail)
        if mail.attachment:
            attachment, at = mail.attachment, mail.email.created_at
            attached += [
                (mail.email, _stored_file(demo, p, attachment, FileSource.EMAIL, at))
                for p in mail.people
            ]
    demo.session.add_all([*links, *(stored for _, stored in attached)])
    await demo.session.flush()
    demo.session.add_all(
        EmailFile(email_id=email.id, file_id=stored.id) for email, stored in attached
    )


def _links(mail: _Mail) -> list[Base]:
    """The email's contacts, and the case its subject names."""
    email = mail.email
    links: list[Base] = [
        EmailContact(email_id=email.id, contact_id=p.id, created_at=email.created_at)
        for p in mail.people
    ]
    if mail.case_number:
        links.append(EmailRecord(email_id=email.id, record_number=mail.case_number))
    return links


def _address(person: DemoContact) -> str:
    return f"{person.name} <{person.email}>"


def _email_row(mail: _Mail, number: int) -> Email:
    message_id = f"<demo-{number}@{data.MAIL_DOMAIN}>"
    parent_id = mail.parent.email.message_id if mail.parent else ""
    staff = f"{STAFF_NAME} <{data.STAFF_ADDRESS}>"
    if mail.direction == INBOUND:
        sender, recipients = _address(mail.person), f"{data.DROPBOX_ADDRESS}, {staff}"
    else:
        sender, recipients = staff, _address(mail.person)
    cc = ", ".join(_address(person) for person in mail.cc)
    body = _body(mail)
    headers = {
        "Message-ID": message_id,
        "Date": format_datetime(mail.date),
        "From": sender,
        "To": recipients,
        "Cc": cc,
        "Subject": mail.subject,
        "In-Reply-To": parent_id,
    }
    raw = "".join(f"{k}: {v}\r\n" for k, v in headers.items() if v) + "\r\n" + body
    return Email(
        message_id=message_id,
        raw_sha256=hashlib.sha256(raw.encode()).hexdigest(),
        subject=mail.subject,
        from_addr=sender,
        to_addrs=recipients,
        cc_addrs=cc,
        body=body,
        date=mail.date,
        direction=mail.direction,
        in_reply_to=parent_id,
        references=parent_id,
        created_at=mail.date + INGEST_DELAY,
    )


def _body(mail: _Mail) -> str:
    topic = mail.subject.removeprefix("Re: ")
    account = mail.person.contact.account or ""
    if mail.direction == INBOUND:
        return (
            f"Hola:\n\nOs escribo por «{topic}». ¿Podéis revisarlo cuando tengáis un momento?"
            f"\n\nUn saludo,\n{mail.person.name}\n{account}".rstrip()
        )
    first = mail.person.contact.first_name
    return (
        f"Hola, {first}:\n\nLe escribimos en relación con «{topic}». "
        f"Quedamos a su disposición para cualquier duda.\n\nUn saludo,\n{STAFF_NAME}"
    )
