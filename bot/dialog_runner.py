"""The chat side of the dialogs: starts wizards from commands, feeds them messages, and
turns what they say and save into replies, detail views and notifications."""

from __future__ import annotations

from bot.commands.base import CommandHandler, Ctx
from bot.commands.detail import show_saved
from bot.commands.notify import notify_contact_rooms
from bot.permissions import Action, allowed, needed_role
from bot.routing import Command, Route, fold, match_control
from bot.routing.words import COMMAND_WORDS
from dialogs.engine import DialogEngine
from dialogs.flow import WizardSpec
from dialogs.io import DialogIO


class DialogRunner:
    """Implements the pipeline's dialog hook and the ``agregar …`` commands."""

    def __init__(self, engine: DialogEngine) -> None:
        self._engine = engine
        # The phrases that open a wizard, folded (filled by ``wizard_commands``): typed inside
        # an open dialog they remind the user of it instead of becoming an answer.
        self._openers: dict[str, WizardSpec] = {}

    def register(self, specs: dict[Command, WizardSpec]) -> None:
        """Know the commands that open wizards (both languages' phrases)."""
        for command, spec in specs.items():
            words = COMMAND_WORDS[command]
            self._openers.update((fold(phrase), spec) for phrase in (*words.es, *words.en))

    def _io(self, ctx: Ctx) -> DialogIO:
        matched = match_control(ctx.text)
        return DialogIO(
            session=ctx.session,
            incoming=ctx.incoming,
            text=ctx.text,
            control=matched.control if matched else None,
            number=matched.number if matched else None,
            locale=ctx.locale,
            now=ctx.now,
            timezone=ctx.config.timezone,
            currency=ctx.config.currency,
            role=ctx.role,
            can=lambda action: allowed(ctx.role, Action(action)),
            needed=lambda action: needed_role(Action(action)),
        )

    async def handle(self, ctx: Ctx, addressed: bool) -> bool:
        """Give the message to the user's open dialog here, if there is one."""
        io = self._io(ctx)
        # A plain lookup, not match_command: its suggestions cost more than a whole step.
        opening = self._openers.get(fold(ctx.text))
        consumed = await self._engine.handle(io, starting=opening.name if opening else None)
        if consumed:
            await self._flush(ctx, io)
        return consumed

    def starter(self, spec: WizardSpec) -> CommandHandler:
        """The command handler that opens ``spec``'s wizard."""

        async def start(ctx: Ctx, _route: Route) -> None:
            if not ctx.permit(Action(spec.action)):
                return
            contact = await ctx.linked_contact()
            prefill: dict[str, object] = {}
            if contact is not None:
                name = f"{contact.first_name} {contact.last_name}".strip()
                prefill["contact"] = {"id": contact.id, "name": name}
            io = self._io(ctx)
            await self._engine.start(io, spec.name, prefill)
            await self._flush(ctx, io)

        return start

    async def _flush(self, ctx: Ctx, io: DialogIO) -> None:
        for reply in io.replies:
            ctx.turn.say(ctx.incoming.room.id, reply, thread_id=ctx.incoming.thread_id)
        for saved in io.saved:
            ctx.reply("dialog_saved", number=saved.number, kind=saved.kind)
            await show_saved(ctx, saved.kind, saved.record_id)
            await notify_contact_rooms(
                ctx,
                saved.contact_id,
                "notify_created",
                number=saved.number,
                kind=saved.kind,
                user=ctx.incoming.user.username,
            )


def wizard_commands(
    runner: DialogRunner, specs: dict[Command, WizardSpec]
) -> dict[Command, CommandHandler]:
    """``agregar compra`` and friends, each opening its wizard."""
    runner.register(specs)
    return {command: runner.starter(spec) for command, spec in specs.items()}
