"""What every command handler gets: the turn, the caller's role, the chat settings, helpers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat import Incoming, Param
from bot.inbox import Turn
from bot.permissions import Action, allowed, needed_role
from bot.routing import Route
from store.models import ChatChannel, Contact

# Built once, bound per message: SQLAlchemy then finds the compiled form in its cache.
_ROOM_CONTACT: Final = (
    select(Contact)
    .join(ChatChannel, ChatChannel.contact_id == Contact.id)
    .where(ChatChannel.room_id == bindparam("room_id"))
)


@dataclass(frozen=True, slots=True)
class ChatConfig:
    """The settings the chat side needs, copied once from ``Settings`` at start-up."""

    bot_username: str = "crmbot"
    currency: str = "EUR"
    timezone: str = "Europe/Madrid"
    default_role: str = "none"
    dialog_timeout_min: int = 30
    page_size: int = 10
    max_file_mb: int = 25
    # Whether CRMBOT_SMTP_RELAY_URL is set: `enviar` refuses at once without it.
    outbound_mail: bool = False


@dataclass(slots=True)
class Ctx:
    """One message being answered: who asks, with which role, in which room."""

    turn: Turn
    role: str
    config: ChatConfig
    now: dt.datetime
    text: str
    _contact: Contact | None = field(default=None, init=False)
    _contact_loaded: bool = field(default=False, init=False)

    @property
    def session(self) -> AsyncSession:
        """The batch transaction's session."""
        return self.turn.session

    @property
    def incoming(self) -> Incoming:
        """The message being answered."""
        return self.turn.incoming

    @property
    def locale(self) -> str:
        """The reply language."""
        return self.turn.locale

    def reply(self, key: str, **params: Param) -> None:
        """Answer in the message's room and thread."""
        self.turn.reply(key, **params)

    def permit(self, action: Action) -> bool:
        """True when the caller may do ``action``; otherwise answers with the role needed."""
        if allowed(self.role, action):
            return True
        self.reply("forbidden", role=self.role, needed=needed_role(action))
        return False

    async def linked_contact(self) -> Contact | None:
        """The contact this room is linked to, if any (looked up once per message)."""
        if not self._contact_loaded:
            self._contact = await self.session.scalar(
                _ROOM_CONTACT, {"room_id": self.incoming.room.id}
            )
            self._contact_loaded = True
        return self._contact

    async def require_contact(self) -> Contact | None:
        """The linked contact, or None after telling the user how to link the room."""
        contact = await self.linked_contact()
        if contact is None:
            self.reply("room_not_linked")
        return contact

    def forget_contact(self) -> None:
        """The room's link changed during this message."""
        self._contact_loaded = False
        self._contact = None


CommandHandler = Callable[[Ctx, Route], Awaitable[None]]
