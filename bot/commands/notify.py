"""Notifications (DOMAIN §5): one message to every other room linked to a contact.

Shared by every command and wizard that changes a contact's records (comments, status
changes, new documents, files, emails). The messages are outbox rows queued in the same
transaction as the change, so they survive restarts and are posted exactly once.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.chat import Param, Reply
from bot.commands.base import Ctx
from store.models import ChatChannel


async def notify_contact_rooms(ctx: Ctx, contact_id: int, key: str, **params: Param) -> int:
    """Queue reply ``key`` with ``params`` to each room linked to ``contact_id``; return how many.

    The room the message came from is skipped: the user there already got their own
    answer. Each linked room gets the message once, outside any thread, in the bot's
    locale, in the order the rooms were linked. Keep this signature stable: other
    commands and wizards call it.
    """
    rooms = await ctx.session.scalars(
        select(ChatChannel.room_id)
        .where(
            ChatChannel.contact_id == contact_id,
            ChatChannel.room_id != ctx.incoming.room.id,
        )
        .order_by(ChatChannel.created_at, ChatChannel.id)
    )
    # room_id is unique in chat_channels; the dict only guards the "exactly once" promise.
    targets = list(dict.fromkeys(rooms))
    for room_id in targets:
        ctx.turn.say(room_id, Reply(key, params))
    return len(targets)
