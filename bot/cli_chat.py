"""CLI commands that chat: ``crmbot shell``."""

from __future__ import annotations

import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.bootstrap import build_chat, chat_config, open_store, sender_config
from bot.settings import Settings
from bot.shell import ShellSession, stdin
from bot.transport.shell import ShellTransport
from store.demo import load_demo_data

SHELL_ADMIN = "admin"


async def shell(settings: Settings, *, demo: bool, user: str | None, room: str) -> int:
    """A terminal chat as a local admin, or as ``user`` with that user's mapped role."""
    out = sys.stdout
    sender = sender_config(settings)  # a malformed relay URL is reported before anything opens
    # The embedded default must work on a fresh clone: create or migrate the schema.
    async with open_store(settings, migrate=True) as store:
        if demo:
            today = datetime.now(ZoneInfo(settings.timezone)).date()
            async with store.sessions.begin() as session:
                await load_demo_data(session, store.files, today=today, timezone=settings.timezone)
        app = build_chat(
            store,
            ShellTransport(out, room),
            chat_config(settings),
            locale=settings.locale,
            fixed_role=None if user else SHELL_ADMIN,
            sender=sender,
        )
        app.start()
        try:
            session_ = ShellSession(
                app.inbox,
                app.notifier,
                user=user or SHELL_ADMIN,
                room=room,
                out=out,
                sender=app.sender,
            )
            if stdin().isatty():
                out.write(app.renderer.render("shell_welcome", {"room": room}, settings.locale))
                out.write("\n\n")
            await session_.run(stdin())
        finally:
            await app.stop()
    return 0
