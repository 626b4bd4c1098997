"""Owns the fake Rocket.Chat's in-memory database: lookups, room access, message storage and
the `afterSaveMessage`/`afterFileUpload` hooks that outgoing webhooks listen to (§1.1)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Literal

from tests.fakes.rocketchat_model import (
    FakeRoom,
    FakeUser,
    OutgoingIntegration,
    RoomType,
    StoredMessage,
    StoredUpload,
)

# Meteor's Random.id() alphabet: Rocket.Chat ids are 17 of these characters.
_ID_CHARS = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"

Clock = Callable[[], float]  # epoch seconds, like time.time
Event = Literal["sendMessage", "fileUploaded"]
SaveListener = Callable[[StoredMessage, Event], None]


class FakeState:
    """Everything the fake server knows; shared by the REST handlers and the emitter."""

    def __init__(self, clock: Clock, seed: int) -> None:
        self.clock = clock
        self.site_url = ""
        self.users: dict[str, FakeUser] = {}
        self.rooms: dict[str, FakeRoom] = {}
        self.messages: list[StoredMessage] = []
        self.messages_by_id: dict[str, StoredMessage] = {}
        self.uploads: dict[str, StoredUpload] = {}
        self.integrations: list[OutgoingIntegration] = []
        self.integration_names: dict[str, str] = {}
        self.listeners: list[SaveListener] = []
        # Settings the routes consult; defaults are Rocket.Chat's (§2.4, §5).
        self.threads_enabled = True
        self.max_message_size = 5000
        self.duplicate_id_error = "Cannot read properties of undefined (reading 'starred')"
        self._rng = random.Random(seed)

    def new_id(self, length: int = 17) -> str:
        return "".join(self._rng.choice(_ID_CHARS) for _ in range(length))

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # -- users -------------------------------------------------------------------------

    def add_user(self, user: FakeUser) -> FakeUser:
        if self.user_by_username(user.username) is not None or user.id in self.users:
            raise ValueError(f"user {user.username!r} / {user.id!r} already exists")
        self.users[user.id] = user
        return user

    def user_by_username(self, username: str) -> FakeUser | None:
        return next((u for u in self.users.values() if u.username == username), None)

    def user_by_id_or_username(self, key: str) -> FakeUser | None:
        return self.users.get(key) or self.user_by_username(key)

    def authenticate(self, user_id: str | None, token: str | None) -> FakeUser | None:
        """`authenticatedRoute`: the user by `_id` holding that token (§2.1)."""
        user = self.users.get(user_id or "")
        if user is None or not token or token not in user.tokens or not user.active:
            return None
        return user

    # -- rooms -------------------------------------------------------------------------

    def add_room(self, room: FakeRoom) -> FakeRoom:
        if room.id in self.rooms or (room.name and self.room_by_name(room.name)):
            raise ValueError(f"room {room.name!r} / {room.id!r} already exists")
        self.rooms[room.id] = room
        return room

    def room_by_name(self, name: str) -> FakeRoom | None:
        return next((r for r in self.rooms.values() if r.name == name), None)

    def room_by_id_or_name(self, key: str) -> FakeRoom | None:
        return self.rooms.get(key) or self.room_by_name(key)

    def direct_room(self, users: Iterable[FakeUser]) -> FakeRoom:
        """The DM between users, created on first use; its id is the sorted uids joined,
        as Rocket.Chat's createDirectRoom does."""
        people = sorted({u.id: u for u in users}.values(), key=lambda u: u.id)
        rid = "".join(u.id for u in people)
        if (room := self.rooms.get(rid)) is not None:
            return room
        room = FakeRoom(
            id=rid,
            type="d",
            name=None,
            members=[u.id for u in people],
            created_at=self.now(),
            usernames=sorted(u.username for u in people),
        )
        return self.add_room(room)

    def make_room(self, name: str, room_type: RoomType, members: Iterable[FakeUser]) -> FakeRoom:
        room = FakeRoom(
            id=self.new_id(),
            type=room_type,
            name=name,
            members=[u.id for u in members],
            created_at=self.now(),
        )
        return self.add_room(room)

    @staticmethod
    def is_member(user: FakeUser, room: FakeRoom) -> bool:
        return user.id in room.members

    def can_access(self, user: FakeUser, room: FakeRoom) -> bool:
        """canAccessRoom: anyone may read a public channel; other rooms need a subscription."""
        return room.type == "c" or self.is_member(user, room)

    @staticmethod
    def join(user: FakeUser, room: FakeRoom) -> None:
        if user.id not in room.members:
            room.members.append(user.id)
            if room.type == "d":
                room.usernames.append(user.username)

    def resolve_channel(self, poster: FakeUser, channel: str) -> FakeRoom | None:
        """processWebhookMessage's target lookup for `#name`, `@user` and bare values,
        joining public channels (§2.4 chat.postMessage, §1.6)."""
        kind, value = channel[:1], channel[1:]
        if kind == "#":
            return self._joined(poster, self.room_by_id_or_name(value))
        if kind == "@":
            other = self.user_by_id_or_username(value)
            return self.direct_room([poster, other]) if other else self.rooms.get(value)
        room = self.room_by_id_or_name(channel)
        if room is not None:
            return self._joined(poster, room)
        other = self.users.get(channel)
        return self.direct_room([poster, other]) if other else None

    def _joined(self, poster: FakeUser, room: FakeRoom | None) -> FakeRoom | None:
        if room is not None and room.type == "c":
            self.join(poster, room)
        return room

    # -- messages ------------------------------------------------------------------------

    def save_message(self, message: StoredMessage, *, notify: bool = True) -> StoredMessage:
        """Insert, then run the afterSaveMessage hook that fires `sendMessage` (§1.1)."""
        self.messages.append(message)
        self.messages_by_id[message.id] = message
        self.rooms[message.rid].msgs += 1
        if notify:
            self.notify(message, "sendMessage")
        return message

    def notify(self, message: StoredMessage, event: Event) -> None:
        for listener in self.listeners:
            listener(message, event)

    def room_messages(self, room_id: str) -> list[StoredMessage]:
        return [m for m in self.messages if m.rid == room_id]
