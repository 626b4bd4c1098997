"""The contacts command family: help, search, link/unlink, the contact card and numbered choices."""

from __future__ import annotations

from bot.commands import help as help_command
from bot.commands.base import CommandHandler, Ctx
from bot.commands.contacts_link import handle_link, handle_unlink, link_room
from bot.commands.contacts_view import (
    KIND_CONTACTS,
    KIND_LINK_CHOICE,
    MAX_LISTED,
    card,
    pick,
    recall_list,
    remember_list,
    summary,
)
from bot.permissions import Action, allowed
from bot.routing import Command, Route
from store.services.contacts import search_contacts


async def handle_search(ctx: Ctx, route: Route) -> None:
    """`buscar <texto>`: a numbered list of matching contacts, remembered for a bare number."""
    text = route.args.strip()
    if not text:
        ctx.reply("search_usage")
        return
    found = await search_contacts(ctx.session, text, limit=MAX_LISTED + 1)
    if not found:
        ctx.reply("search_none", text=text)
        return
    shown = found[:MAX_LISTED]
    await remember_list(ctx, KIND_CONTACTS, shown)
    ctx.reply(
        "search_results",
        text=text,
        contacts=[summary(contact) for contact in shown],
        more=len(found) > MAX_LISTED,
        can_link=allowed(ctx.role, Action.LINK_ROOM),
    )


async def handle_contact(ctx: Ctx, route: Route) -> None:
    """`contacto`: the linked contact's card."""
    contact = await ctx.require_contact()
    if contact is not None:
        ctx.reply("contact_card", **await card(ctx, contact), hint=None)


async def handle_select(ctx: Ctx, route: Route) -> None:
    """A bare number: pick from the last `vincular` choice or `buscar` list shown here."""
    number = route.number or 0
    ids = await recall_list(ctx, KIND_LINK_CHOICE)
    if ids is not None:
        if not ctx.permit(Action.LINK_ROOM):
            return
        contact = await pick(ctx, ids, number)
        if contact is not None:
            await link_room(ctx, contact)
        return
    ids = await recall_list(ctx, KIND_CONTACTS)
    if ids is None:
        ctx.reply("nothing_to_choose")
        return
    contact = await pick(ctx, ids, number)
    if contact is None:
        return
    linked = await ctx.linked_contact()
    # Offer `vincular N` only when it would do something and the caller may do it.
    offer = allowed(ctx.role, Action.LINK_ROOM) and (linked is None or linked.id != contact.id)
    ctx.reply(
        "contact_card",
        **await card(ctx, contact),
        hint=number if offer else None,
    )


COMMANDS: dict[Command, CommandHandler] = {
    Command.HELP: help_command.handle_help,
    Command.SEARCH: handle_search,
    Command.LINK: handle_link,
    Command.UNLINK: handle_unlink,
    Command.CONTACT: handle_contact,
    Command.SELECT: handle_select,
}
