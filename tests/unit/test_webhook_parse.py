"""The pure translation of Rocket.Chat webhook bodies (ROCKETCHAT.md §1.3, §1.4, §5)."""

from __future__ import annotations

import pytest

from bot.chat import ChatUser, FileRef, Incoming, RoomRef
from webhooks.translate import Delivery, PayloadError, Skip, parse_delivery, skip_reason

Body = dict[str, object]

# The §1.3 example, field for field.
CHANNEL: Body = {
    "token": "Xy7",
    "bot": False,
    "trigger_word": "!po",
    "channel_id": "64f0c1",
    "channel_name": "acme-corp",
    "message_id": "aBcD123",
    "timestamp": "2025-05-01T10:00:00.000Z",
    "user_id": "u1",
    "user_name": "alice",
    "text": "!po new",
    "siteUrl": "https://chat.example.com",
    "tmid": "parent1",
}
# A DM has no name, so `channel_name` is absent (§1.3).
DIRECT: Body = {
    "token": "Xy7",
    "bot": False,
    "channel_id": "botu1",
    "message_id": "m2",
    "timestamp": "2025-05-01T10:00:00.000Z",
    "user_id": "u1",
    "user_name": "alice",
    "text": "ayuda",
    "siteUrl": "https://chat.example.com",
}
# `fileUploaded`: no siteUrl/tmid, plus the user, room and message documents (§1.4, §5).
FILE_UPLOADED: Body = {
    "token": "Xy7",
    "bot": False,
    "channel_id": "g1",
    "channel_name": "compras-acme",
    "message_id": "m3",
    "timestamp": "2025-05-01T10:00:00.000Z",
    "user_id": "u1",
    "user_name": "alice",
    "text": "",
    "user": {"_id": "u1", "username": "alice", "name": "Alice Pérez"},
    "room": {"_id": "g1", "t": "p", "name": "compras-acme"},
    "message": {
        "_id": "m3",
        "rid": "g1",
        "msg": "",
        "tmid": "parent9",
        "file": {"_id": "f1", "name": "oferta 1.pdf", "type": "application/pdf", "size": 2048},
        "files": [{"_id": "f1", "name": "oferta 1.pdf", "type": "application/pdf"}],
        "attachments": [
            {
                "title": "oferta 1.pdf",
                "title_link": "/file-upload/f1/oferta%201.pdf",
                "fileId": "f1",
            }
        ],
    },
}


def with_(body: Body, **changes: object) -> Body:
    return {**body, **changes}


def without(body: Body, key: str) -> Body:
    return {k: v for k, v in body.items() if k != key}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            CHANNEL,
            Incoming(
                "aBcD123",
                RoomRef("64f0c1", "acme-corp", "c"),
                ChatUser("u1", "alice"),
                "!po new",
                thread_id="parent1",
            ),
            id="send-message-in-channel-thread",
        ),
        pytest.param(
            DIRECT,
            Incoming("m2", RoomRef("botu1", "", "d"), ChatUser("u1", "alice"), "ayuda"),
            id="send-message-in-dm",
        ),
        pytest.param(
            FILE_UPLOADED,
            Incoming(
                "m3",
                RoomRef("g1", "compras-acme", "p"),
                ChatUser("u1", "alice", "Alice Pérez"),
                "",
                thread_id="parent9",
                file=FileRef(
                    "f1", "oferta 1.pdf", "application/pdf", 2048, "/file-upload/f1/oferta%201.pdf"
                ),
            ),
            id="file-uploaded-in-group-thread",
        ),
        pytest.param(
            with_(DIRECT, text="", bot=True),
            Incoming("m2", RoomRef("botu1", "", "d"), ChatUser("u1", "alice", is_bot=True), ""),
            id="bot-flag-and-empty-text",
        ),
        pytest.param(
            with_(FILE_UPLOADED, room={"t": "d"}, message={"file": {"_id": "f2", "name": "a b"}}),
            Incoming(
                "m3",
                RoomRef("g1", "compras-acme", "d"),
                ChatUser("u1", "alice", "Alice Pérez"),
                "",
                file=FileRef("f2", "a b", url="/file-upload/f2/a%20b"),
            ),
            id="room-type-from-document-and-link-built-when-absent",
        ),
        pytest.param(
            without(CHANNEL, "text"),
            Incoming(
                "aBcD123",
                RoomRef("64f0c1", "acme-corp", "c"),
                ChatUser("u1", "alice"),
                "",
                thread_id="parent1",
            ),
            id="missing-text-is-empty",
        ),
    ],
)
def test_bodies_translate_to_incoming(body: Body, expected: Incoming) -> None:
    assert parse_delivery(body).incoming == expected


def test_edits_are_flagged() -> None:
    assert parse_delivery(with_(CHANNEL, isEdited=True)).edited
    assert not parse_delivery(CHANNEL).edited


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (without(CHANNEL, "message_id"), "message_id"),
        (without(CHANNEL, "channel_id"), "channel_id"),
        (without(CHANNEL, "user_id"), "user_id"),
        (without(CHANNEL, "user_name"), "user_name"),
        (with_(CHANNEL, message_id=""), "message_id"),
        (with_(CHANNEL, user_id=7), "user_id"),
        (with_(CHANNEL, text=["x"]), "text"),
        (with_(CHANNEL, tmid=1), "tmid"),
        (with_(CHANNEL, channel_name=False), "channel_name"),
        (with_(FILE_UPLOADED, message="m3"), "message"),
        (with_(FILE_UPLOADED, message={"file": {"name": "x"}}), "file._id"),
    ],
)
def test_unusable_bodies_are_refused(body: Body, field: str) -> None:
    with pytest.raises(PayloadError, match=f"`{field}`"):
        parse_delivery(body)


def delivery(user_id: str, username: str, *, bot: bool = False, edited: bool = False) -> Delivery:
    incoming = Incoming("m", RoomRef("r"), ChatUser(user_id, username, is_bot=bot), "hola")
    return Delivery(incoming, edited=edited)


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (delivery("u1", "alice"), None),
        (delivery("bot-id", "renamed"), Skip.OWN),
        (delivery("other", "crmbot"), Skip.OWN),
        (delivery("other", "CRMBot"), Skip.OWN),
        (delivery("u2", "zapier", bot=True), Skip.BOT),
        (delivery("u1", "alice", edited=True), Skip.EDIT),
    ],
)
def test_skip_reasons(item: Delivery, reason: Skip | None) -> None:
    assert skip_reason(item, bot_user_id="bot-id", bot_username="crmbot") == reason


def test_without_a_bot_id_the_username_still_identifies_the_bot() -> None:
    assert skip_reason(delivery("", "alice"), bot_user_id=None, bot_username="crmbot") is None
    assert skip_reason(delivery("x", "crmbot"), bot_user_id=None, bot_username="crmbot") is Skip.OWN
