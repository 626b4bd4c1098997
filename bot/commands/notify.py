"""Notifications (DOMAIN §5): one message to every other room linked to a contact.

Shared by every command and wizard that changes a contact's records (comments, status
changes, new documents, files, emails). The messages are outbox rows queued in the same
transaction as the change, so they survive restarts and are posted exactly once.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select

from bot.chat import Param, Reply
from bot.commands.base import Ctx
from store import direct
from store.direct import DirectStatement
from store.models import ChatChannel

# Run at every record event: built once, sent straight to the driver (store.direct).
_OTHER_ROOMS = DirectStatement(
    select(ChatChannel.room_id)
    .where(
        ChatChannel.contact_id == bindparam("contact_id"),
        ChatChannel.room_id != bindparam("room_id"),
    )
    .order_by(ChatChannel.created_at, ChatChannel.id)
)


async def notify_contact_rooms(ctx: Ctx, contact_id: int, key: str, **params: Param) -> int:
    """Queue reply ``key`` with ``params`` to each room linked to ``contact_id``; return how many.

    The room the message came from is skipped: the user there already got their own
    answer. Each linked room gets the message once, outside any thread, in the bot's
    locale, in the order the rooms were linked. Keep this signature stable: other
    commands and wizards call it.
    """
    rows = await direct.fetch(
        ctx.session, _OTHER_ROOMS, {"contact_id": contact_id, "room_id": ctx.incoming.room.id}
    )
    # room_id is unique in chat_channels; the dict only guards the "exactly once" promise.
    targets = list(dict.fromkeys(str(row[0]) for row in rows))
    for room_id in targets:
        ctx.turn.say(room_id, Reply(key, params))
    return len(targets)
