"""`comentar <texto>` / `comment <text>`: a comment on the room's contact, and its notices."""

from __future__ import annotations

from typing import Final

from bot.commands.base import Ctx
from bot.commands.notify import notify_contact_rooms
from bot.permissions import Action
from bot.routing import Command, Route
from bot.routing.words import COMMAND_WORDS, lang_of
from store.models import Comment, Contact

MAX_COMMENT_CHARS: Final = 4000


def contact_name(contact: Contact) -> str:
    """The contact's full name as shown in replies."""
    return f"{contact.first_name} {contact.last_name}".strip()


async def comment(ctx: Ctx, route: Route) -> None:
    """Store the text, exactly as typed, as a comment by the chat user; tell the other rooms."""
    text = route.args.strip()
    if not text:
        word = COMMAND_WORDS[Command.COMMENT].of(lang_of(ctx.locale))[0]
        ctx.reply("comment_usage", command=word)
        return
    if not ctx.permit(Action.COMMENT):
        return
    contact = await ctx.require_contact()
    if contact is None:
        return
    if len(text) > MAX_COMMENT_CHARS:
        ctx.reply("comment_too_long", length=len(text), max=MAX_COMMENT_CHARS)
        return
    author = ctx.incoming.user.username
    ctx.session.add(Comment(contact_id=contact.id, author=author, text=text, created_at=ctx.now))
    await ctx.session.flush()
    name = contact_name(contact)
    rooms = await notify_contact_rooms(
        ctx, contact.id, "notify_comment", who=author, contact=name, text=text
    )
    ctx.reply("comment_added", contact=name, rooms=rooms)
