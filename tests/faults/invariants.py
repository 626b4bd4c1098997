"""What must hold after any fault, over the database, the file store and the fake Rocket.Chat.

- every acknowledged message is in ``processed_messages`` (once: it is the primary key);
- every outbox row that was not dead-lettered reached its room exactly once, each room's
  replies in the order they were queued, and nothing the bot posted is missing from the
  outbox; a dead-lettered row never reached the chat;
- every document has lines, and its totals and each line's amounts are what store/money.py
  computes from the lines' quantities, prices, taxes and discounts;
- every file on disk is named by the SHA-256 of its bytes, no temporary file is left, and every
  blob, file and email row points at bytes that are there in full.

Each check raises AssertionError naming what broke; ``check_all`` runs every one of them.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.filestore import FileStore
from store.models import Blob, Document, DocumentLine, Email, Outbox, ProcessedMessage, StoredFile
from store.money import LineInput, compute_totals
from store.outbox import is_dead
from tests.fakes.rocketchat import FakeRocketChat, StoredMessage

Sessions = async_sessionmaker[AsyncSession]
# The prefix FileStore gives a file while it is being written (store/filestore.py).
TEMP_PREFIX = ".tmp-"
# How the bot posts an outbox row: chat.sendMessage with the row's own `_id` (ROCKETCHAT §2.4).
SEND_VIA = "chat.sendMessage"


async def processed_once(sessions: Sessions, message_ids: Iterable[str]) -> None:
    """Each of ``message_ids`` (acknowledged to Rocket.Chat) is recorded as processed."""
    wanted = list(dict.fromkeys(message_ids))
    async with sessions() as session:
        found = Counter(
            await session.scalars(
                select(ProcessedMessage.message_id).where(ProcessedMessage.message_id.in_(wanted))
            )
        )
    wrong = {mid: found[mid] for mid in wanted if found[mid] != 1}
    assert not wrong, f"acknowledged messages not recorded exactly once: {wrong}"


def bot_posts(rc: FakeRocketChat) -> list[StoredMessage]:
    """What the bot posted through chat.sendMessage, in the order Rocket.Chat stored it."""
    return [m for m in rc.messages if m.user.id == rc.bot.id and m.via == SEND_VIA]


async def outbox_rows(sessions: Sessions) -> list[Outbox]:
    async with sessions() as session:
        return list(await session.scalars(select(Outbox).order_by(Outbox.seq)))


async def outbox_delivered_once(sessions: Sessions, rc: FakeRocketChat) -> None:
    """Every live row delivered once, in order per room; dead rows and strays never posted."""
    rows = await outbox_rows(sessions)
    unsent = [
        (row.seq, row.room_id, row.key, row.last_error) for row in rows if row.sent_at is None
    ]
    assert not unsent, f"outbox rows never delivered: {unsent}"
    posts = bot_posts(rc)
    twice = [mid for mid, n in Counter(m.id for m in posts).items() if n > 1]
    assert not twice, f"posted more than once: {twice}"
    known = {row.msg_id for row in rows}
    strays = [(m.id, m.msg) for m in posts if m.id not in known]
    assert not strays, f"the bot posted messages that are in no outbox row: {strays}"
    dead = {row.msg_id for row in rows if is_dead(row)}
    leaked = [m.id for m in posts if m.id in dead]
    assert not leaked, f"dead-lettered rows reached the chat: {leaked}"
    expected: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if not is_dead(row):
            expected[row.room_id].append(row.msg_id)
    posted: dict[str, list[str]] = defaultdict(list)
    for message in posts:
        posted[message.rid].append(message.id)
    for room, ids in expected.items():
        assert posted[room] == ids, f"room {room}: posted {posted[room]}, queued {ids}"


async def document_totals_exact(sessions: Sessions) -> None:
    """No document without lines; totals and line amounts as store/money.py computes them."""
    async with sessions() as session:
        documents = list(await session.scalars(select(Document).order_by(Document.id)))
        lines = list(
            await session.scalars(
                select(DocumentLine).order_by(DocumentLine.document_id, DocumentLine.position)
            )
        )
    by_document: dict[int, list[DocumentLine]] = defaultdict(list)
    for line in lines:
        by_document[line.document_id].append(line)
    orphans = set(by_document) - {document.id for document in documents}
    assert not orphans, f"lines of documents that do not exist: {sorted(orphans)}"
    for document in documents:
        own = by_document.get(document.id, [])
        assert own, f"{document.number} has no lines"
        positions = [line.position for line in own]
        assert positions == list(range(1, len(own) + 1)), f"{document.number}: {positions}"
        totals = compute_totals([_line_input(line) for line in own])
        stored = (document.subtotal, document.discount_total, document.tax_total, document.total)
        computed = (totals.subtotal, totals.discount_total, totals.tax_total, totals.total)
        assert stored == computed, f"{document.number}: stored {stored}, lines give {computed}"
        for line, amounts in zip(own, totals.lines, strict=True):
            kept = (line.gross, line.discount, line.net, line.tax, line.total)
            wanted = (amounts.gross, amounts.discount, amounts.net, amounts.tax, amounts.total)
            assert kept == wanted, f"{document.number} line {line.position}: {kept} != {wanted}"


def _line_input(line: DocumentLine) -> LineInput:
    return LineInput(
        quantity=line.quantity,
        unit_price=line.unit_price,
        tax_rate=line.tax_rate,
        discount_percent=line.discount_percent,
        discount_amount=line.discount_amount,
    )


def files_on_disk(files: FileStore) -> list[Path]:
    """Every regular file under the store's root."""
    if not files.root.exists():
        return []
    return sorted(path for path in files.root.rglob("*") if path.is_file())


def no_half_written_files(files: FileStore) -> None:
    """No temporary file left, and every stored file's bytes hash to its name and path."""
    on_disk = files_on_disk(files)
    temps = [str(path) for path in on_disk if path.name.startswith(TEMP_PREFIX)]
    assert not temps, f"temporary files left behind: {temps}"
    for path in on_disk:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert path == files.path_for(digest), f"{path} holds bytes whose SHA-256 is {digest}"


async def file_rows_have_bytes(sessions: Sessions, files: FileStore) -> None:
    """Every blob has its full bytes on disk; every file and email row has its blob."""
    async with sessions() as session:
        blobs = {blob.sha256: blob.size for blob in await session.scalars(select(Blob))}
        stored = list(await session.scalars(select(StoredFile)))
        raw = list(await session.scalars(select(Email.raw_sha256)))
    for sha256, size in blobs.items():
        path = files.path_for(sha256)
        assert path.is_file(), f"blob {sha256} has no bytes on disk"
        assert path.stat().st_size == size, f"blob {sha256}: {path.stat().st_size} != {size} bytes"
    for file in stored:
        assert blobs.get(file.sha256) == file.size, f"file {file.id} ({file.name}) has no blob"
    missing_raw = [sha256 for sha256 in raw if sha256 not in blobs]
    assert not missing_raw, f"emails whose raw message is not stored: {missing_raw}"


async def check_all(
    sessions: Sessions,
    files: FileStore,
    *,
    rc: FakeRocketChat | None = None,
    acknowledged: Iterable[str] = (),
) -> None:
    """Every invariant; the chat's only when ``rc`` is given."""
    await processed_once(sessions, acknowledged)
    if rc is not None:
        await outbox_delivered_once(sessions, rc)
    await document_totals_exact(sessions)
    no_half_written_files(files)
    await file_rows_have_bytes(sessions, files)
