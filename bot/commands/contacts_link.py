"""Linking a chat room to a contact and removing the link (`vincular`, `desvincular`)."""

from __future__ import annotations

import re
from typing import Final

from sqlalchemy import select

from bot.commands.base import Ctx
from bot.commands.contacts_view import (
    KIND_CONTACTS,
    KIND_LINK_CHOICE,
    MAX_LISTED,
    card,
    full_name,
    pick,
    recall_list,
    remember_list,
    summary,
)
from bot.permissions import Action
from bot.routing import Route
from store.models import ChatChannel, Contact
from store.services.contacts import search_contacts
from store.services.memory import forget

# A list position; longer digit runs are phone numbers to search for.
_POSITION: Final = re.compile(r"[0-9]{1,3}")


async def handle_link(ctx: Ctx, route: Route) -> None:
    """`vincular <texto>`: one match links, several are listed to choose, `vincular 2` picks."""
    if not ctx.permit(Action.LINK_ROOM):
        return
    text = route.args.strip()
    if not text:
        ctx.reply("link_usage")
        return
    if _POSITION.fullmatch(text) and await _link_from_list(ctx, int(text)):
        return
    found = await search_contacts(ctx.session, text, limit=MAX_LISTED + 1)
    if not found:
        ctx.reply("link_none", text=text)
        return
    if len(found) == 1:
        contact = await ctx.session.get(Contact, found[0].id)
        if contact is None:  # deleted since the search, by another process
            ctx.reply("link_none", text=text)
            return
        await link_room(ctx, contact)
        return
    shown = found[:MAX_LISTED]
    await remember_list(ctx, KIND_LINK_CHOICE, shown)
    ctx.reply(
        "link_choose",
        text=text,
        contacts=[summary(contact) for contact in shown],
        more=len(found) > MAX_LISTED,
    )


async def _link_from_list(ctx: Ctx, number: int) -> bool:
    """`vincular 2` right after a numbered list; False when no list is remembered."""
    for kind in (KIND_LINK_CHOICE, KIND_CONTACTS):
        ids = await recall_list(ctx, kind)
        if ids is not None:
            contact = await pick(ctx, ids, number)
            if contact is not None:
                await link_room(ctx, contact)
            return True
    return False


async def link_room(ctx: Ctx, contact: Contact) -> None:
    """Link the message's room to ``contact`` (replacing another link) and show its card."""
    room = ctx.incoming.room
    channel = await ctx.session.scalar(select(ChatChannel).where(ChatChannel.room_id == room.id))
    if channel is not None and channel.contact_id == contact.id:
        ctx.reply("link_already", name=full_name(contact))
        return
    previous = None
    if channel is None:
        channel = ChatChannel(room_id=room.id)
        ctx.session.add(channel)
    else:
        old = await ctx.session.get(Contact, channel.contact_id)
        previous = full_name(old) if old is not None else None
    channel.contact_id = contact.id
    channel.room_name = room.name
    channel.linked_by = ctx.incoming.user.username
    channel.created_at = ctx.now  # the link is new, even when the row is reused
    await ctx.session.flush()
    ctx.forget_contact()
    # A pending `vincular` choice is settled now; a `buscar` list stays useful.
    if await recall_list(ctx, KIND_LINK_CHOICE) is not None:
        incoming = ctx.incoming
        await forget(ctx.session, room.id, incoming.user.id, incoming.thread_id)
    ctx.reply("room_linked", name=full_name(contact), previous=previous)
    ctx.reply("contact_card", **await card(ctx, contact), hint=None)


async def handle_unlink(ctx: Ctx, route: Route) -> None:
    """`desvincular`: remove the room's link and say from whom."""
    if not ctx.permit(Action.LINK_ROOM):
        return
    contact = await ctx.linked_contact()
    if contact is None:
        ctx.reply("unlink_none")
        return
    channel = await ctx.session.scalar(
        select(ChatChannel).where(ChatChannel.room_id == ctx.incoming.room.id)
    )
    if channel is not None:
        await ctx.session.delete(channel)
        await ctx.session.flush()
    ctx.forget_contact()
    ctx.reply("room_unlinked", name=full_name(contact))
