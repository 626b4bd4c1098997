"""What the soak checks in the database once `crmbot serve` has stopped: one purchase order per
completed wizard with the worked totals to the cent, each uploaded file and each email
recorded once, no dialog left open, and every outbox row posted exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from store.db import create_engine, session_factory
from store.models import DialogSession, Document, DocumentLine, Email, Outbox, StoredFile
from store.outbox import DEAD_PREFIX

# DOMAIN §2's worked check: (subtotal, discount_total, tax_total, total) and each line's
# (net, tax, total).
WORKED_TOTALS = (Decimal("227.50"), Decimal("17.50"), Decimal("47.78"), Decimal("275.28"))
WORKED_LINES = (
    (Decimal("112.50"), Decimal("23.63"), Decimal("136.13")),
    (Decimal("115.00"), Decimal("24.15"), Decimal("139.15")),
)


@dataclass(frozen=True, slots=True)
class SavedOrder:
    """A purchase order a soak user created."""

    title: str
    number: str
    contact_id: int


@dataclass(frozen=True, slots=True)
class Expected:
    """What the users did, as the database should show it."""

    usernames: Collection[str]
    user_ids: Collection[str]
    titles: Collection[str]  # wizards whose `guardar` was acknowledged
    files: Mapping[str, str]  # name -> sha256 of uploads acknowledged
    mail_tokens: Collection[str]  # subject tokens of emails accepted
    chat_ids: Counter[str]  # ids of the bot's messages stored in the fake


async def check_database(
    url: str, expected: Expected
) -> tuple[dict[str, object], list[SavedOrder]]:
    """The findings, and the soak's purchase orders (for the notices they caused)."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            orders = list(
                await session.scalars(
                    select(Document).where(
                        Document.kind == "purchase_order",
                        Document.created_by.in_(list(expected.usernames)),
                    )
                )
            )
            lines: dict[int, list[DocumentLine]] = {}
            for line in await session.scalars(
                select(DocumentLine)
                .where(DocumentLine.document_id.in_([order.id for order in orders]))
                .order_by(DocumentLine.position)
            ):
                lines.setdefault(line.document_id, []).append(line)
            files = list(
                await session.execute(
                    select(StoredFile.name, StoredFile.sha256).where(
                        StoredFile.source == "chat",
                        StoredFile.created_by.in_(list(expected.usernames)),
                    )
                )
            )
            subjects = list(
                await session.scalars(
                    select(Email.subject).where(Email.subject.like("Consulta sk%"))
                )
            )
            open_dialogs = await session.scalar(
                select(func.count())
                .select_from(DialogSession)
                .where(DialogSession.user_id.in_(list(expected.user_ids)))
            )
            outbox = list(
                await session.execute(select(Outbox.msg_id, Outbox.sent_at, Outbox.last_error))
            )
    finally:
        await engine.dispose()
    findings = {
        "purchase_orders": _orders(orders, lines, expected.titles),
        "files": _files([(name, sha) for name, sha in files], expected.files),
        "emails": _emails(subjects, expected.mail_tokens),
        "open_dialogs": int(open_dialogs or 0),
        "outbox": _outbox([(m, s is not None, e or "") for m, s, e in outbox], expected.chat_ids),
    }
    saved = [SavedOrder(o.title, o.number, o.contact_id) for o in orders]
    return findings, saved


def _orders(
    orders: list[Document], lines: dict[int, list[DocumentLine]], titles: Collection[str]
) -> dict[str, object]:
    per_title = Counter(order.title for order in orders)
    inexact = [
        order.number
        for order in orders
        if (order.subtotal, order.discount_total, order.tax_total, order.total) != WORKED_TOTALS
        or tuple((line.net, line.tax, line.total) for line in lines.get(order.id, []))
        != WORKED_LINES
    ]
    return {
        "wizards_completed": len(titles),
        "created": len(orders),
        "missing": sum(1 for title in titles if per_title[title] == 0),
        "duplicated": sum(count - 1 for count in per_title.values() if count > 1),
        "unexpected": sum(1 for title in per_title if title not in set(titles)),
        "inexact": len(inexact),
        "inexact_numbers": inexact[:10],
    }


def _files(stored: list[tuple[str, str]], uploaded: Mapping[str, str]) -> dict[str, object]:
    per_name = Counter(name for name, _ in stored)
    wrong = sum(1 for name, sha in stored if name in uploaded and uploaded[name] != sha)
    return {
        "uploaded": len(uploaded),
        "stored": len(stored),
        "missing": sum(1 for name in uploaded if per_name[name] == 0),
        "duplicated": sum(count - 1 for count in per_name.values() if count > 1),
        "wrong_content": wrong,
    }


def _emails(subjects: list[str], tokens: Collection[str]) -> dict[str, object]:
    per_token = Counter(subject.removeprefix("Consulta ") for subject in subjects)
    return {
        "sent": len(tokens),
        "recorded": sum(per_token[token] for token in tokens),
        "missing": sum(1 for token in tokens if per_token[token] == 0),
        "duplicated": sum(per_token[token] - 1 for token in tokens if per_token[token] > 1),
    }


def _outbox(rows: list[tuple[str, bool, str]], chat_ids: Counter[str]) -> dict[str, object]:
    dead = [msg_id for msg_id, _, error in rows if error.startswith(DEAD_PREFIX)]
    posted = {msg_id for msg_id, sent, error in rows if sent and not error.startswith(DEAD_PREFIX)}
    return {
        "rows": len(rows),
        "pending": sum(1 for _, sent, _ in rows if not sent),
        "dead": len(dead),
        "posted_but_not_in_chat": sum(1 for msg_id in posted if chat_ids[msg_id] == 0),
        "in_chat_more_than_once": sum(1 for msg_id in posted if chat_ids[msg_id] > 1),
        "in_chat_without_row": sum(1 for msg_id in chat_ids if msg_id not in posted),
    }


def database_faults(findings: Mapping[str, object]) -> dict[str, int]:
    """(duplicates, lost) the database shows."""
    orders, files, emails, outbox = (
        _dict(findings["purchase_orders"]),
        _dict(findings["files"]),
        _dict(findings["emails"]),
        _dict(findings["outbox"]),
    )
    return {
        "duplicates": orders["duplicated"]
        + orders["unexpected"]
        + files["duplicated"]
        + emails["duplicated"]
        + outbox["in_chat_more_than_once"]
        + outbox["in_chat_without_row"],
        "lost": orders["missing"]
        + files["missing"]
        + emails["missing"]
        + outbox["pending"]
        + outbox["dead"]
        + outbox["posted_but_not_in_chat"],
    }


def _dict(value: object) -> dict[str, int]:
    assert isinstance(value, dict)
    return {key: item for key, item in value.items() if isinstance(item, int)}
