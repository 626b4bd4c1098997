"""Files posted in a linked room become the contact's files (source ``chat``)."""

from __future__ import annotations

import unicodedata

from bot.commands.base import Ctx
from bot.commands.notify import notify_contact_rooms
from store.filestore import StoredBlob, record_blob
from store.models import StoredFile
from store.vocab import FileSource

MAX_NAME = 255
TOO_LARGE = "too_large"


def display_name(name: str) -> str:
    """The name as shown and stored: display data only, never a path (controls removed)."""
    visible = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return (visible or "archivo")[:MAX_NAME]


async def handle_file(ctx: Ctx, max_mb: int) -> None:
    """Record the already-stored file for the room's contact, or say why not."""
    file = ctx.incoming.file
    if file is None:
        return
    name = display_name(file.name)
    if file.refused == TOO_LARGE:
        ctx.reply("file_too_large", name=name, max_mb=max_mb)
        return
    contact = await ctx.linked_contact()
    if contact is None:
        ctx.reply("file_room_not_linked", name=name)
        return
    size = file.size or 0
    await record_blob(ctx.session, StoredBlob(file.sha256, size))
    ctx.session.add(
        StoredFile(
            contact_id=contact.id,
            name=name,
            size=size,
            sha256=file.sha256,
            mime_type=file.mime_type[:127],
            source=FileSource.CHAT.value,
            created_by=ctx.incoming.user.username,
        )
    )
    who = f"{contact.first_name} {contact.last_name}".strip()
    ctx.reply("file_stored", name=name, size=size, contact=who)
    await notify_contact_rooms(
        ctx, contact.id, "notify_file", name=name, size=size, contact=who,
        user=ctx.incoming.user.username,
    )  # fmt: skip
