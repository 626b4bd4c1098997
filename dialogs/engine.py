"""The dialog engine: one session row per (room, user, thread), controls, expiry, dispatch."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from sqlalchemy import bindparam, inspect, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.flow import TRIGGER_ANSWER, Flow, WizardSpec
from dialogs.io import Control, DialogIO
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
        row = await _load(io)
        if row is not None and row.wizard in self._wizards and not self._expired(row, io.now):
            io.say("dialog_already_open", wizard=row.wizard)
            flow, _ = self._flow(row, io)
            await flow.ask(None)
            flow.save_row()
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
            state=str(spec.flow.initial),  # the value, not the StrEnum member
            data=json.dumps({"fields": prefill, "started": io.now.isoformat()}, default=str),
            version=0,
            created_at=io.now,
            updated_at=io.now,
        )
        io.session.add(row)
        _remember(io, row)
        flow = spec.flow(row, io)
        io.say(f"{name}_started")
        await flow.ask(None)
        flow.save_row()

    async def handle(self, io: DialogIO, *, starting: str | None = None) -> bool:
        """Answer the user's open dialog here; False when there is none.

        ``starting`` names the wizard the message asks to open (``agregar compra``): with a
        dialog already open that is a reminder of it, not an answer to its step.
        """
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
        if not io.can(spec.action):
            # The user's role changed while the wizard was open: roles hold at every step,
            # so it ends here and nothing of it is saved.
            await io.session.delete(row)
            io.say("forbidden", role=io.role, needed=io.needed(spec.action))
            io.say("dialog_cancelled", wizard=row.wizard)
            return True
        flow, resumed = self._flow(row, io)
        if starting is not None:
            io.say("dialog_already_open", wizard=row.wizard)
            await flow.ask(None)
        elif resumed and io.control is not Control.CANCEL:
            # The message answered a step that no longer exists: ask the resumed step
            # instead of reading it as an answer to a question the user never saw.
            await flow.ask(None)
        else:
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

    def _flow(self, row: DialogSession, io: DialogIO) -> tuple[Flow, bool]:
        """The flow over ``row``, and whether its stored state had to be replaced."""
        flow = self._wizards[row.wizard].flow(row, io)
        if row.state in self._states[row.wizard]:
            return flow, False
        # A state a newer version no longer has: resume at the nearest step, never crash.
        row.state = str(flow.nearest_state(row.state))
        io.say("dialog_resumed")
        return flow, True

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
        errors = int(flow.data.get("errors", 0))
        if errors and errors % HELP_AFTER_ERRORS == 0:  # every third miss, not every one after
            io.say("dialog_offer_help")
        await flow.ask(None)


# Published by the inbox in ``session.info``: every message of the batch this session runs.
BATCH_INFO = "crmbot.batch"
_ROWS_INFO = "crmbot.dialog_rows"
Key = tuple[str, str, str]
_ONE = select(DialogSession).where(
    DialogSession.room_id == bindparam("room"),
    DialogSession.user_id == bindparam("user"),
    DialogSession.thread_id == bindparam("thread"),
)
_KEY_COLUMNS = tuple_(DialogSession.room_id, DialogSession.user_id, DialogSession.thread_id)


def _key(io: DialogIO) -> Key:
    return io.incoming.room.id, io.incoming.user.id, io.incoming.thread_id


def _locking(session: AsyncSession) -> bool:
    # Two processes with messages for one dialog: the second waits for the first's commit.
    return session.get_bind().dialect.name == "postgresql"


async def _load(io: DialogIO) -> DialogSession | None:
    """The dialog row of the message's (room, user, thread), locked on PostgreSQL."""
    rows = await _batch_rows(io.session)
    key = _key(io)
    if rows is not None and key in rows:
        row = rows[key]
        if row is None or _usable(io.session, row):
            return row
    query = _ONE.with_for_update() if _locking(io.session) else _ONE
    room, user, thread = key
    return await io.session.scalar(query, {"room": room, "user": user, "thread": thread})


async def _batch_rows(session: AsyncSession) -> dict[Key, DialogSession | None] | None:
    """Every dialog row the inbox's batch may touch, read (and locked) in one query.

    One SELECT per batch instead of one per message; locked in key order, so two
    processes locking overlapping batches wait for each other instead of deadlocking.
    Not inside a savepoint (the inbox's rerun of a failed batch): rolling one back would
    release PostgreSQL's locks on every row read in it while they are still cached here.
    """
    if session.in_nested_transaction():
        return None
    rows: dict[Key, DialogSession | None] | None = session.info.get(_ROWS_INFO)
    batch = session.info.get(BATCH_INFO)
    if rows is not None or not batch:
        return rows
    keys = list(dict.fromkeys((m.room.id, m.user.id, m.thread_id) for m in batch))
    query = select(DialogSession).where(_KEY_COLUMNS.in_(keys)).order_by(*_KEY_COLUMNS)
    if _locking(session):
        query = query.with_for_update()
    rows = dict.fromkeys(keys)
    for row in await session.scalars(query):
        rows[row.room_id, row.user_id, row.thread_id] = row
    session.info[_ROWS_INFO] = rows
    return rows


def _usable(session: AsyncSession, row: DialogSession) -> bool:
    """Still the row's current state: not deleted, nor expired by a rolled-back savepoint."""
    state = inspect(row)
    return state.persistent and not state.expired_attributes and row not in session.deleted


def _remember(io: DialogIO, row: DialogSession) -> None:
    """A row created during the batch: later messages of the batch must find it."""
    rows = io.session.info.get(_ROWS_INFO)
    if rows is not None:
        rows[_key(io)] = row


async def open_dialog_exists(session: AsyncSession, room_id: str, user_id: str) -> bool:
    """Whether the user has any open dialog in the room (any thread)."""
    found = await session.scalar(
        select(DialogSession.wizard).where(
            DialogSession.room_id == room_id, DialogSession.user_id == user_id
        )
    )
    return found is not None


__all__ = ["DialogEngine", "open_dialog_exists"]
