"""The dialog engine: one session row per (room, user, thread), controls, expiry, dispatch."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.flow import TRIGGER_ANSWER, Flow, WizardSpec
from dialogs.io import Control, DialogIO
from store.models import DialogSession

HELP_AFTER_ERRORS = 3


class DialogEngine:
    """Starts wizards and feeds them messages; holds no per-dialog state between messages."""

    def __init__(self, wizards: Sequence[WizardSpec], *, timeout_min: int) -> None:
        self._wizards = {spec.name: spec for spec in wizards}
        self._timeout = dt.timedelta(minutes=timeout_min)
        for spec in wizards:
            spec.flow.machine = spec.flow.build_machine()

    def spec(self, name: str) -> WizardSpec:
        """The wizard called ``name``."""
        return self._wizards[name]

    async def start(self, io: DialogIO, name: str, prefill: dict[str, object]) -> None:
        """Open wizard ``name`` for this user here (replacing an expired one) and ask step one."""
        row = await _load(io)
        if row is not None and not self._expired(row, io.now):
            io.say("dialog_already_open", wizard=row.wizard)
            await self._flow(row, io).ask(None)
            return
        if row is not None:
            await io.session.delete(row)
            await io.session.flush()
        spec = self._wizards[name]
        row = DialogSession(
            room_id=io.incoming.room.id,
            user_id=io.incoming.user.id,
            thread_id=io.incoming.thread_id,
            wizard=name,
            state=spec.flow.initial,
            data=json.dumps({"fields": prefill, "started": io.now.isoformat()}, default=str),
            version=0,
            created_at=io.now,
            updated_at=io.now,
        )
        io.session.add(row)
        flow = spec.flow(row, io)
        io.say(f"{name}_started")
        await flow.ask(None)
        flow.save_row()

    async def handle(self, io: DialogIO) -> bool:
        """Answer the user's open dialog here; False when there is none."""
        row = await _load(io)
        if row is None:
            return False
        if self._expired(row, io.now):
            await io.session.delete(row)
            io.say("dialog_expired", wizard=row.wizard, minutes=self._minutes)
            return True
        spec = self._wizards.get(row.wizard)
        if spec is None:
            await io.session.delete(row)
            io.say("dialog_gone")
            return True
        flow = self._flow(row, io)
        await self._dispatch(flow, io)
        if flow.row in io.session:
            flow.save_row()
            row.updated_at = io.now
            row.version += 1
        return True

    @property
    def _minutes(self) -> int:
        return int(self._timeout.total_seconds() // 60)

    def _expired(self, row: DialogSession, now: dt.datetime) -> bool:
        return now - row.updated_at > self._timeout

    def _flow(self, row: DialogSession, io: DialogIO) -> Flow:
        flow = self._wizards[row.wizard].flow(row, io)
        valid = {state.value for state in flow.states}
        if row.state not in valid:
            # A state a newer version no longer has: resume at the nearest step, never crash.
            row.state = flow.nearest_state(row.state)
            io.say("dialog_resumed")
        return flow

    async def _dispatch(self, flow: Flow, io: DialogIO) -> None:
        match io.control:
            case Control.CANCEL:
                await io.session.delete(flow.row)
                io.say("dialog_cancelled", wizard=flow.wizard)
            case Control.HELP:
                io.say(f"{flow.wizard}_{flow.state}_help")
            case Control.BACK:
                await self._back(flow, io)
            case Control.SAVE if flow.state == flow.review:
                if await flow.save():
                    await io.session.delete(flow.row)
            case Control.EDIT if flow.state == flow.review:
                await flow.edit(io.number)
            case Control.SAVE | Control.EDIT:
                io.say("dialog_only_at_review")
                await flow.ask(None)
            case _:
                await self._answer(flow, io)

    async def _back(self, flow: Flow, io: DialogIO) -> None:
        previous = flow.pop_history()
        if previous is None:
            io.say("dialog_at_start")
            await flow.ask(None)
            return
        history = flow.data.get("history", [])
        flow.data = {**previous["data"], "history": history}
        flow.state = previous["state"]
        await flow.ask(None)

    async def _answer(self, flow: Flow, io: DialogIO) -> None:
        before_state, before = flow.state, flow.snapshot()
        flow.asked = False
        await flow.machine.events[TRIGGER_ANSWER].trigger(flow)
        if flow.accepted(None):
            flow.push_history(before_state, before)
            if not flow.asked:
                await flow.ask(None)  # an internal step (e.g. a removed line): ask again
            return
        if int(flow.data.get("errors", 0)) >= HELP_AFTER_ERRORS:
            io.say("dialog_offer_help")
        await flow.ask(None)


async def _load(io: DialogIO) -> DialogSession | None:
    query = select(DialogSession).where(
        DialogSession.room_id == io.incoming.room.id,
        DialogSession.user_id == io.incoming.user.id,
        DialogSession.thread_id == io.incoming.thread_id,
    )
    if io.session.get_bind().dialect.name == "postgresql":
        # Two processes with messages for one dialog: the second waits for the first's commit.
        query = query.with_for_update()
    return await io.session.scalar(query)


async def open_dialog_exists(session: AsyncSession, room_id: str, user_id: str) -> bool:
    """Whether the user has any open dialog in the room (any thread)."""
    found = await session.scalar(
        select(DialogSession.wizard).where(
            DialogSession.room_id == room_id, DialogSession.user_id == user_id
        )
    )
    return found is not None


__all__ = ["DialogEngine", "open_dialog_exists"]
