"""`ayuda [tema]` / `help [topic]`: what the caller's role can do here, and help per topic."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from bot.chat import Param
from bot.commands.base import Ctx
from bot.commands.contacts_view import full_name
from bot.permissions import Action, allowed, needed_role
from bot.routing import Command, Module, Route, Unknown, fold, match_command
from store.vocab import CASE_STATUS, PO_STATUS, QUOTE_STATUS, SALES_ORDER_STATUS, Labels, label


class Topic(StrEnum):
    """Help topics; each has its own reply key, ``help_<topic>``."""

    SEARCH = "search"
    LINK = "link"
    MODULES = "modules"
    SHOW = "show"
    PURCHASES = "purchases"
    QUOTES = "quotes"
    CASES = "cases"
    COMMENT = "comment"
    STATUS = "status"
    SEND = "send"


_BY_COMMAND: Final[Mapping[Command, Topic]] = MappingProxyType(
    {
        Command.SEARCH: Topic.SEARCH,
        Command.LINK: Topic.LINK,
        Command.UNLINK: Topic.LINK,
        Command.CONTACT: Topic.MODULES,
        Command.SHOW: Topic.SHOW,
        Command.ADD_PURCHASE: Topic.PURCHASES,
        Command.ADD_QUOTE: Topic.QUOTES,
        Command.ADD_CASE: Topic.CASES,
        Command.COMMENT: Topic.COMMENT,
        Command.STATUS: Topic.STATUS,
        Command.SEND: Topic.SEND,
    }
)
# Module words lead to the modules topic, except those with a wizard of their own.
_BY_MODULE: Final[Mapping[Module, Topic]] = MappingProxyType(
    {
        Module.PURCHASES: Topic.PURCHASES,
        Module.QUOTES: Topic.QUOTES,
        Module.CASES: Topic.CASES,
        Module.COMMENTS: Topic.COMMENT,
    }
)
# Topic words that are not commands, and singulars people naturally type after `ayuda`.
_ALIASES: Final[Mapping[str, Topic]] = MappingProxyType(
    {
        "modulos": Topic.MODULES,
        "modulo": Topic.MODULES,
        "modules": Topic.MODULES,
        "module": Topic.MODULES,
        "compra": Topic.PURCHASES,
        "purchase": Topic.PURCHASES,
        "cotizacion": Topic.QUOTES,
        "quote": Topic.QUOTES,
        "caso": Topic.CASES,
        "case": Topic.CASES,
        "comentario": Topic.COMMENT,
        "estados": Topic.STATUS,
        "email": Topic.SEND,
    }
)

# What the overview offers, in order, with the actions that make each entry available.
_ENTRIES: Final = (
    ("search", (Action.READ,)),
    ("link", (Action.LINK_ROOM,)),
    ("contact", (Action.READ,)),
    ("modules", (Action.READ,)),
    ("show", (Action.READ,)),
    ("add_purchase", (Action.CREATE_PURCHASE,)),
    ("add_quote", (Action.CREATE_QUOTE,)),
    ("add_case", (Action.CREATE_CASE,)),
    ("comment", (Action.COMMENT,)),
    (
        "status",
        (
            Action.CHANGE_PURCHASE,
            Action.CHANGE_QUOTE,
            Action.CHANGE_SALES_ORDER,
            Action.CHANGE_CASE,
        ),
    ),
    ("send", (Action.SEND_PURCHASE, Action.SEND_QUOTE)),
)


def topic_of(text: str) -> Topic | None:
    """The help topic ``text`` names, in either language; None when it names none."""
    key = fold(text).strip(".,:;!?¿¡ ")
    if key in _ALIASES:
        return _ALIASES[key]
    route = match_command(key)
    if isinstance(route, Unknown):
        return None
    if route.module is not None:
        return _BY_MODULE.get(route.module, Topic.MODULES)
    return _BY_COMMAND.get(route.command)


def entries(role: str) -> list[Param]:
    """The overview entries ``role`` may use."""
    return [name for name, actions in _ENTRIES if any(allowed(role, a) for a in actions)]


def permissions(role: str) -> dict[str, Param]:
    """For each action: whether ``role`` may do it (``may``) or which role it needs."""
    return {
        action.value: {"may": allowed(role, action), "needed": needed_role(action)}
        for action in Action
    }


def status_labels(locale: str) -> dict[str, Param]:
    """The status names users type, per kind of record, in ``locale``."""
    kinds: dict[str, Labels] = {
        "purchase": PO_STATUS,
        "quote": QUOTE_STATUS,
        "sales_order": SALES_ORDER_STATUS,
        "case": CASE_STATUS,
    }
    return {
        kind: [label(labels, code, locale) for code in labels] for kind, labels in kinds.items()
    }


async def handle_help(ctx: Ctx, route: Route) -> None:
    """The overview, one topic, or the list of topics when the topic is unknown."""
    if not allowed(ctx.role, Action.READ):
        ctx.reply("help_no_access")
        return
    contact = await ctx.linked_contact()
    params: dict[str, Param] = {
        "role": ctx.role,
        "linked": full_name(contact) if contact is not None else None,
        "can": permissions(ctx.role),
    }
    text = route.args.strip()
    if not text:
        ctx.reply("help", entries=entries(ctx.role), **params)
        return
    topic = topic_of(text)
    if topic is None:
        ctx.reply("help_topics", topic=text, **params)
        return
    ctx.reply(f"help_{topic.value}", statuses=status_labels(ctx.locale), **params)
