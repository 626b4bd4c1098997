"""Owns `FakeRocketChat`: a real aiohttp server on 127.0.0.1 that behaves like the Rocket.Chat
of /work/shared/ROCKETCHAT.md, with setup, fault, clock and recording knobs for tests.

Outage choice: a Rocket.Chat that is down sits behind a reverse proxy in production, so the
default `outage()` answers every request with the proxy's own HTML 503 page (ingress-nginx,
Traefik and load balancers without a live backend say 503; plain nginx says 502, pass
`status=502`). `outage("refused")` instead stops listening: connections are refused and open
keep-alive connections are cut, as when the bot talks to Rocket.Chat directly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Self

from aiohttp import web

from tests.fakes.rocketchat_chat import add_chat_routes
from tests.fakes.rocketchat_faults import (
    FAULTS_KEY,
    FaultControl,
    FaultKnobs,
    RequestRecord,
    fault_middleware,
)
from tests.fakes.rocketchat_files import add_file_routes, user_message
from tests.fakes.rocketchat_http import (
    RATE_LIMITER_KEY,
    STATE_KEY,
    RateLimiter,
    RateRule,
    api_middleware,
)
from tests.fakes.rocketchat_integrations import add_integration_routes
from tests.fakes.rocketchat_model import (
    FakeFile,
    FakeRoom,
    FakeUser,
    OutgoingIntegration,
    RoomType,
    StoredMessage,
    StoredUpload,
)
from tests.fakes.rocketchat_rooms import add_room_routes
from tests.fakes.rocketchat_state import Clock, Event, FakeState
from tests.fakes.rocketchat_webhooks import (
    Sleep,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEmitter,
    validate_channels,
)

__all__ = [
    "EmitResult",
    "FakeFile",
    "FakeRocketChat",
    "FakeRoom",
    "FakeUser",
    "OutgoingIntegration",
    "RequestRecord",
    "StoredMessage",
    "StoredUpload",
    "WebhookAttempt",
    "WebhookDelivery",
]

UserRef = FakeUser | str  # a user or its username
RoomRef = FakeRoom | str  # a room or its id or name
ALL_ROOMS = ("all_public_channels", "all_private_groups", "all_direct_messages")


@dataclass(frozen=True)
class EmitResult:
    """What `emit_message` did: the stored message and every webhook delivery it caused."""

    message: StoredMessage
    deliveries: list[WebhookDelivery]

    @property
    def attempts(self) -> list[WebhookAttempt]:
        return [a for d in self.deliveries for a in d.attempts]


class FakeRocketChat(FaultKnobs):
    """Start with `async with FakeRocketChat() as rc:`; `rc.url` is the server's base URL."""

    def __init__(
        self,
        *,
        bot_username: str = "crmbot",
        clock: Clock = time.time,
        webhook_sleep: Sleep = asyncio.sleep,
        site_url: str | None = None,
        seed: int = 0,
    ) -> None:
        self.state = FakeState(clock, seed)
        self.rate_limiter = RateLimiter(clock)
        self.faults = FaultControl()
        self.emitter = WebhookEmitter(self.state, webhook_sleep)
        self.state.listeners.append(self.emitter.on_saved)
        self._site_url = site_url
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._port = 0
        # The bot account: a personal access token and the `bot` role, as §2.3 advises.
        self.bot = self.add_user(bot_username, name="CRM Bot", roles=("user", "bot"))

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application(middlewares=[fault_middleware, api_middleware])
        app[STATE_KEY] = self.state
        app[RATE_LIMITER_KEY] = self.rate_limiter
        app[FAULTS_KEY] = self.faults
        add_room_routes(app)
        add_integration_routes(app)
        add_chat_routes(app)
        add_file_routes(app)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await self._listen(0)
        self.state.site_url = self._site_url or self.url
        await self.emitter.start()

    async def close(self) -> None:
        self.faults.release_hung(answer=False)
        await self.emitter.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _listen(self, port: int) -> None:
        assert self._runner is not None, "start() first"
        self._site = web.TCPSite(self._runner, "127.0.0.1", port)
        await self._site.start()
        self._port = self._runner.addresses[0][1]

    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("the fake is not started")
        return f"http://127.0.0.1:{self._port}"

    # -- setup ---------------------------------------------------------------------------

    def add_user(
        self,
        username: str,
        *,
        name: str | None = None,
        roles: Iterable[str] = ("user",),
        user_id: str | None = None,
        token: str | None = None,
        password: str | None = None,
        email: str | None = None,
    ) -> FakeUser:
        """A user with one personal access token (`user.token`, `user.auth_headers`)."""
        user = FakeUser(
            id=user_id or self.state.new_id(),
            username=username,
            name=name or username,
            roles=tuple(roles),
            tokens=[token or self.state.new_id(43)],
            created_at=self.state.now(),
            password=password,
            email=email,
        )
        return self.state.add_user(user)

    def add_room(
        self,
        name: str,
        *,
        room_type: RoomType = "c",
        members: Iterable[UserRef] = (),
        room_id: str | None = None,
        archived: bool = False,
    ) -> FakeRoom:
        """A channel `c` or private group `p`; use `add_dm` for direct rooms."""
        if room_type == "d":
            raise ValueError("direct rooms have no name: use add_dm()")
        room = self.state.make_room(name, room_type, [self.user(m) for m in members])
        if room_id is not None:
            del self.state.rooms[room.id]
            room.id = room_id
            self.state.add_room(room)
        room.archived = archived
        return room

    def add_dm(self, *users: UserRef) -> FakeRoom:
        """The direct room between these users (id = their sorted ids joined)."""
        return self.state.direct_room(self.user(u) for u in users)

    def add_member(self, room: RoomRef, user: UserRef) -> None:
        self.state.join(self.user(user), self.room(room))

    def add_outgoing_webhook(
        self,
        url: str,
        token: str,
        *,
        event: Event = "sendMessage",
        channels: Iterable[str] = ALL_ROOMS,
        trigger_words: Iterable[str] = (),
        trigger_word_anywhere: bool = False,
        run_on_edits: bool = False,
        username: str | None = None,
        retry_failed_calls: bool = True,
        retry_count: int = 4,
        retry_delay: str = "powers-of-ten",
        impersonate_user: bool = False,
        timeout: float = 20.0,
    ) -> OutgoingIntegration:
        """An enabled integration, normalised as validateOutgoingIntegration does (§1.5, §1.7):
        with retries on, a non-positive `retry_count` becomes 4."""
        if retry_failed_calls and retry_count <= 0:
            retry_count = 4
        integration = OutgoingIntegration(
            id=self.state.new_id(),
            event=event,
            urls=[url],
            token=token,
            username=username or self.bot.username,
            channels=validate_channels(list(channels)),
            trigger_words=list(trigger_words),
            trigger_word_anywhere=trigger_word_anywhere,
            run_on_edits=run_on_edits,
            retry_failed_calls=retry_failed_calls,
            retry_count=retry_count,
            retry_delay=retry_delay,
            impersonate_user=impersonate_user,
            timeout=timeout,
        )
        self.state.integrations.append(integration)
        return integration

    def set_rate_limit(
        self,
        calls: int = 10,
        window_ms: int = 60_000,
        *,
        route: str | None = None,
        enabled: bool = True,
    ) -> None:
        """Calls per window for one route pattern (e.g. "/api/v1/me",
        "/api/v1/rooms.media/{rid}") or, without `route`, the default for every route."""
        self.rate_limiter.enabled = enabled
        if route is None:
            self.rate_limiter.default = RateRule(calls, window_ms)
        else:
            self.rate_limiter.per_route[route] = RateRule(calls, window_ms)

    # -- lookups ---------------------------------------------------------------------------

    def user(self, ref: UserRef) -> FakeUser:
        user = ref if isinstance(ref, FakeUser) else self.state.user_by_id_or_username(ref)
        if user is None:
            raise KeyError(f"unknown user {ref!r}")
        return user

    def room(self, ref: RoomRef) -> FakeRoom:
        room = ref if isinstance(ref, FakeRoom) else self.state.room_by_id_or_name(ref)
        if room is None:
            raise KeyError(f"unknown room {ref!r}")
        return room

    # -- faults ----------------------------------------------------------------------------

    @asynccontextmanager
    async def outage(
        self, mode: Literal["proxy", "refused"] = "proxy", *, status: int = 503
    ) -> AsyncIterator[None]:
        """Rocket.Chat down for the duration of the block (see the module docstring)."""
        if mode == "proxy":
            self.faults.proxy_status = status
            try:
                yield
            finally:
                self.faults.proxy_status = None
            return
        assert self._site is not None, "start() first"
        await self._site.stop()
        self.faults.drop_connections()
        try:
            yield
        finally:
            await self._listen(self._port)

    # -- recording -------------------------------------------------------------------------

    @property
    def messages(self) -> list[StoredMessage]:
        """Every message stored, in insertion order (REST, webhook replies, emitted)."""
        return list(self.state.messages)

    def room_messages(self, room: RoomRef) -> list[StoredMessage]:
        return self.state.room_messages(self.room(room).id)

    def texts(self, room: RoomRef) -> list[str]:
        return [m.msg for m in self.room_messages(room)]

    def message(self, message_id: str) -> StoredMessage:
        return self.state.messages_by_id[message_id]

    @property
    def uploads(self) -> list[StoredUpload]:
        return list(self.state.uploads.values())

    @property
    def requests(self) -> list[RequestRecord]:
        return list(self.faults.requests)

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        """Every outgoing-webhook delivery, emitted or fired by a stored message."""
        return list(self.emitter.deliveries)

    # -- users acting in Rocket.Chat ---------------------------------------------------------

    async def emit_message(
        self,
        room: RoomRef,
        user: UserRef,
        text: str = "",
        *,
        tmid: str | None = None,
        file: FakeFile | None = None,
        alias: str | None = None,
        message_id: str | None = None,
        bot: bool = False,
    ) -> EmitResult:
        """`user` posts in `room`: the message is stored, then every matching integration gets
        the `sendMessage` event, and for a file the `fileUploaded` event too (§1.1), each with
        Rocket.Chat's retries. `bot=True` marks it as posted by an integration."""
        the_room, the_user = self.room(room), self.user(user)
        if the_room.type == "c":
            self.state.join(the_user, the_room)
        elif not self.state.is_member(the_user, the_room):
            raise ValueError(f"{the_user.username} is not in {the_room.id}")
        message = user_message(self.state, the_room, the_user, text, tmid=tmid, file=file)
        message.id = message_id or message.id
        message.alias = alias
        message.bot = {"i": self.state.new_id()} if bot else None
        if message.id in self.state.messages_by_id:
            raise ValueError(f"message {message.id} already exists")
        self.state.save_message(message, notify=False)  # delivered here, not in the background
        deliveries = await self.emitter.deliver(message, "sendMessage")
        if file is not None:
            deliveries += await self.emitter.deliver(message, "fileUploaded")
        return EmitResult(message, deliveries)

    async def emit_edit(self, message_id: str, text: str) -> EmitResult:
        """The author edits a message: `sendMessage` with `isEdited` where runOnEdits (§1.5)."""
        message = self.message(message_id)
        message.msg = text
        message.edited_at = message.updated_at = self.state.now()
        message.edited_by = message.user
        return EmitResult(message, await self.emitter.deliver(message, "sendMessage"))

    async def webhooks_idle(self) -> None:
        """Wait for background deliveries (fired by messages stored through REST)."""
        await self.emitter.idle()
