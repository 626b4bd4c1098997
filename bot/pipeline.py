"""Per-message decisions: is it for the bot, who is asking, which command or dialog answers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from bot.commands.base import ChatConfig, CommandHandler, Ctx
from bot.commands.files import handle_file
from bot.inbox import BATCH_INFO, Turn
from bot.permissions import Action
from bot.routing import Command, Unknown, match_command, strip_address
from store.services.users import role_of, roles_of
from store.types import utcnow

# Per inbox transaction (``session.info``): the batch's senders and their roles, read ahead.
_ROLES_INFO = "crmbot.roles"


class DialogRunner(Protocol):
    """The dialog engine as the pipeline sees it."""

    async def handle(self, ctx: Ctx, addressed: bool) -> bool:
        """Answer the user's open dialog here, if any; True when the message was consumed."""


class Pipeline:
    """The message handler the inbox calls for every fresh message."""

    def __init__(
        self,
        config: ChatConfig,
        commands: Mapping[Command, CommandHandler],
        *,
        dialogs: DialogRunner | None = None,
        clock: Callable[[], datetime] = utcnow,
        fixed_role: str | None = None,
    ) -> None:
        self._config = config
        self._commands = commands
        self._dialogs = dialogs
        self._clock = clock
        # The terminal shell acts as a local admin whatever the user table says.
        self._fixed_role = fixed_role

    async def __call__(self, turn: Turn) -> None:
        incoming = turn.incoming
        if incoming.user.is_bot or incoming.user.username == self._config.bot_username:
            turn.ignored = True
            return
        addressed, text = strip_address(incoming.text, self._config.bot_username)
        addressed = addressed or incoming.room.is_direct
        role = self._fixed_role or await self._role(turn)
        ctx = Ctx(turn=turn, role=role, config=self._config, now=self._clock(), text=text)
        if incoming.file is not None:
            # A file in a room is stored for its contact whether or not the bot was
            # addressed; someone the CRM does not know gets nothing stored and no answer.
            if role == "none":
                turn.ignored = True
            else:
                await handle_file(ctx, self._config.max_file_mb)
            return
        if self._dialogs is not None and await self._dialogs.handle(ctx, addressed):
            return
        if not addressed:
            turn.ignored = True
            return
        await self._command(ctx, text)

    async def _role(self, turn: Turn) -> str:
        """The sender's role; the roles of the whole inbox batch are read in one query."""
        username, info = turn.incoming.user.username, turn.session.info
        read_ahead: tuple[frozenset[str], dict[str, str]] | None = info.get(_ROLES_INFO)
        if read_ahead is None:
            batch = info.get(BATCH_INFO) or [turn.incoming]
            asked = frozenset(m.user.username for m in batch)
            read_ahead = info[_ROLES_INFO] = (asked, await roles_of(turn.session, asked))
        asked, roles = read_ahead
        role = roles.get(username) if username in asked else await role_of(turn.session, username)
        return role or self._config.default_role

    async def _command(self, ctx: Ctx, text: str) -> None:
        route = match_command(text, ctx.locale)
        if isinstance(route, Unknown):
            ctx.reply("unknown_command", word=route.word, suggestion=route.suggestion)
            return
        if route.command is not Command.HELP and not ctx.permit(Action.READ):
            return
        handler = self._commands.get(route.command)
        if handler is None:
            ctx.reply("command_unavailable", command=route.command.value)
            return
        await handler(ctx, route)
