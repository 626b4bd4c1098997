"""Owns the fake's `chat.*` REST routes and processWebhookMessage, which chat.postMessage and
webhook replies share (ROCKETCHAT.md §1.6, §2.4)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from tests.fakes.rocketchat_http import (
    STATE_KEY,
    ApiError,
    current_user,
    json_object,
    success,
)
from tests.fakes.rocketchat_model import FakeUser, JsonObj, StoredMessage
from tests.fakes.rocketchat_state import FakeState

_SEND_KEYS = frozenset({"message", "previewUrls"})
# chat.postMessage's ajv schema: oneOf a roomId form and a channel form, no `_id`, no `blocks`.
_POST_ROOM_KEYS = frozenset(
    {"roomId", "text", "alias", "emoji", "avatar", "attachments", "tmid", "customFields"}
    | {"parseUrls"}
)
_POST_CHANNEL_KEYS = (_POST_ROOM_KEYS - {"roomId", "tmid"}) | {"channel"}
_UPDATE_KEYS = frozenset({"roomId", "msgId", "text", "content", "previewUrls", "customFields"})


def opt_str(data: JsonObj, key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def _attachments(value: object) -> list[JsonObj] | None:
    """Attachments as given; processWebhookMessage renames `attachment.msg` to `text` (§1.6)."""
    if not isinstance(value, list):
        return None
    result: list[JsonObj] = []
    for item in value:
        if isinstance(item, dict):
            attachment = {str(k): v for k, v in item.items()}
            if "msg" in attachment:
                attachment["text"] = attachment.pop("msg")
            result.append(attachment)
    return result


def check_size(state: FakeState, *texts: object) -> None:
    """Message_MaxAllowedSize (default 5000) on text and attachment text (§2.4)."""
    if any(isinstance(t, str) and len(t) > state.max_message_size for t in texts):
        raise ApiError.meteor(
            "error-message-size-exceeded", "Message size exceeds Message_MaxAllowedSize"
        )


def _webhook_message(
    state: FakeState,
    user: FakeUser,
    rid: str,
    payload: JsonObj,
    text: str,
    attachments: list[JsonObj] | None,
    bot: JsonObj | None,
) -> StoredMessage:
    """The fields processWebhookMessage honours, with its defaults (§1.6)."""
    return StoredMessage(
        id=state.new_id(),
        rid=rid,
        msg=text,
        ts=state.now(),
        user=user,
        via="webhook-reply" if bot else "chat.postMessage",
        tmid=opt_str(payload, "tmid"),
        alias=opt_str(payload, "alias") or opt_str(payload, "username"),
        emoji=opt_str(payload, "emoji") or opt_str(payload, "icon_emoji"),
        avatar=opt_str(payload, "avatar") or opt_str(payload, "icon_url"),
        attachments=attachments,
        custom_fields=payload.get("customFields"),
        bot=bot,
        groupable=bool(payload.get("groupable", False)),
        parse_urls=bool(payload.get("parseUrls", attachments is None)),
    )


def process_webhook_message(
    state: FakeState,
    user: FakeUser,
    payload: JsonObj,
    *,
    default_channel: str | None = None,
    bot: JsonObj | None = None,
) -> list[tuple[str, StoredMessage]]:
    """Post `payload` to each target channel (§1.6, §2.4 chat.postMessage)."""
    target = payload.get("channel") or payload.get("roomId") or default_channel
    channels = [str(c) for c in target] if isinstance(target, list) else [str(target or "")]
    attachments = _attachments(payload.get("attachments"))
    text = opt_str(payload, "text") or opt_str(payload, "msg") or ""
    check_size(state, text, *(a.get("text") for a in attachments or []))
    posted: list[tuple[str, StoredMessage]] = []
    for channel in channels:
        room = state.resolve_channel(user, channel) if channel else None
        if room is None:
            raise ApiError.meteor("invalid-channel")
        if not state.can_access(user, room):
            raise ApiError.failure("error-not-allowed")
        message = _webhook_message(state, user, room.id, payload, text, attachments, bot)
        posted.append((channel, state.save_message(message)))
    return posted


def _post_message_errors(body: JsonObj) -> list[str]:
    """ajv's messages for the oneOf; empty when exactly one form fits."""
    errors: list[str] = []
    for required, allowed in (("roomId", _POST_ROOM_KEYS), ("channel", _POST_CHANNEL_KEYS)):
        if required not in body:
            errors.append(f"must have required property '{required}'")
        elif set(body) - allowed:
            errors.append("must NOT have additional properties")
    if len(errors) == 1:
        return []
    return [*errors, "must match exactly one schema in oneOf"]


async def post_message(request: web.Request) -> web.Response:
    state, user = request.app[STATE_KEY], current_user(request)
    body = await json_object(request)
    if errors := _post_message_errors(body):
        raise ApiError.invalid_body(errors)
    channel, message = process_webhook_message(state, user, body)[0]
    ts = int(state.clock() * 1000)  # Date.now(), a number here, unlike every other date
    return success({"ts": ts, "channel": channel, "message": message.to_json()})


def _check_ts(state: FakeState, raw: object) -> None:
    """A client `ts` more than 60 s off is refused (§2.4 chat.sendMessage)."""
    if raw is None:
        return
    try:
        ts = datetime.fromisoformat(str(raw).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return
    if abs(ts - state.clock()) > 60:
        raise ApiError.meteor("error-message-ts-out-of-sync", "Message timestamp is out of sync")


def _validate_send(state: FakeState, user: FakeUser, data: JsonObj) -> str:
    """executeSendMessage's checks, in its order; returns the room id (§2.4)."""
    if data.get("tmid") and not state.threads_enabled:
        raise ApiError.meteor("error-not-allowed", "not-allowed")
    _check_ts(state, data.get("ts"))
    check_size(state, data.get("msg"))
    rid = opt_str(data, "rid")
    if not rid:
        raise ApiError.failure("The 'rid' property on the message object is missing.")
    room = state.rooms.get(rid)
    # canSendMessage throws plain Errors, hence no errorType.
    if room is None:
        raise ApiError.failure("error-invalid-room")
    if room.archived:
        raise ApiError.failure("room_is_archived")
    if not state.can_access(user, room):
        raise ApiError.failure("error-not-allowed")
    return rid


def _message_from(state: FakeState, user: FakeUser, data: JsonObj, rid: str) -> StoredMessage:
    blocks = data.get("blocks")
    return StoredMessage(
        id=opt_str(data, "_id") or state.new_id(),
        rid=rid,
        msg=opt_str(data, "msg") or "",
        ts=state.now(),
        user=user,
        via="chat.sendMessage",
        tmid=opt_str(data, "tmid"),
        alias=opt_str(data, "alias"),
        emoji=opt_str(data, "emoji"),
        avatar=opt_str(data, "avatar"),
        attachments=_attachments(data.get("attachments")),
        blocks=blocks if isinstance(blocks, list) else None,
        custom_fields=data.get("customFields"),
    )


async def send_message(request: web.Request) -> web.Response:
    state, user = request.app[STATE_KEY], current_user(request)
    body = await json_object(request)
    if set(body) - _SEND_KEYS:
        raise ApiError.invalid_body(["must NOT have additional properties"])
    raw = body.get("message")
    if raw is None:
        raise ApiError.invalid_body(["must have required property 'message'"])
    if not isinstance(raw, dict):
        raise ApiError.invalid_body(["must be object"])
    data: JsonObj = {str(k): v for k, v in raw.items()}
    rid = _validate_send(state, user, data)
    message = _message_from(state, user, data, rid)
    if message.id in state.messages_by_id:
        # sendMessage() returns undefined for a known _id: nothing stored, nothing broadcast,
        # and normalizeMessagesForUser then throws this TypeError (§2.4, UNCONFIRMED text).
        raise ApiError.failure(state.duplicate_id_error)
    state.save_message(message)
    return success({"message": message.to_json()})


async def get_message(request: web.Request) -> web.Response:
    state, user = request.app[STATE_KEY], current_user(request)
    msg_id = request.query.get("msgId")
    if not msg_id:
        raise ApiError.invalid_query(["must have required property 'msgId'"])
    message = state.messages_by_id.get(msg_id)
    if message is None or not state.can_access(user, state.rooms[message.rid]):
        raise ApiError.failure()  # "not found or not allowed → 400 {success:false}" (§2.4)
    return success({"message": message.to_json()})


async def update_message(request: web.Request) -> web.Response:
    state, user = request.app[STATE_KEY], current_user(request)
    body = await json_object(request)
    missing = [k for k in ("roomId", "msgId") if k not in body]
    if "text" not in body and "content" not in body:
        missing.append("text")
    if missing or set(body) - _UPDATE_KEYS:
        errors = [f"must have required property '{k}'" for k in missing]
        raise ApiError.invalid_body(errors or ["must NOT have additional properties"])
    msg_id = str(body["msgId"])
    message = state.messages_by_id.get(msg_id)
    if message is None:
        raise ApiError.failure(f'No message found with the id of "{msg_id}".')
    if message.rid != body["roomId"]:
        raise ApiError.failure("The room id provided does not match where the message is from.")
    if message.user is not user and "admin" not in user.roles:  # edit-message permission
        raise ApiError.meteor("error-action-not-allowed", "Message editing not allowed")
    check_size(state, body.get("text"))
    message.msg = opt_str(body, "text") or ""
    message.edited_at = message.updated_at = state.now()
    message.edited_by = user
    state.notify(message, "sendMessage")  # edits pass through afterSaveMessage too (§1.5)
    return success({"message": message.to_json()})


def add_chat_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/chat.sendMessage", send_message)
    app.router.add_post("/api/v1/chat.postMessage", post_message)
    app.router.add_get("/api/v1/chat.getMessage", get_message)
    app.router.add_post("/api/v1/chat.update", update_message)
