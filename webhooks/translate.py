"""Owns the pure translation of Rocket.Chat outgoing-webhook bodies into neutral `Incoming`s.

The bodies are the `sendMessage` and `fileUploaded` events of ROCKETCHAT.md §1.3/§1.4. No I/O
here: the HTTP edge (`webhooks.rocketchat`) authenticates first and only then calls this.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

from bot.chat import ChatUser, FileRef, Incoming, RoomRef

# Room types Rocket.Chat stores in `room.t` (§1.5): channel, private group, direct, livechat.
_ROOM_KINDS = frozenset({"c", "p", "d", "l"})
# encodeURI's unescaped set: Rocket.Chat builds `/file-upload/<id>/<name>` with it (§5).
_ENCODE_URI_SAFE = ";,/?:@&=+$-_.!~*'()#"


class PayloadError(ValueError):
    """The body is JSON but not a usable event: a required field is missing or ill-typed."""


class Skip(StrEnum):
    """Why a well-formed delivery is acknowledged without being handled."""

    OWN = "own"  # the bot's own message: Rocket.Chat has no self-filter (§1.5)
    BOT = "bot"  # posted by an integration or another bot (`bot` is truthy)
    EDIT = "edit"  # an edit of a message already delivered (`isEdited`)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook delivery: the message as neutral types, plus whether it is an edit."""

    incoming: Incoming
    edited: bool = False


def parse_delivery(body: Mapping[str, object]) -> Delivery:
    """Translate a `sendMessage` or `fileUploaded` body; raise `PayloadError` if unusable."""
    message = _object(body, "message")  # only `fileUploaded` carries the documents (§1.4)
    room = _object(body, "room")
    user = _object(body, "user")
    incoming = Incoming(
        message_id=_required(body, "message_id"),
        room=_room(body, room),
        user=ChatUser(
            id=_required(body, "user_id"),
            username=_required(body, "user_name"),
            name=_optional(user, "name"),
            is_bot=bool(body.get("bot")),
        ),
        text=_optional(body, "text"),
        # `fileUploaded` has no top-level `tmid`; its message document still knows the thread.
        thread_id=_optional(body, "tmid") or _optional(message, "tmid"),
        file=file_of(message),
    )
    return Delivery(incoming, edited=bool(body.get("isEdited")))


def skip_reason(delivery: Delivery, *, bot_user_id: str | None, bot_username: str) -> Skip | None:
    """Whether to acknowledge ``delivery`` without handling it, and why.

    Edits are skipped because the bot has already answered (or ignored) the original
    message under the same ``message_id``; replaying an edited command would repeat its
    effect (a second record, a dialog step answered twice) instead of amending the first.
    """
    user = delivery.incoming.user
    if (bot_user_id and user.id == bot_user_id) or (
        user.username.casefold() == bot_username.casefold()
    ):
        return Skip.OWN
    if user.is_bot:
        return Skip.BOT
    if delivery.edited:
        return Skip.EDIT
    return None


def _room(body: Mapping[str, object], room: Mapping[str, object]) -> RoomRef:
    name = _optional(body, "channel_name")
    kind = _optional(room, "t")
    if kind not in _ROOM_KINDS:
        # `sendMessage` does not say the room type; only DMs lack a name (§1.3). A named
        # room may be a channel or a private group: both need the bot to be addressed.
        kind = "c" if name else "d"
    return RoomRef(id=_required(body, "channel_id"), name=name, kind=kind)


def file_of(message: Mapping[str, object]) -> FileRef | None:
    """The first file of a stored message document (`fileUploaded` body or chat.getMessage)."""
    document = _object(message, "file")  # `files[0]`, kept for older integrations (§5)
    if not document:
        return None
    file_id, name = _required(document, "_id", "file._id"), _optional(document, "name")
    size = document.get("size")
    return FileRef(
        id=file_id,
        name=name,
        mime_type=_optional(document, "type") or "application/octet-stream",
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        url=_title_link(message, file_id) or f"/file-upload/{file_id}/{_encode_uri(name)}",
    )


def _title_link(message: Mapping[str, object], file_id: str) -> str:
    attachments = message.get("attachments")
    if not isinstance(attachments, list):
        return ""
    for attachment in attachments:
        if isinstance(attachment, dict) and attachment.get("fileId") == file_id:
            link = attachment.get("title_link")
            return link if isinstance(link, str) else ""
    return ""


def _encode_uri(text: str) -> str:
    return quote(text, safe=_ENCODE_URI_SAFE)


def _object(body: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"`{key}` must be an object")
    return value


# A lone surrogate (an emoji cut in half, JSON-escaped) cannot be encoded for either
# database, and PostgreSQL refuses NUL: cleaned here, at the edge, not failed on deep inside.
_UNSTORABLE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` as the database can keep it: lone surrogates as U+FFFD, NULs dropped."""
    return _UNSTORABLE.sub("\ufffd", text).replace("\x00", "")


def _required(body: Mapping[str, object], key: str, label: str = "") -> str:
    value = body.get(key)
    cleaned = storable(value) if isinstance(value, str) else ""
    if not cleaned:
        raise PayloadError(f"`{label or key}` is required and must be a non-empty string")
    return cleaned


def _optional(body: Mapping[str, object], key: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadError(f"`{key}` must be a string")
    return storable(value)
