"""The terminal transport: replies are printed, one block per message."""

from __future__ import annotations

from typing import TextIO

from bot.chat import Outgoing
from bot.chatfmt import as_shown


class ShellTransport:
    """Writes each outgoing message to a text stream, separated by a blank line."""

    def __init__(self, stream: TextIO, room_id: str) -> None:
        self._stream = stream
        self._room_id = room_id
        self.sent: list[Outgoing] = []

    async def send(self, message: Outgoing) -> None:
        """Print the message; one for another room (a notification) is marked with its room."""
        self.sent.append(message)
        # Show what a Rocket.Chat user would see, not the escapes that keep data literal.
        text = as_shown(message.text).rstrip()
        if message.room_id != self._room_id:
            text = f"[→ {message.room_id}]\n{text}"
        self._stream.write(text + "\n\n")
        self._stream.flush()
