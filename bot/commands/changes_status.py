"""`estado <número> <estado>` / `status <number> <status>`: checked status changes and notices.

The moves themselves are data in ``store.services.status``; this module adds who may make
them (CONTRACT §7) and says every outcome in the user's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from bot.chat import Param
from bot.commands.base import Ctx
from bot.commands.notify import notify_contact_rooms
from bot.permissions import Action
from bot.routing import Command, Route
from bot.routing.words import COMMAND_WORDS, lang_of
from store.services.status import (
    LABELS,
    StatusKind,
    StatusRecord,
    TransitionError,
    change_status,
    find_record,
    match_status,
    next_statuses,
    statuses,
)
from store.vocab import label

CHANGE_ACTION: Final[Mapping[StatusKind, Action]] = MappingProxyType(
    {
        StatusKind.PURCHASE_ORDER: Action.CHANGE_PURCHASE,
        StatusKind.QUOTE: Action.CHANGE_QUOTE,
        StatusKind.SALES_ORDER: Action.CHANGE_SALES_ORDER,
        StatusKind.CASE: Action.CHANGE_CASE,
    }
)
# Typed around a number or a status name without meaning anything: `OC-00012:`, «aprobada».
_NOISE: Final = ".,;:!?¿¡\"'«»“”"


def _labels(ctx: Ctx, kind: StatusKind, codes: tuple[str, ...]) -> list[Param]:
    return [label(LABELS[kind], code, ctx.locale) for code in codes]


def _permitted(ctx: Ctx, record: StatusRecord, new: str) -> bool:
    """Changing needs the kind's action; approving a purchase order needs the approval
    action, asked first so that a refusal names the role that approves (admin)."""
    if record.kind is StatusKind.PURCHASE_ORDER and new == "approved":
        return ctx.permit(Action.APPROVE_PURCHASE) and ctx.permit(CHANGE_ACTION[record.kind])
    return ctx.permit(CHANGE_ACTION[record.kind])


def _show_current(ctx: Ctx, record: StatusRecord) -> None:
    word = COMMAND_WORDS[Command.STATUS].of(lang_of(ctx.locale))[0]
    ctx.reply(
        "status_current",
        command=word,
        number=record.number,
        title=record.title,
        status=label(LABELS[record.kind], record.status, ctx.locale),
        allowed=_labels(ctx, record.kind, next_statuses(record.kind, record.status)),
    )


def _pick_status(ctx: Ctx, record: StatusRecord, typed: str) -> str | None:
    """The status code ``typed`` names, or None after saying why it names none."""
    found = match_status(record.kind, typed)
    if len(found) == 1:
        return found[0]
    if found:
        ctx.reply("status_ambiguous", text=typed, options=_labels(ctx, record.kind, found))
    else:
        valid = _labels(ctx, record.kind, statuses(record.kind))
        ctx.reply("status_unknown", text=typed, kind=record.kind.value, valid=valid)
    return None


async def status(ctx: Ctx, route: Route) -> None:
    """Change a purchase order's, quote's, sales order's or case's status, if allowed."""
    number, _, typed = route.args.strip().partition(" ")
    number, typed = number.strip(_NOISE), typed.strip().strip(_NOISE).strip()
    if not number:
        word = COMMAND_WORDS[Command.STATUS].of(lang_of(ctx.locale))[0]
        ctx.reply("status_usage", command=word)
        return
    record = await find_record(ctx.session, number)
    if record is None:
        ctx.reply("status_not_found", number=number)
        return
    if not typed:
        _show_current(ctx, record)
        return
    new = _pick_status(ctx, record, typed)
    if new is None or not _permitted(ctx, record, new):
        return
    await _apply(ctx, record, new)


async def _apply(ctx: Ctx, record: StatusRecord, new: str) -> None:
    labels = LABELS[record.kind]
    try:
        change = await change_status(ctx.session, record, new)
    except TransitionError as refused:
        ctx.reply(
            "status_refused",
            number=record.number,
            old=label(labels, refused.old, ctx.locale),
            new=label(labels, refused.new, ctx.locale),
            allowed=_labels(ctx, record.kind, refused.allowed),
        )
        return
    params = {
        "number": record.number,
        "title": record.title,
        "old": label(labels, change.old, ctx.locale),
        "new": label(labels, change.new, ctx.locale),
    }
    if not change.changed:
        ctx.reply("status_same", number=record.number, status=params["new"])
        return
    who = ctx.incoming.user.username
    await notify_contact_rooms(ctx, record.contact_id, "notify_status", who=who, **params)
    ctx.reply("status_changed", **params)
