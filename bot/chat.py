"""Neutral chat types shared by every transport, the inbox and the dialogs."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NoReturn, Protocol

from store import jsontext

# What a reply parameter may hold; anything else is a programming error caught at encode time.
Param = (
    str | int | bool | None | Decimal | dt.date | dt.datetime | list["Param"] | dict[str, "Param"]
)


class TemporarilyUnavailable(Exception):
    """Something the message needs (Rocket.Chat, say) is down: deliver it again later.

    Expected during an outage, so it is logged as one line, not as a traceback.
    """


@dataclass(frozen=True, slots=True)
class RoomRef:
    """A chat room; ``kind`` is the room type: ``c`` channel, ``p`` group, ``d`` direct."""

    id: str
    name: str = ""
    kind: str = "c"

    @property
    def is_direct(self) -> bool:
        """Direct-message rooms talk to the bot without any prefix."""
        return self.kind == "d"


@dataclass(frozen=True, slots=True)
class ChatUser:
    """The author of a message as the chat knows them."""

    id: str
    username: str
    name: str = ""
    is_bot: bool = False


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file attached to a chat message, to be fetched by the transport that saw it."""

    id: str
    name: str
    mime_type: str = "application/octet-stream"
    size: int | None = None
    url: str = ""
    # Set once the bytes are in the file store (content address), or why they are not.
    sha256: str = ""
    refused: str = ""


@dataclass(frozen=True, slots=True)
class Incoming:
    """One inbound chat message, translated at the edge from whatever the transport got."""

    message_id: str
    room: RoomRef
    user: ChatUser
    text: str
    thread_id: str = ""
    file: FileRef | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """What to say: a template key and its parameters, rendered only when sent."""

    key: str
    params: Mapping[str, Param] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A rendered message ready for a transport; ``msg_id`` is stable across retries."""

    msg_id: str
    room_id: str
    text: str
    thread_id: str = ""


class ChatTransport(Protocol):
    """The whole outbound interface: post one message."""

    async def send(self, message: Outgoing) -> None:
        """Post ``message``; raise on failure so the notifier can retry it."""


def _encode(value: Param) -> object:
    # Tags keep exact types through JSON: money must come back as Decimal, not float.
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in reply parameters")
        return {"$dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    if value is None or isinstance(value, str | int | bool):
        return value
    raise TypeError(f"reply parameter of type {type(value).__name__} cannot be stored")


def _decode_object(value: dict[str, object]) -> Param:
    # Called by the JSON parser for each object, innermost first: a tagged one becomes its
    # exact type, any other stays the dict it is (its values were decoded already).
    if len(value) == 1:
        ((tag, raw),) = value.items()
        if tag == "$dec" and isinstance(raw, str):
            return Decimal(raw)
        if tag == "$dt" and isinstance(raw, str):
            return dt.datetime.fromisoformat(raw)
        if tag == "$date" and isinstance(raw, str):
            return dt.date.fromisoformat(raw)
    return value  # type: ignore[return-value]


def _refuse_number(raw: str) -> NoReturn:
    # Parameters are written by ``_encode``, which never writes a float (money is "$dec").
    raise TypeError(f"unexpected stored parameter {raw}")


# The parser's hooks decode while parsing (the standard library's parser, as jsontext reads).
_PARAMS_DECODER = json.JSONDecoder(
    object_hook=_decode_object, parse_float=_refuse_number, parse_constant=_refuse_number
)


def encode_params(params: Mapping[str, Param]) -> str:
    """Reply parameters as JSON text for the outbox, exact types preserved."""
    return jsontext.dumps({key: _encode(value) for key, value in params.items()})


def decode_params(text: str) -> dict[str, Param]:
    """The inverse of ``encode_params``."""
    raw = _PARAMS_DECODER.decode(text)
    if not isinstance(raw, dict):
        raise TypeError("stored reply parameters are not an object")
    return raw
