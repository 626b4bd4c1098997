"""The model a wizard's shared state machine drives for one message, and how wizards are declared.

One ``AsyncMachine`` exists per wizard definition, built once with ``model=None``; each
message wraps its session row in a fresh ``Flow`` and dispatches to it unbound
(``machine.events[name].trigger(flow)``), so nothing per dialog outlives the message and
the engine's memory does not grow with the number of open dialogs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from transitions.extensions.asyncio import AsyncMachine

from dialogs import history
from dialogs.io import Control, DialogIO
from dialogs.parsing import AnswerError
from store import jsontext
from store.dialog_rows import DialogRow

if TYPE_CHECKING:  # the alias exists only in transitions' stubs
    from transitions.extensions.asyncio import AsyncCallbackFunc

Data = dict[str, Any]
TRIGGER_ANSWER = "answer"


class SequentialMachine(AsyncMachine):
    """An ``AsyncMachine`` that awaits its callbacks one after another, in the caller's task.

    The stock one runs each list of callbacks through ``asyncio.gather``: a task per
    callback, several per answer, each waiting its turn in the event loop (a fifth of a
    step's CPU, and every step yielding to the rest of the bot in between). Our callbacks
    share the message's database session, which must not be used by two tasks at once
    anyway; in order, in one task, is what they need. (transitions issue #717 suggests
    this very override.)
    """

    @staticmethod
    async def await_all(callables: list[AsyncCallbackFunc]) -> list[bool | None]:
        return [await func() for func in callables]


def step(source: str, dest: str, *conditions: str) -> dict[str, object]:
    """A transition taken on an accepted answer (plus any extra conditions), as data."""
    # Plain strings: transitions reads an Enum member by its *name*, the rows store values.
    return {
        "trigger": TRIGGER_ANSWER,
        "source": str(source),
        "dest": str(dest),
        "conditions": ["accepted", *conditions],
    }


def back_to_review(sources: Sequence[str], review: str) -> list[dict[str, object]]:
    """After ``editar n`` an accepted answer returns to the review; listed first so it wins."""
    return [step(source, review, "returning") for source in sources]


class Flow:
    """One dialog during one message: the session row, the message, and the answer's fate.

    Subclasses define ``ask_<state>`` (the question) and ``take_<state>`` (read the
    answer; call ``self.accept(route)`` or raise ``AnswerError``).
    """

    wizard: ClassVar[str]
    states: ClassVar[type[StrEnum]]
    transitions: ClassVar[list[dict[str, object]]]
    initial: ClassVar[str]
    review: ClassVar[str]
    machine: ClassVar[AsyncMachine]
    # ``editar n`` at the review jumps to editable[n - 1].
    editable: ClassVar[tuple[str, ...]] = ()
    # States an older version had, mapped to where such a dialog resumes.
    aliases: ClassVar[dict[str, str]] = {}
    # Where ``omitir`` may skip, where ``ok`` keeps an offered value, where ``listo`` and
    # ``quitar n`` mean something; elsewhere these words get a clear "not here".
    optional: ClassVar[frozenset[str]] = frozenset()
    with_default: ClassVar[frozenset[str]] = frozenset()
    line_states: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, row: DialogRow, io: DialogIO) -> None:
        self.row = row
        self.io = io
        self.data: Data = jsontext.loads(row.data or "{}")
        self.route = ""
        self._accepted = False
        self.asked = False

    # --- state proxied to the row: transitions reads and writes ``model.state`` ---
    @property
    def state(self) -> str:
        """The current step, as stored."""
        return self.row.state

    @state.setter
    def state(self, value: str) -> None:
        # The plain value: transitions reads a StrEnum member by its *name* ("TITLE"), so a
        # member left on a row that stays in memory (a batch's next message) would not match.
        self.row.state = str(value)

    @classmethod
    def build_machine(cls) -> AsyncMachine:
        """The one shared machine of this wizard definition."""
        # Text typed at the review goes to ``take_review`` (which says what the review takes);
        # with no transition from the review, transitions would raise MachineError instead.
        at_review = {"trigger": TRIGGER_ANSWER, "source": str(cls.review), "dest": None}
        return SequentialMachine(
            model=None,
            states=[{"name": s.value, "on_enter": "ask"} for s in cls.states],
            transitions=[*cls.transitions, {**at_review, "conditions": ["accepted"]}],
            initial=cls.initial,
            auto_transitions=False,
            send_event=True,
            prepare_event="take",
            queued=False,
        )

    # --- callbacks named in the machine ---
    async def take(self, _event: object) -> None:
        """Read the answer for the current step once, before any transition is tried."""
        self._accepted = False
        self.route = ""
        try:
            self._check_control()
            await getattr(self, f"take_{self.state}")()
        except AnswerError as error:
            self.data["errors"] = int(self.data.get("errors", 0)) + 1
            self.io.say(f"answer_{error.key}", **error.params)

    def _check_control(self) -> None:
        control, state = self.io.control, self.state
        if control is Control.SKIP and state not in self.optional:
            raise AnswerError("not_optional", {})
        if control is Control.OK and state not in self.with_default:
            raise AnswerError("no_default", {})
        if control in (Control.DONE, Control.REMOVE) and state not in self.line_states:
            raise AnswerError("not_here", {"word": self.io.text})

    async def ask(self, _event: object) -> None:
        """Ask the current step's question."""
        self.asked = True
        if self.state == self.review:
            self.data.pop("return_to_review", None)
        await getattr(self, f"ask_{self.state}")()

    def accepted(self, _event: object) -> bool:
        """The answer was read and stored."""
        return self._accepted

    def returning(self, _event: object) -> bool:
        """The user came here with ``editar`` from the review."""
        return bool(self.data.get("return_to_review"))

    # Route conditions: which of a step's outgoing transitions an accepted answer takes.
    def route_one(self, _event: object) -> bool:
        """Exactly one match: taken."""
        return self.route == "one"

    def route_several(self, _event: object) -> bool:
        """Several matches: the user chooses."""
        return self.route == "several"

    def route_none(self, _event: object) -> bool:
        """No match."""
        return self.route == "none"

    def route_done(self, _event: object) -> bool:
        """The user said they are done (no more lines)."""
        return self.route == "done"

    def route_stay(self, _event: object) -> bool:
        """Accepted without leaving the step (e.g. a line removed)."""
        return self.route == "stay"

    def accept(self, route: str = "") -> None:
        """Mark the answer good; ``route`` picks among the step's outgoing transitions."""
        self._accepted = True
        self.route = route
        self.data["errors"] = 0

    # --- helpers for subclasses ---
    @property
    def fields(self) -> Data:
        """The values collected so far."""
        return self.data.setdefault("fields", {})  # type: ignore[no-any-return]

    @property
    def control(self) -> Control | None:
        """The control word the message was, if any."""
        return self.io.control

    def snapshot(self) -> Data:
        """A deep copy of the data, for ``atras``."""
        return history.copy_dict({k: v for k, v in self.data.items() if k != "history"})

    def push_history(self, state: str, data: Data) -> None:
        """Remember where we were and what we had (``data``, our own copy) before an answer."""
        history.push(self.data.setdefault("history", []), state, data)

    def pop_history(self) -> Data | None:
        """The step and data before the last accepted answer, removed from the history."""
        return history.pop(self.data.get("history", []))

    async def choose_contact(self, contact: Data) -> None:
        """Keep ``contact`` as the dialog's contact; steps that depend on it follow it."""
        previous: Data = self.fields.get("contact") or {}
        self.fields["contact"] = contact
        if previous.get("id") not in (None, contact.get("id")):
            await self.contact_changed()

    async def contact_changed(self) -> None:
        """The contact was replaced by another (e.g. ``editar`` from the review)."""

    def nearest_state(self, old: str) -> str:
        """Where a dialog stored in a state this version does not have resumes."""
        return self.aliases.get(old, self.initial)

    async def edit(self, number: int | None) -> None:
        """``editar n`` at the review: revisit step n, then come back to the review."""
        if number is None or not 1 <= number <= len(self.editable):
            # The example names this wizard's line step when it has one, else its first step.
            lines = next(
                (n for n, step in enumerate(self.editable, 1) if step in self.line_states), None
            )
            self.io.say("dialog_bad_edit", max=len(self.editable), lines=lines)
            await self.ask(None)
            return
        # ``atras`` from the revisited step goes back to the review, as it was.
        self.push_history(self.state, self.snapshot())
        self.data["return_to_review"] = True
        self.state = self.editable[number - 1]
        await self.ask(None)

    async def save(self) -> bool:
        """Create the record at the review; False leaves the dialog at the review."""
        raise NotImplementedError

    def idempotency_key(self) -> str:
        """One key per dialog: a repeated or redelivered save finds the first record."""
        row = self.row
        opened = f"{row.room_id}\0{row.user_id}\0{row.thread_id}\0{self.data.get('started')}"
        # Hashed: Rocket.Chat ids and the start time together can pass the column's 100 chars.
        return "dialog:" + hashlib.sha256(opened.encode()).hexdigest()

    def save_row(self) -> None:
        """Write the data back to the session row."""
        self.row.data = jsontext.dumps(self.data, default=str)


@dataclass(frozen=True, slots=True)
class WizardSpec:
    """A wizard as the engine knows it: its name, its flow class and how it is started."""

    name: str
    flow: type[Flow]
    action: str  # the permission action that may start it
