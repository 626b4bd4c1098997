"""``crmbot shell``: a terminal chat through the same inbox, router, dialogs and notifier."""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import TextIO

from bot.chat import ChatUser, Incoming, RoomRef
from bot.inbox import Inbox
from bot.mail.sender import DocumentSender
from bot.notifier import Notifier

PROMPT = "> "


class ShellSession:
    """Feeds typed lines to the inbox as messages from one user in one room."""

    def __init__(
        self,
        inbox: Inbox,
        notifier: Notifier,
        *,
        user: str,
        room: str,
        out: TextIO,
        sender: DocumentSender | None = None,
    ) -> None:
        self._inbox = inbox
        self._notifier = notifier
        self._sender = sender
        self._user = ChatUser(id=user, username=user, name=user)
        # The terminal is a direct conversation: no "@crmbot" or "!" needed.
        self._room = RoomRef(id=room, name=room, kind="d")
        self._out = out

    async def say(self, text: str) -> None:
        """Handle one line and print every reply it produced before returning."""
        incoming = Incoming(
            message_id=f"shell-{uuid.uuid4().hex}", room=self._room, user=self._user, text=text
        )
        await self._inbox.submit(incoming)
        if self._sender is not None:  # an `enviar` goes out before its answer is printed
            await self._sender.drain()
        await self._notifier.drain()

    async def run(self, stream: TextIO) -> None:
        """Read lines until end of input."""
        interactive = stream.isatty()
        while True:
            if interactive:
                self._out.write(PROMPT)
                self._out.flush()
            line = await asyncio.to_thread(stream.readline)
            if not line:
                return
            text = line.strip()
            if text:
                await self.say(text)


def stdin() -> TextIO:
    """Standard input (a seam for tests)."""
    return sys.stdin
