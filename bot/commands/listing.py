"""The listing family: `<módulo> [página N]`, `página N` and `ver <número>` (CONTRACT §4)."""

from __future__ import annotations

import re
from typing import Final

from sqlalchemy import func, select

from bot.chat import Param
from bot.commands.base import CommandHandler, Ctx
from bot.commands.detail import contact_name, show
from bot.commands.listing_memory import recall_list, remember_list
from bot.commands.listing_rows import DOCUMENT_MODULES, Item, build_item, list_key
from bot.routing import Command, Module, Route
from store.models import Contact, Document, EmailFile, StoredFile
from store.records import Page, count_by_module, read_records

_PAGE_NUMBER: Final = re.compile(r"[0-9]{1,9}")


async def list_module(ctx: Ctx, route: Route) -> None:
    """`compras`, `compras página 3` (and `compras 3`): a page of the linked contact's list."""
    if route.module is None:
        return
    page = route.page
    if route.args:
        # A bare number after the module word is read as the page; anything else is unknown.
        if not _PAGE_NUMBER.fullmatch(route.args) or int(route.args) < 1:
            ctx.reply("list_bad_args", module=route.module.value, args=route.args)
            return
        page = int(route.args)
    contact = await ctx.require_contact()
    if contact is not None:
        await show_page(ctx, contact, route.module, page)


async def list_page(ctx: Ctx, route: Route) -> None:
    """`página N` alone: page N of the last list this user saw here."""
    memory = await recall_list(ctx)
    contact = None if memory is None else await ctx.session.get(Contact, memory.contact_id)
    if memory is None or contact is None:
        ctx.reply("list_no_list")
        return
    await show_page(ctx, contact, memory.module, route.page)


async def show_page(ctx: Ctx, contact: Contact, module: Module, page: int) -> None:
    """Reply with one page of ``module`` for ``contact`` and remember it."""
    size = ctx.config.page_size
    total = (await count_by_module(ctx.session, contact.id))[module]
    pages = max(1, -(-total // size))
    if page > pages and total:
        ctx.reply("list_out_of_range", module=module.value, page=page, pages=pages, total=total)
        return
    page = min(page, pages)
    offset = (page - 1) * size
    rows = await read_records(ctx.session, module.value, contact.id, Page(size, offset))
    items = [build_item(module, row, ctx.locale) for row in rows]
    if module in DOCUMENT_MODULES:
        await _add_currencies(ctx, rows, items)
    if module is Module.EMAILS:
        await _count_attachments(ctx, contact.id, rows, items)
    ids = [_row_id(row) for row in rows]
    for number, item in enumerate(items, offset + 1):
        item["n"] = number
    await remember_list(ctx, module, contact.id, page, offset + 1, ids)
    shown: list[Param] = [*items]
    params: dict[str, Param] = {
        "module": module.value,
        "contact": contact_name(contact),
        "total": total,
        "page": page,
        "pages": pages,
        "first": offset + 1,
        "next_page": page + 1 if page < pages else None,
        "items": shown,
    }
    ctx.reply(list_key(module), **params)


async def _add_currencies(ctx: Ctx, rows: list[dict[str, object]], items: list[Item]) -> None:
    # The shared row format has no currency; a document is shown in its own one.
    ids = [_row_id(row) for row in rows]
    found = await ctx.session.execute(
        select(Document.id, Document.currency).where(Document.id.in_(ids))
    )
    currency = {row.id: row.currency for row in found}
    for row, item in zip(rows, items, strict=True):
        item["currency"] = currency.get(_row_id(row))


async def _count_attachments(
    ctx: Ctx, contact_id: int, rows: list[dict[str, object]], items: list[Item]
) -> None:
    # An email of several contacts made one file per contact: count this contact's only.
    found = await ctx.session.execute(
        select(EmailFile.email_id, func.count())
        .join(StoredFile, StoredFile.id == EmailFile.file_id)
        .where(
            EmailFile.email_id.in_([_row_id(row) for row in rows]),
            StoredFile.contact_id == contact_id,
        )
        .group_by(EmailFile.email_id)
    )
    counts = {row[0]: row[1] for row in found}
    for row, item in zip(rows, items, strict=True):
        item["attachments"] = counts.get(_row_id(row), 0)


def _row_id(row: dict[str, object]) -> int:
    value = row["id"]
    if not isinstance(value, int):
        raise TypeError(f"record id {value!r} is not an integer")
    return value


COMMANDS: dict[Command, CommandHandler] = {
    Command.MODULE_LIST: list_module,
    Command.PAGE: list_page,
    Command.SHOW: show,
}
