"""The `crmbot serve` app over loopback against the fake Rocket.Chat, tuned to recover fast.

Faults make the bot wait: the REST transport retries with back-off, the notifier backs off
between failing passes, a claim keeps a row from other workers for a while. Production values
are seconds to a minute; here the same knobs are set to a few tens of milliseconds, so a test
waits for what the bot does (conditions with a bound), never for a fixed time.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import delete, func, select

from bot import bootstrap
from bot.chat import ChatTransport
from bot.chatfmt import as_shown
from bot.notifier import Notifier
from bot.server import TransportFactory, build_app
from bot.settings import Settings
from bot.storage import Store
from bot.transport.rocketchat import RetryPolicy, RocketChatTransport
from bot.transport.rocketchat.rest import Clock, Sleep
from store.db import session_factory
from store.filestore import FileStore
from store.models import ChatChannel, Comment, Document, Outbox
from store.services.contacts import ContactData, upsert_contact
from store.services.users import set_role
from tests.databases import TestDatabase
from tests.e2e.test_purchase_wizard import OTHER_ROOM, ROOM, World, seed_world
from tests.e2e.test_webhook import TOKEN, make_settings, serving
from tests.fakes.rocketchat import EmitResult, FakeRocketChat, FakeRoom, FakeUser
from tests.fakes.rocketchat_state import Event

WEBHOOK = "/webhooks/rocketchat"
# A bound on how long a test waits for the bot to recover; reaching it fails the test.
RECOVERY_TIMEOUT = 30.0
QUICK_RETRY = RetryPolicy(attempts=4, base=0.02, cap=0.2, rate_limit_waits=5)


def quick_notifier(monkeypatch: pytest.MonkeyPatch, *, claim_seconds: float = 5.0) -> None:
    """Notifiers built from now on back off for tens of milliseconds, not seconds.

    A short claim bounds how long rows whose settling failed (the database went away after
    the send) stay claimed before this same notifier may take them again.
    """
    quick = functools.partial(
        Notifier, backoff_base=0.02, backoff_cap=0.2, poll_seconds=0.2, claim_seconds=claim_seconds
    )
    monkeypatch.setattr(bootstrap, "Notifier", quick)


def rest_transport(
    *,
    timeout: float = 1.0,
    clock: Clock = time.time,
    sleep: Sleep = asyncio.sleep,
    retry: RetryPolicy = QUICK_RETRY,
) -> TransportFactory:
    """The real REST transport, with a short request timeout and quick retries."""

    @asynccontextmanager
    async def factory(settings: Settings) -> AsyncIterator[ChatTransport]:
        token = settings.rocketchat_token.get_secret_value() if settings.rocketchat_token else ""
        async with RocketChatTransport(
            settings.rocketchat_url or "",
            settings.rocketchat_user_id or "",
            token,
            timeout=timeout,
            clock=clock,
            sleep=sleep,
            retry=retry,
            max_download_bytes=settings.max_file_bytes,
        ) as transport:
            yield transport

    return factory


def bot_settings(rc: FakeRocketChat, database_url: str, files: Path, **extra: object) -> Settings:
    return make_settings(
        database_url,
        files,
        rocketchat_url=rc.url,
        rocketchat_user_id=rc.bot.id,
        rocketchat_token=SecretStr(rc.bot.token),
        **extra,
    )


@asynccontextmanager
async def running_bot(
    rc: FakeRocketChat,
    settings: Settings,
    *,
    transport: TransportFactory | None = None,
    events: tuple[Event, ...] = ("sendMessage",),
) -> AsyncIterator[str]:
    """The app on a free loopback port, with Rocket.Chat's outgoing webhooks pointing at it;
    yields its base URL."""
    app = build_app(settings, transport_factory=transport or rest_transport())
    async with serving(app) as (_runner, url):
        for event in events:
            rc.add_outgoing_webhook(url + WEBHOOK, TOKEN, event=event)
        yield url


def store_of(database: TestDatabase, files: Path) -> Store:
    return Store(database.engine, session_factory(database.engine), FileStore(files))


async def link_room(store: Store, room_id: str, contact_id: int) -> None:
    async with store.sessions.begin() as session:
        session.add(ChatChannel(contact_id=contact_id, room_id=room_id, room_name=room_id))


async def crm_user(store: Store, user: FakeUser, role: str) -> None:
    async with store.sessions.begin() as session:
        await set_role(session, user.username, role)


async def wait_until(
    condition: Callable[[], Awaitable[bool]], what: str, *, within: float = RECOVERY_TIMEOUT
) -> None:
    """Return once ``condition()`` holds; fail naming ``what`` if it has not ``within`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.01)


async def unsent(store: Store) -> int:
    async with store.sessions() as session:
        query = select(func.count()).select_from(Outbox).where(Outbox.sent_at.is_(None))
        return int(await session.scalar(query) or 0)


async def all_delivered(store: Store, rc: FakeRocketChat) -> None:
    """Wait until the outbox is empty and Rocket.Chat's echoes of it have been delivered."""

    async def drained() -> bool:
        return await unsent(store) == 0

    await wait_until(drained, "every outbox row delivered")
    await rc.webhooks_idle()


def bot_texts(rc: FakeRocketChat, room: FakeRoom) -> list[str]:
    """What the bot said in ``room``, in order."""
    return [m.msg for m in rc.room_messages(room) if m.user.id == rc.bot.id]


class Conversation:
    """A user's direct room with the bot, and everything the user said there.

    With ``store``, ``ask`` also waits for the outbox to empty, so a reply of several messages
    is seen whole (the database must answer meanwhile); without, for the first reply only.
    """

    def __init__(self, rc: FakeRocketChat, user: FakeUser, store: Store | None = None) -> None:
        self.rc = rc
        self.user = user
        self.store = store
        self.room: FakeRoom = rc.add_dm(rc.bot, user)
        self.emitted: list[EmitResult] = []

    async def say(self, text: str) -> EmitResult:
        """Post ``text``; returns once Rocket.Chat's webhook delivery (and retries) ended."""
        result = await self.rc.emit_message(self.room, self.user, text)
        self.emitted.append(result)
        return result

    async def ask(self, text: str) -> list[str]:
        """Post ``text`` and wait, as a person does, for the bot to answer; the new replies."""
        before = len(bot_texts(self.rc, self.room))
        await self.say(text)

        async def answered() -> bool:
            if len(bot_texts(self.rc, self.room)) == before:
                return False
            return self.store is None or await unsent(self.store) == 0

        await wait_until(answered, f"the reply to {text!r}")
        return [as_shown(said) for said in bot_texts(self.rc, self.room)[before:]]

    def acknowledged(self) -> list[str]:
        """The ids of the user's messages; each must in the end have been answered 200."""
        for result in self.emitted:
            outcomes = [delivery.outcome for delivery in result.deliveries]
            assert outcomes == ["success"], (result.message.msg, outcomes)
        return [result.message.id for result in self.emitted]


async def seed_purchasing(store: Store, buyer: Conversation) -> World:
    """The purchase-order world of the wizard transcripts, its one linked room ``buyer``'s."""
    world = await seed_world(store)
    async with store.sessions.begin() as session:
        # Only rooms this chat has: a notice to a room it lacks would be dead-lettered.
        await session.execute(
            delete(ChatChannel).where(ChatChannel.room_id.in_([ROOM, OTHER_ROOM]))
        )
    await link_room(store, buyer.room.id, world.ana_id)
    await crm_user(store, buyer.user, "compras")
    return world


async def own_contact(store: Store, conversation: Conversation, role: str = "ventas") -> int:
    """A contact of the user's own, linked to their room (their comments notify no one else)."""
    name = conversation.user.username
    async with store.sessions.begin() as session:
        contact, _ = await upsert_contact(
            session, ContactData(name.title(), "Pruebas", f"{name}@x.test")
        )
    await link_room(store, conversation.room.id, contact.id)
    await crm_user(store, conversation.user, role)
    return contact.id


async def saved_documents(store: Store) -> list[tuple[str, Decimal]]:
    """(number, total) of every document, oldest first."""
    async with store.sessions() as session:
        rows = await session.execute(select(Document.number, Document.total).order_by(Document.id))
        return [(number, total) for number, total in rows]


async def comments(store: Store) -> list[str]:
    async with store.sessions() as session:
        return sorted(await session.scalars(select(Comment.text)))
