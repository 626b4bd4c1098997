"""Transcript-style chat tests: ``await chat.say("ayuda")`` runs the whole path
(pipeline → store → outbox → notifier → transport) and returns what the room received."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.bootstrap import ChatApp, Store, build_chat
from bot.chat import ChatUser, Incoming, Outgoing, RoomRef
from bot.commands.base import ChatConfig
from bot.inbox import Outcome
from store.types import utcnow


@dataclass
class RecordingTransport:
    """Keeps every delivered message, in order (the fake seam for chat tests)."""

    sent: list[Outgoing] = field(default_factory=list)

    async def send(self, message: Outgoing) -> None:
        self.sent.append(message)

    def texts(self, room_id: str) -> list[str]:
        return [message.text for message in self.sent if message.room_id == room_id]


class Chat:
    """One chat world over a test database: users say things in rooms, rooms hear replies."""

    def __init__(
        self,
        store: Store,
        *,
        locale: str = "es",
        config: ChatConfig | None = None,
        fixed_role: str | None = "admin",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.transport = RecordingTransport()
        self.store = store
        self.app: ChatApp = build_chat(
            store,
            self.transport,
            config or ChatConfig(),
            locale=locale,
            fixed_role=fixed_role,
            clock=clock,
        )
        self._ids = itertools.count(1)
        self.last_outcome: Outcome | None = None

    async def __aenter__(self) -> Chat:
        self.app.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.app.stop()

    async def say(
        self,
        text: str,
        *,
        user: str = "ana",
        room: str = "room-1",
        thread: str = "",
        kind: str = "d",
        message_id: str | None = None,
    ) -> list[str]:
        """Send ``text`` and return the texts this message made the bot post in ``room``."""
        before = len(self.transport.sent)
        incoming = Incoming(
            message_id=message_id or f"m{next(self._ids)}",
            room=RoomRef(id=room, name=room, kind=kind),
            user=ChatUser(id=f"u-{user}", username=user, name=user.title()),
            text=text,
            thread_id=thread,
        )
        self.last_outcome = await self.app.inbox.submit(incoming)
        await self.app.notifier.drain()
        return [m.text for m in self.transport.sent[before:] if m.room_id == room]

    async def said(self, text: str, **kwargs: str) -> str:
        """Like ``say`` but expects exactly one reply and returns it."""
        replies = await self.say(text, **kwargs)
        assert len(replies) == 1, replies
        return replies[0]
