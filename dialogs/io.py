"""What a wizard sees of one message and how it answers: neutral of chat, HTTP and templates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat import Incoming, Param, Reply


class Control(StrEnum):
    """Dialog control words, recognised by the chat side and handed in already matched."""

    OK = "ok"
    CANCEL = "cancel"
    BACK = "back"
    HELP = "help"
    SKIP = "skip"
    DONE = "done"
    EDIT = "edit"
    REMOVE = "remove"
    SAVE = "save"


@dataclass(frozen=True, slots=True)
class Saved:
    """A wizard saved a record: the chat side shows it and tells the contact's other rooms."""

    kind: str
    record_id: int
    number: str
    contact_id: int


@dataclass(slots=True)
class DialogIO:
    """One message for a dialog, and what the dialog says back."""

    session: AsyncSession
    incoming: Incoming
    text: str
    control: Control | None
    number: int | None
    locale: str
    now: dt.datetime
    timezone: str
    currency: str
    role: str
    can: Callable[[str], bool]
    # The role a refusal of an action names (CONTRACT §7: a refused action says which).
    needed: Callable[[str], str] = field(default=lambda _action: "admin")
    replies: list[Reply] = field(default_factory=list)
    saved: list[Saved] = field(default_factory=list)

    def say(self, key: str, **params: Param) -> None:
        """Queue a reply to the user."""
        self.replies.append(Reply(key, params))

    @property
    def today(self) -> dt.date:
        """Today in the configured time zone (what "hoy" means)."""
        return self.now.astimezone(ZoneInfo(self.timezone)).date()
