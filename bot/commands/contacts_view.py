"""What the contacts commands show: contact summaries and cards, remembered lists."""

from __future__ import annotations

from typing import Final

from sqlalchemy import select

from bot.chat import Param
from bot.commands.base import Ctx
from bot.routing import Lang, Module
from bot.routing.words import MODULE_WORDS, lang_of
from store.models import Address, Contact
from store.records import count_by_module
from store.services.contacts import ContactMatch
from store.services.memory import recall, remember

# Memory kinds this family owns: a `buscar` list, and the candidates of a `vincular`.
KIND_CONTACTS: Final = "contacts"
KIND_LINK_CHOICE: Final = "link_choice"
MAX_LISTED: Final = 10


def module_word(module: Module, lang: Lang) -> str:
    """The word that lists ``module`` in ``lang``."""
    return MODULE_WORDS[module].of(lang)[0]


def full_name(contact: Contact | ContactMatch) -> str:
    """First and last name as one line."""
    return f"{contact.first_name} {contact.last_name}".strip()


def summary(contact: Contact | ContactMatch) -> dict[str, Param]:
    """One line of a numbered list of contacts: name, email, account."""
    return {"name": full_name(contact), "email": contact.email, "account": contact.account}


async def _primary_address(ctx: Ctx, contact_id: int) -> list[Param]:
    address = await ctx.session.scalar(
        select(Address)
        .where(Address.contact_id == contact_id, Address.is_primary.is_(True))
        .order_by(Address.id)
        .limit(1)
    )
    if address is None:
        return []
    town = " ".join(part for part in (address.postal_code, address.city) if part)
    parts = (address.street, town, address.state, address.country)
    return [part for part in parts if part]


async def card(ctx: Ctx, contact: Contact) -> dict[str, Param]:
    """The contact card's parameters: details, primary address and a count per module."""
    lang = lang_of(ctx.locale)
    counts = await count_by_module(ctx.session, contact.id)
    return {
        "name": full_name(contact),
        "email": contact.email,
        "phone": contact.phone,
        "mobile": contact.mobile,
        "account": contact.account,
        "address": await _primary_address(ctx, contact.id),
        "counts": [{"word": module_word(module, lang), "count": n} for module, n in counts.items()],
    }


async def remember_list(ctx: Ctx, kind: str, contacts: list[ContactMatch]) -> None:
    """Keep the ids of a numbered list so that a bare number can pick one next."""
    incoming = ctx.incoming
    ids: list[object] = [contact.id for contact in contacts]
    await remember(
        ctx.session, incoming.room.id, incoming.user.id, incoming.thread_id, kind, {"ids": ids}
    )


async def recall_list(ctx: Ctx, kind: str) -> list[int] | None:
    """The ids of the last list of ``kind`` this user saw here, if that is what they saw."""
    incoming = ctx.incoming
    data = await recall(ctx.session, incoming.room.id, incoming.user.id, incoming.thread_id, kind)
    ids = data.get("ids") if data is not None else None
    if not isinstance(ids, list):
        return None
    return [value for value in ids if isinstance(value, int)]


async def pick(ctx: Ctx, ids: list[int], number: int) -> Contact | None:
    """Item ``number`` (1-based) of a remembered list; None after saying what went wrong."""
    if not 1 <= number <= len(ids):
        ctx.reply("choice_out_of_range", number=number, count=len(ids))
        return None
    contact = await ctx.session.get(Contact, ids[number - 1])
    if contact is None:  # deleted since the list was shown
        ctx.reply("nothing_to_choose")
    return contact
