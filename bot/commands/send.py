"""`enviar <número>` / `send <number>`: checks a document can be emailed and records the job.

The mail itself goes out from the send worker (``bot.mail.sender``) after this message's
transaction commits: the inbox's batch transaction never waits on the network. Anything
that would make the send fail for sure (no relay, no address, no right) is said here, and
then nothing is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import select

from bot.commands.base import CommandHandler, Ctx
from bot.mail.compose import full_name
from bot.mail.outbound import valid_address
from bot.permissions import Action
from bot.routing import Command, Route
from bot.routing.words import COMMAND_WORDS, lang_of
from store.models import Contact, Document, SendJob, Vendor
from store.send_jobs import new_token, open_job
from store.services.status import normalize_number
from store.vocab import DocumentKind

SENDABLE: Final = {
    DocumentKind.PURCHASE_ORDER.value: Action.SEND_PURCHASE,
    DocumentKind.QUOTE.value: Action.SEND_QUOTE,
}
# Typed around a number without meaning anything: `OC-00012.`, «OC-00012».
_NOISE: Final = ".,;:!?¿¡\"'«»“”"


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who gets the document: the PO's vendor or the quote's contact."""

    name: str
    address: str


async def send(ctx: Ctx, route: Route) -> None:
    """Queue a purchase order (to its vendor) or a quote (to its contact) to be emailed."""
    typed = route.args.strip().split(maxsplit=1)[0].strip(_NOISE) if route.args.strip() else ""
    if not typed:
        ctx.reply("send_usage", command=COMMAND_WORDS[Command.SEND].of(lang_of(ctx.locale))[0])
        return
    number = normalize_number(typed)
    if number is not None and not number.startswith(("OC-", "COT-")):
        ctx.reply("send_unsupported", number=number)
        return
    document = await _document(ctx, number)
    if document is None:
        ctx.reply("send_not_found", number=number or typed)
        return
    if not ctx.permit(SENDABLE[document.kind]):
        return
    if not ctx.config.outbound_mail:
        ctx.reply("send_no_relay", number=document.number)
        return
    recipient = await _recipient(ctx, document)
    if recipient is None:
        return
    await _queue(ctx, document, recipient)


async def _document(ctx: Ctx, number: str | None) -> Document | None:
    if number is None:
        return None
    return await ctx.session.scalar(
        select(Document).where(Document.number == number, Document.kind.in_(list(SENDABLE)))
    )


async def _recipient(ctx: Ctx, document: Document) -> Recipient | None:
    """The address to send to, or None after saying why there is none."""
    if document.kind == DocumentKind.PURCHASE_ORDER.value:
        vendor = await ctx.session.get(Vendor, document.vendor_id) if document.vendor_id else None
        name = vendor.name if vendor is not None else ""
        typed = vendor.email if vendor is not None else None
    else:
        contact = await ctx.session.get(Contact, document.contact_id)
        name = full_name(contact) if contact is not None else ""
        typed = (contact.email or contact.secondary_email) if contact is not None else None
    address = valid_address(typed)
    if address is None:
        ctx.reply(
            "send_no_email",
            number=document.number,
            kind=document.kind,
            name=name,
            address=(typed or "").strip(),
        )
        return None
    return Recipient(name, address)


async def _queue(ctx: Ctx, document: Document, recipient: Recipient) -> None:
    params = {
        "number": document.number,
        "title": document.title,
        "kind": document.kind,
        "recipient": recipient.address,
        "recipient_name": recipient.name,
    }
    if await open_job(ctx.session, document.id) is not None:
        ctx.reply("send_pending", **params)  # a second request while the first is out
        return
    ctx.session.add(
        SendJob(
            document_id=document.id,
            number=document.number,
            recipient=recipient.address,
            recipient_name=recipient.name[:255],
            token=new_token(),
            room_id=ctx.incoming.room.id,
            thread_id=ctx.incoming.thread_id,
            requested_by=ctx.incoming.user.username,
            locale=ctx.locale,
        )
    )
    ctx.reply("send_queued", **params)


COMMANDS: dict[Command, CommandHandler] = {Command.SEND: send}
