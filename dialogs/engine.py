"""The dialog engine: one session row per (room, user, thread), controls, expiry, dispatch."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.flow import TRIGGER_ANSWER, Flow, WizardSpec
from dialogs.io import Control, DialogIO
from store import batch, jsontext
from store.dialog_rows import DialogRow, DialogRows, Key
from store.models import DialogSession

HELP_AFTER_ERRORS = 3


class DialogEngine:
    """Starts wizards and feeds them messages; holds no per-dialog state between messages."""

    def __init__(self, wizards: Sequence[WizardSpec], *, timeout_min: int) -> None:
        self._wizards = {spec.name: spec for spec in wizards}
        self._states = {spec.name: frozenset(s.value for s in spec.flow.states) for spec in wizards}
        self._timeout = dt.timedelta(minutes=timeout_min)
        for spec in wizards:
            spec.flow.machine = spec.flow.build_machine()

    def spec(self, name: str) -> WizardSpec:
        """The wizard called ``name``."""
        return self._wizards[name]

    async def start(self, io: DialogIO, name: str, prefill: dict[str, object]) -> None:
        """Open wizard ``name`` for this user here (replacing an expired one) and ask step one."""
        rows = await _rows(io)
        row = rows.get(_key(io))
        if row is not None and row.wizard in self._wizards and not self._expired(row, io.now):
            io.say("dialog_already_open", wizard=row.wizard)
            flow, _ = self._flow(row, io)
            await flow.ask(None)
            flow.save_row()
            rows.changed(row)
            await _write_now(io, rows)
            return
        spec = self._wizards[name]
        row = DialogRow(
            room_id=io.incoming.room.id,
            user_id=io.incoming.user.id,
            thread_id=io.incoming.thread_id,
            wizard=name,
            state=str(spec.flow.initial),  # the value, not the StrEnum member
            data=jsontext.dumps({"fields": prefill, "started": io.now.isoformat()}, default=str),
            version=0,
            created_at=io.now,
            updated_at=io.now,
        )
        rows.put(row)  # an expired dialog of the same key is replaced by this one
        flow = spec.flow(row, io)
        io.say(f"{name}_started")
        await flow.ask(None)
        flow.save_row()
        await _write_now(io, rows)

    async def handle(self, io: DialogIO, *, starting: str | None = None) -> bool:
        """Answer the user's open dialog here; False when there is none.

        ``starting`` names the wizard the message asks to open (``agregar compra``): with a
        dialog already open that is a reminder of it, not an answer to its step.
        """
        rows = await _rows(io)
        key = _key(io)
        row = rows.get(key)
        if row is None:
            return False
        if self._expired(row, io.now):
            rows.remove(key)
            io.say("dialog_expired", wizard=row.wizard, minutes=self._minutes)
        elif (spec := self._wizards.get(row.wizard)) is None:
            rows.remove(key)
            io.say("dialog_gone")
        elif not io.can(spec.action):
            # The user's role changed while the wizard was open: roles hold at every step,
            # so it ends here and nothing of it is saved.
            rows.remove(key)
            io.say("forbidden", role=io.role, needed=io.needed(spec.action))
            io.say("dialog_cancelled", wizard=row.wizard)
        else:
            await self._step(io, rows, row, starting)
        await _write_now(io, rows)
        return True

    async def _step(
        self, io: DialogIO, rows: DialogRows, row: DialogRow, starting: str | None
    ) -> None:
        flow, resumed = self._flow(row, io)
        if starting is not None:
            io.say("dialog_already_open", wizard=row.wizard)
            await flow.ask(None)
        elif resumed and io.control is not Control.CANCEL:
            # The message answered a step that no longer exists: ask the resumed step
            # instead of reading it as an answer to a question the user never saw.
            await flow.ask(None)
        elif await self._dispatch(flow, io):
            rows.remove(row.key)
            return
        flow.save_row()
        row.updated_at = io.now
        row.version += 1
        rows.changed(row)

    @property
    def _minutes(self) -> int:
        return int(self._timeout.total_seconds() // 60)

    def _expired(self, row: DialogRow, now: dt.datetime) -> bool:
        return now - row.updated_at > self._timeout

    def _flow(self, row: DialogRow, io: DialogIO) -> tuple[Flow, bool]:
        """The flow over ``row``, and whether its stored state had to be replaced."""
        flow = self._wizards[row.wizard].flow(row, io)
        if row.state in self._states[row.wizard]:
            return flow, False
        # A state a newer version no longer has: resume at the nearest step, never crash.
        row.state = str(flow.nearest_state(row.state))
        io.say("dialog_resumed")
        return flow, True

    async def _dispatch(self, flow: Flow, io: DialogIO) -> bool:
        """Apply the message to the flow; True when the dialog is over (cancelled or saved)."""
        match io.control:
            case Control.CANCEL:
                io.say("dialog_cancelled", wizard=flow.wizard)
                return True
            case Control.HELP:
                io.say(f"{flow.wizard}_{flow.state}_help")
            case Control.BACK:
                await self._back(flow, io)
            case Control.SAVE if flow.state == flow.review:
                return await flow.save()
            case Control.EDIT if flow.state == flow.review:
                await flow.edit(io.number)
            case Control.SAVE | Control.EDIT:
                io.say("dialog_only_at_review")
                await flow.ask(None)
            case _:
                await self._answer(flow, io)
        return False

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
        errors = int(flow.data.get("errors", 0))
        if errors and errors % HELP_AFTER_ERRORS == 0:  # every third miss, not every one after
            io.say("dialog_offer_help")
        await flow.ask(None)


_ROWS_INFO = "crmbot.dialog_rows"


def _key(io: DialogIO) -> Key:
    return io.incoming.room.id, io.incoming.user.id, io.incoming.thread_id


async def _rows(io: DialogIO) -> DialogRows:
    """The dialog rows, with the message's own loaded (and locked on PostgreSQL).

    In an inbox batch, one set for the whole batch: every row its messages may touch is
    read (and locked, in key order, so two processes with overlapping batches wait for each
    other instead of deadlocking) in one SELECT, and written once when the batch ends.
    Elsewhere (the inbox's rerun, a savepoint per message) a set for this message alone,
    written before the message ends, inside its savepoint.
    """
    session = io.session
    locking = session.get_bind().dialect.name == "postgresql"
    if not batch.deferring(session):
        rows = DialogRows(locking=locking)
        await rows.load(session, [_key(io)])
        return rows
    shared: DialogRows | None = session.info.get(_ROWS_INFO)
    if shared is None:
        shared = session.info[_ROWS_INFO] = DialogRows(locking=locking)
        messages = session.info[batch.BATCH_INFO]
        await shared.load(session, [(m.room.id, m.user.id, m.thread_id) for m in messages])
        batch.defer(session, shared.write)
    await shared.load(session, [_key(io)])  # read already, unless not announced in the batch
    return shared


async def _write_now(io: DialogIO, rows: DialogRows) -> None:
    """Store the message's changes now, unless the batch stores them all at its end."""
    if not batch.deferring(io.session):
        await rows.write(io.session)


async def open_dialog_exists(session: AsyncSession, room_id: str, user_id: str) -> bool:
    """Whether the user has any open dialog in the room (any thread)."""
    found = await session.scalar(
        select(DialogSession.wizard).where(
            DialogSession.room_id == room_id, DialogSession.user_id == user_id
        )
    )
    return found is not None


__all__ = ["DialogEngine", "open_dialog_exists"]
