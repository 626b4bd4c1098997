"""Owns the fake Rocket.Chat's records (users, rooms, messages, uploads, integrations) and
the JSON shapes Rocket.Chat gives them (ROCKETCHAT.md §2.1, §2.4, §5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote

JsonObj = dict[str, object]
RoomType = Literal["c", "p", "d"]

# Roles holding `api-bypass-rate-limit` by default (§2.3) and `message-impersonate` (§1.6).
RATE_LIMIT_BYPASS_ROLES = frozenset({"admin", "bot", "app"})

# encodeURI leaves these unescaped; Rocket.Chat builds every file URL with encodeURI (§5).
_ENCODE_URI_SAFE = ";,/?:@&=+$-_.!~*'()#"


def iso(ts: datetime) -> str:
    """A JavaScript `Date.toISOString()`: REST and webhook dates are ISO strings (§1.2, §2.4)."""
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode_uri(text: str) -> str:
    """JavaScript `encodeURI`, used for `/file-upload/<id>/<name>` links (§5)."""
    return quote(text, safe=_ENCODE_URI_SAFE)


def file_path(file_id: str, name: str) -> str:
    """The relative download path Rocket.Chat puts in `url`/`title_link` (§2.4, §5)."""
    return f"/file-upload/{file_id}/{encode_uri(name)}"


@dataclass(eq=False)
class FakeUser:
    """A Rocket.Chat account; `tokens` holds its personal access and login tokens (§2.1)."""

    id: str
    username: str
    name: str
    roles: tuple[str, ...]
    tokens: list[str]
    created_at: datetime
    password: str | None = None
    email: str | None = None
    status: str = "online"
    active: bool = True

    @property
    def token(self) -> str:
        """The first token, i.e. the personal access token given at creation."""
        return self.tokens[0]

    @property
    def auth_headers(self) -> dict[str, str]:
        """The two REST auth headers (§2.1)."""
        return {"X-User-Id": self.id, "X-Auth-Token": self.token}

    @property
    def bypasses_rate_limit(self) -> bool:
        return bool(RATE_LIMIT_BYPASS_ROLES.intersection(self.roles))

    def brief(self) -> JsonObj:
        """The `u` sub-document of a message (§2.4 IMessage)."""
        return {"_id": self.id, "username": self.username, "name": self.name}

    def document(self) -> JsonObj:
        """The user document without `services`, as in the `fileUploaded` body (§1.4)."""
        doc: JsonObj = {
            "_id": self.id,
            "createdAt": iso(self.created_at),
            "username": self.username,
            "name": self.name,
            "type": "user",
            "status": self.status,
            "active": self.active,
            "roles": list(self.roles),
            "_updatedAt": iso(self.created_at),
        }
        if self.email is not None:
            doc["emails"] = [{"address": self.email, "verified": True}]
        return doc

    def me(self, site_url: str) -> JsonObj:
        """`GET /api/v1/me`: the flattened user plus settings and avatarUrl (§2.1)."""
        doc = self.document()
        doc.pop("createdAt")
        doc.update(
            {
                "statusConnection": self.status,
                "utcOffset": 0,
                "emails": doc.get("emails", []),
                "settings": {"preferences": {}},
                "avatarUrl": f"{site_url}/avatar/{self.username}",
            }
        )
        return doc


@dataclass(eq=False)
class FakeRoom:
    """A room: channel `c`, private group `p` or direct `d`; `members` are user ids."""

    id: str
    type: RoomType
    name: str | None
    members: list[str]
    created_at: datetime
    creator: FakeUser | None = None
    usernames: list[str] = field(default_factory=list)
    archived: bool = False
    read_only: bool = False
    msgs: int = 0

    def document(self) -> JsonObj:
        """The room document (rooms.info `room`, `fileUploaded` `room`; §1.4, §2.4)."""
        doc: JsonObj = {
            "_id": self.id,
            "t": self.type,
            "ts": iso(self.created_at),
            "_updatedAt": iso(self.created_at),
            "usersCount": len(self.members),
            "msgs": self.msgs,
            "default": False,
            "ro": self.read_only,
            "sysMes": True,
        }
        if self.name is not None:  # DMs have no name (§1.3 channel_name)
            doc["name"] = self.name
            doc["fname"] = self.name
        if self.creator is not None:
            doc["u"] = {"_id": self.creator.id, "username": self.creator.username}
        if self.type == "d":
            doc["uids"] = list(self.members)
            doc["usernames"] = list(self.usernames)
        if self.archived:
            doc["archived"] = True
        return doc


@dataclass(frozen=True)
class FakeFile:
    """A file a test user posts with `emit_message` (§5)."""

    name: str
    content: bytes
    content_type: str = "application/octet-stream"
    description: str | None = None
    image_dimensions: tuple[int, int] | None = None


@dataclass(eq=False)
class StoredUpload:
    """An upload: temporary after rooms.media, confirmed by a file message (§2.4, §5)."""

    id: str
    name: str
    content_type: str
    content: bytes
    room_id: str
    user_id: str
    created_at: datetime
    expires_at: datetime | None
    confirmed: bool = False
    type_group: str | None = None

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def path(self) -> str:
        return file_path(self.id, self.name)


@dataclass(eq=False)
class StoredMessage:
    """A message as Rocket.Chat stored it; `via` says which door it came through."""

    id: str
    rid: str
    msg: str
    ts: datetime
    user: FakeUser
    via: str
    tmid: str | None = None
    alias: str | None = None
    emoji: str | None = None
    avatar: str | None = None
    attachments: list[JsonObj] | None = None
    blocks: list[object] | None = None
    custom_fields: object = None
    bot: JsonObj | None = None
    groupable: bool | None = None
    parse_urls: bool | None = None
    file: JsonObj | None = None
    files: list[JsonObj] | None = None
    edited_at: datetime | None = None
    edited_by: FakeUser | None = None
    updated_at: datetime | None = None

    def to_json(self) -> JsonObj:
        """IMessage as REST returns it (§2.4; `md`/`mentions` are not modelled)."""
        doc: JsonObj = {
            "_id": self.id,
            "rid": self.rid,
            "msg": self.msg,
            "ts": iso(self.ts),
            "u": self.user.brief(),
            "_updatedAt": iso(self.updated_at or self.ts),
            "mentions": [],
            "channels": [],
            "urls": [],
        }
        optional: dict[str, object] = {
            "tmid": self.tmid,
            "alias": self.alias,
            "emoji": self.emoji,
            "avatar": self.avatar,
            "attachments": self.attachments,
            "blocks": self.blocks,
            "customFields": self.custom_fields,
            "bot": self.bot,
            "groupable": self.groupable,
            "parseUrls": self.parse_urls,
            "file": self.file,
            "files": self.files,
        }
        doc.update({k: v for k, v in optional.items() if v is not None})
        if self.edited_at is not None and self.edited_by is not None:
            doc["editedAt"] = iso(self.edited_at)
            doc["editedBy"] = {"_id": self.edited_by.id, "username": self.edited_by.username}
        return doc


RetryDelay = Literal["powers-of-ten", "powers-of-two", "increments-of-two"]


@dataclass(eq=False)
class OutgoingIntegration:
    """An outgoing-webhook integration, already normalised as Rocket.Chat validates it (§1.5,
    §1.7)."""

    id: str
    event: str
    urls: list[str]
    token: str
    username: str
    channels: list[str]
    trigger_words: list[str] = field(default_factory=list)
    trigger_word_anywhere: bool = False
    run_on_edits: bool = False
    enabled: bool = True
    retry_failed_calls: bool = True
    retry_count: int = 4
    retry_delay: str = "powers-of-ten"
    impersonate_user: bool = False
    alias: str | None = None
    emoji: str | None = None
    avatar: str | None = None
    timeout: float = 20.0
