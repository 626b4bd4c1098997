"""The soak's users: what each one types, uploads and mails, and how a message is sent,
redelivered and waited for.

Every user works in a thread of their own in a room shared with a few others. The purchase
order is the DOMAIN §2 worked check (10 × 12,50 with 10 % off and 3 × 40,00 with 5,00 off,
both at IVA 21 %: total 275,28 €) typed as in tests/e2e/test_purchase_wizard.py, with the
demo catalogue's vendors and products and the prices typed over the catalogue's.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate

import aiohttp

from bench.soak_ledger import Ledger, Sent, Thread, now
from bench.soak_world import MAIL_DOMAIN, Room, wait_outbox_empty
from store.demo_data import VENDORS
from tests.fakes.rocketchat import FakeRocketChat, FakeUser
from tests.fakes.rocketchat_model import FakeFile

# Two distinct demo products per order; prices and taxes are typed, so any product will do.
SKU_PAIRS = (
    ("INF-MON-24", "OFI-ARCH-PAL"),
    ("OFI-PAP-A4", "INF-RAT-01"),
    ("MOB-LAMP-LED", "SEG-EXT-6K"),
    ("INF-TEC-ES", "OFI-BOL-AZ"),
    ("ALI-CAFE-1K", "LIB-GEST-PRO"),
)
# (typed text, calibration label): read commands, each asked alone or as list-then-detail.
READS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("!contacto", "contacto"),),
    (("!compras", "compras"), ("!ver 1", "ver")),
    (("!archivos", "archivos"),),
)
ACTIONS = ("wizard", "reads", "file", "mail")
MAIL_SENDER = "Proveedor Externo <proveedor@externo.example>"


@dataclass(frozen=True, slots=True)
class Order:
    """One purchase-order dialogue: its unique title and the messages that type it."""

    title: str
    messages: tuple[str, ...]


def purchase_order(username: str, number: int, choice: int) -> Order:
    """The worked check as a 21-message dialogue (header, two lines, closing, save)."""
    vendor = VENDORS[choice % len(VENDORS)].name  # the exact name: one match, no list
    first, second = SKU_PAIRS[choice % len(SKU_PAIRS)]
    title = f"Soak {username} pedido {number}"
    messages = (
        "!agregar compra",
        title,
        vendor,
        "ok",  # the room's linked contact
        "hoy",
        "ok",  # status stays Creada
        first,
        "10",
        "12,50",
        "21",
        "10%",
        second,
        "3",
        "40",
        "21",
        "5",
        "listo",
        "Pago a 30 días",
        "ok",  # delivery: the contact's primary address
        "ok",  # billing: the same
        "guardar",
    )
    return Order(title, messages)


@dataclass(slots=True)
class SoakUser:
    """A chat user with a thread of their own in their room."""

    index: int
    fake: FakeUser
    room: Room
    rng: random.Random
    thread: Thread | None = None
    actions: int = 0

    @property
    def username(self) -> str:
        return self.fake.username


@dataclass(slots=True)
class Outcomes:
    """What the users did, to check against the database afterwards."""

    orders: list[tuple[str, str, int, float]] = field(
        default_factory=list
    )  # title, room, contact, t
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    mails: list[str] = field(default_factory=list)  # subject tokens accepted
    wizards_started: int = 0
    wizards_cancelled: int = 0
    redeliveries: Counter[str] = field(default_factory=Counter)
    rocketchat_retries: int = 0  # webhook attempts Rocket.Chat repeated after a failure
    thread_roots: int = 0


# (accepted, a duplicate of a mail already stored; None where the transport does not say)
MailSend = Callable[[bytes], Awaitable[tuple[bool, bool | None]]]


@dataclass(frozen=True, slots=True)
class Pace:
    """How the users behave: pauses, redelivery share, waits, and the bounds of the run."""

    think_s: float
    redeliver: float
    reply_timeout_s: float
    mix: tuple[float, float, float, float]  # weights of ACTIONS


class Driver:
    """Sends what the users say through the fake Rocket.Chat and keeps the ledger."""

    def __init__(
        self,
        rc: FakeRocketChat,
        ledger: Ledger,
        pace: Pace,
        *,
        http: aiohttp.ClientSession,
        serve_url: str,
        send_mail: MailSend,
        rooms_of_contact: dict[int, list[str]],
        may_start: Callable[[], bool],
    ) -> None:
        self.rc = rc
        self.ledger = ledger
        self.pace = pace
        self.http = http
        self.serve_url = serve_url
        self.send_mail = send_mail
        self.rooms_of_contact = rooms_of_contact
        self.may_start = may_start
        self.owed: dict[str, int] = {}  # replies per step, learnt by calibrate()
        self.calibrating = False
        self.messages = 0
        self.done = Outcomes()

    # -- one message -------------------------------------------------------------------------
    async def say(
        self, user: SoakUser, text: str, kind: str, label: str, file: FakeFile | None = None
    ) -> Sent:
        """Post ``text`` (or ``file``) in the user's thread; wait for the replies it is owed."""
        thread = user.thread
        assert thread is not None, "open_thread() first"
        entry = Sent(kind, label, now(), thread, first_reply=thread.owed)
        self.ledger.sent.append(entry)
        self.messages += 1
        message_id = self.rc.state.new_id()
        emit = asyncio.create_task(
            self.rc.emit_message(
                user.room.fake,
                user.fake,
                text,
                tmid=thread.root_id,
                file=file,
                message_id=message_id,
            )
        )
        mode = self._redelivery(user)
        racing = None
        if mode == "racing":
            await asyncio.sleep(0)  # emit_message stores the message before its first POST
            racing = asyncio.create_task(self._redeliver(message_id, file is not None))
        result = await emit
        entry.acked_at = now()
        entry.acked = bool(result.deliveries) and all(
            d.outcome == "success" for d in result.deliveries
        )
        self.done.rocketchat_retries += sum(len(d.attempts) - 1 for d in result.deliveries)
        if mode == "after":
            await self._redeliver(message_id, file is not None)
        if racing is not None:
            await racing
        if not entry.acked:
            self.ledger.unacknowledged += 1
            return entry
        if self.calibrating:
            await wait_outbox_empty(self.http, self.serve_url, self.pace.reply_timeout_s)
            self.owed[label] = len(thread.arrivals) - entry.first_reply
        entry.expected = self.owed[label]
        thread.owed += entry.expected
        if not await thread.wait(thread.owed, self.pace.reply_timeout_s):
            self.ledger.late_waits += 1
        return entry

    def _redelivery(self, user: SoakUser) -> str:
        if self.calibrating or user.rng.random() >= self.pace.redeliver:
            return ""
        return user.rng.choice(("racing", "after"))

    async def _redeliver(self, message_id: str, has_file: bool) -> None:
        """Rocket.Chat delivering the same message (same `message_id`) once more."""
        message = self.rc.message(message_id)
        deliveries = await self.rc.emitter.deliver(message, "sendMessage")
        if has_file:
            deliveries += await self.rc.emitter.deliver(message, "fileUploaded")
        self.done.redeliveries["webhook"] += 1
        if not all(d.outcome == "success" for d in deliveries):
            self.done.redeliveries["webhook_not_acknowledged"] += 1

    async def think(self, user: SoakUser, share: float = 1.0) -> None:
        """A person's pause before the next message."""
        if self.pace.think_s > 0 and not self.calibrating:
            await asyncio.sleep(user.rng.uniform(0.5, 1.5) * self.pace.think_s * share)

    # -- what users do -------------------------------------------------------------------------
    async def open_thread(self, user: SoakUser) -> None:
        """The user's first message in the room (not for the bot) roots their thread."""
        result = await self.rc.emit_message(
            user.room.fake, user.fake, f"Hilo de trabajo de {user.username}"
        )
        self.done.thread_roots += 1
        user.thread = self.ledger.thread(user.room.fake.id, result.message.id)

    async def wizard(self, user: SoakUser) -> None:
        """A whole purchase order, ending in `guardar`; once the run is over, `cancelar`
        instead of the next step (so a run ends on time, with no dialogue left open)."""
        order = purchase_order(user.username, user.actions, user.rng.randrange(1_000))
        self.done.wizards_started += 1
        save: Sent | None = None
        for step, text in enumerate(order.messages):
            if step and not self.calibrating and not self.may_start():
                await self.say(user, "cancelar", "wizard", "cancel")
                self.done.wizards_cancelled += 1
                return
            save = await self.say(user, text, "wizard", f"po{step:02d}")
            if step + 1 < len(order.messages):
                await self.think(user, 0.5)
        if save is not None and save.acked:
            room = user.room
            self.done.orders.append((order.title, room.fake.id, room.contact.id, save.posted))

    async def reads(self, user: SoakUser) -> None:
        """The contact card, a list then one record of it, or the files."""
        for text, label in user.rng.choice(READS):
            await self.say(user, text, "command", label)
            await self.think(user, 0.5)

    async def upload(self, user: SoakUser) -> None:
        """A file posted in the thread; the contact's other rooms are told."""
        name = f"skf{user.index:04d}x{user.actions:05d}.txt"
        content = f"{name}: soak upload\n".encode() * user.rng.randint(10, 800)
        entry = await self.say(user, "", "file", "file", FakeFile(name, content, "text/plain"))
        if entry.acked:
            self.done.files[name] = hashlib.sha256(content).hexdigest()
            self.ledger.expect_notices(
                self._other_rooms(user), name.removesuffix(".txt"), "file", entry.posted
            )

    async def mail(self, user: SoakUser) -> None:
        """An email to the room's contact; every room linked to the contact is told."""
        token = f"skm{user.index:04d}x{user.actions:05d}"
        raw = mail_bytes(token, user.room.contact.email, with_attachment=user.rng.random() < 0.3)
        posted = now()
        accepted, _ = await self.send_mail(raw)
        entry = Sent("mail", "mail", posted, None, 0, acked=accepted, acked_at=now())
        self.ledger.sent.append(entry)
        if not accepted:
            self.ledger.unacknowledged += 1
            return
        self.done.mails.append(token)
        rooms = self.rooms_of_contact.get(user.room.contact.id, [])
        self.ledger.expect_notices(rooms, token, "mail", posted)
        if user.rng.random() < self.pace.redeliver:
            again, duplicate = await self.send_mail(raw)  # the sender sends it once more
            self.done.redeliveries["mail"] += 1
            if not again or duplicate is False:
                self.done.redeliveries["mail_not_recognised"] += 1

    def _other_rooms(self, user: SoakUser) -> list[str]:
        rooms = self.rooms_of_contact.get(user.room.contact.id, [])
        return [room for room in rooms if room != user.room.fake.id]

    async def run(self, user: SoakUser, start_after: float) -> None:
        """The user's session: actions drawn from the mix until the run says stop."""
        await asyncio.sleep(start_after)
        while self.may_start():
            action = user.rng.choices(ACTIONS, weights=self.pace.mix)[0]
            if action == "wizard":
                await self.wizard(user)
            elif action == "reads":
                await self.reads(user)
            elif action == "file":
                await self.upload(user)
            else:
                await self.mail(user)
            user.actions += 1
            await self.think(user)

    async def calibrate(self, user: SoakUser) -> dict[str, int]:
        """Learn how many replies each step gets, with nothing else running: after each
        message is acknowledged, wait until the outbox is empty and count the thread."""
        self.calibrating = True
        try:
            await self.wizard(user)
            await self.say(user, purchase_order(user.username, 0, 0).messages[0], "wizard", "po00")
            await self.say(user, "cancelar", "wizard", "cancel")
            for reads in READS:
                for text, label in reads:
                    await self.say(user, text, "command", label)
            await self.upload(user)
            user.actions += 1
        finally:
            self.calibrating = False
        return dict(self.owed)


def mail_bytes(token: str, to: str, *, with_attachment: bool) -> bytes:
    """An inbound email to ``to`` whose subject and Message-ID carry ``token``."""
    message = EmailMessage()
    message["From"] = MAIL_SENDER
    message["To"] = to
    message["Cc"] = f"crm@{MAIL_DOMAIN}"
    message["Subject"] = f"Consulta {token}"
    message["Message-ID"] = f"<{token}@externo.example>"
    message["Date"] = formatdate(localtime=True)
    message.set_content(f"Hola:\n\nOs escribo por el pedido ({token}).\n\nUn saludo\n")
    if with_attachment:
        data = f"%PDF-1.4 {token}\n".encode() * 200
        message.add_attachment(data, maintype="application", subtype="pdf", filename=f"{token}.pdf")
    return message.as_bytes()


def start_delays(users: Sequence[SoakUser], ramp_s: float) -> list[float]:
    """Spread the users' first messages over ``ramp_s`` seconds rather than all at once."""
    return [user.rng.uniform(0, ramp_s) for user in users]
