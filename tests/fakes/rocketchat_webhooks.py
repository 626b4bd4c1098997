"""Owns the fake's outgoing-webhook emitter: which integrations a message triggers (§1.5), the
exact request bodies (§1.2-§1.4), delivery with Rocket.Chat's retry rules (§1.7) and the
reply carried in the response (§1.6)."""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

from tests.fakes.rocketchat_chat import process_webhook_message
from tests.fakes.rocketchat_http import ApiError
from tests.fakes.rocketchat_model import (
    FakeRoom,
    JsonObj,
    OutgoingIntegration,
    StoredMessage,
    iso,
)
from tests.fakes.rocketchat_state import Event, FakeState

Sleep = Callable[[float], Awaitable[None]]

# prepareOutgoingRequest's fixed User-Agent (§1.2).
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/41.0.2227.0 Safari/537.36"
)
SUCCESS_STATUSES = frozenset({200, 201, 202})
REPLY_CONTENT_TYPES = frozenset(
    {"application/json", "text/javascript", "application/javascript", "application/x-javascript"}
)
CHANNEL_KEYWORDS = frozenset({"all_public_channels", "all_private_groups", "all_direct_messages"})
# A bot that answers its own echoes would loop forever; stop the chain and report it.
MAX_REPLY_CHAIN = 8
_chain_depth: contextvars.ContextVar[int] = contextvars.ContextVar("chain_depth", default=0)


@dataclass(frozen=True)
class WebhookAttempt:
    """One POST; `delay` is the retry wait slept before it, `error` a network failure."""

    number: int
    delay: float
    status: int | None
    body: bytes
    content_type: str | None
    error: str | None = None


@dataclass(eq=False)
class WebhookDelivery:
    """One integration URL's delivery of one event. `outcome` is one of: success,
    integration-disabled (410), not-retrying (500 with a body), http-error (no retry),
    not-configured-to-retry, too-many-retries, retry-delay-invalid (§1.7)."""

    integration: OutgoingIntegration
    event: Event
    url: str
    payload: JsonObj
    attempts: list[WebhookAttempt] = field(default_factory=list)
    outcome: str = "pending"
    replies: list[StoredMessage] = field(default_factory=list)
    reply_error: str | None = None


def validate_channels(channels: list[str]) -> list[str]:
    """validateOutgoingIntegration: `#`/`@` entries or keywords; empty means public (§1.5)."""
    for entry in channels:
        if entry not in CHANNEL_KEYWORDS and entry[:1] not in ("#", "@"):
            raise ValueError(f"invalid outgoing-webhook channel {entry!r}")
    return channels or ["all_public_channels"]


def channel_keys(room: FakeRoom, sender_username: str) -> set[str]:
    """The channel entries that select a message in `room` (getTriggersToExecute, §1.5)."""
    if room.type == "d":
        keys = {"all_direct_messages", *(f"@{uid}" for uid in room.members)}
        return keys | {f"@{name}" for name in room.usernames if name != sender_username}
    keyword = "all_public_channels" if room.type == "c" else "all_private_groups"
    return {keyword, f"#{room.id}", *([f"#{room.name}"] if room.name else [])}


def _trigger_word(integration: OutgoingIntegration, text: str) -> tuple[bool, str | None]:
    """Case-sensitive prefix (or anywhere) match; the first matching word is sent (§1.5)."""
    if not integration.trigger_words:
        return True, None
    for word in integration.trigger_words:
        if text.startswith(word) or (integration.trigger_word_anywhere and word in text):
            return True, word
    return False, None


def retry_delay_ms(kind: str, tries: int) -> int | None:
    """The wait before retry `tries + 1` (§1.7); None for an invalid `retryDelay`."""
    delays = {
        "powers-of-ten": 10 ** (tries + 2),
        "powers-of-two": 2 ** (tries + 1) * 1000,
        "increments-of-two": (tries + 1) * 2000,
    }
    return delays.get(kind)


def send_message_body(
    state: FakeState, integration: OutgoingIntegration, message: StoredMessage, word: str | None
) -> JsonObj:
    """The `sendMessage` event body, field for field (§1.3)."""
    body: JsonObj = {"token": integration.token, "bot": message.bot is not None}
    if word is not None:
        body["trigger_word"] = word
    body.update(_common_fields(state.rooms[message.rid], message))
    body["siteUrl"] = state.site_url
    if message.alias is not None:
        body["alias"] = message.alias
    if message.edited_at is not None:
        body["isEdited"] = True
    if message.tmid is not None:
        body["tmid"] = message.tmid
    return body


def file_uploaded_body(
    state: FakeState, integration: OutgoingIntegration, message: StoredMessage
) -> JsonObj:
    """The `fileUploaded` event body: no siteUrl/tmid/isEdited/trigger_word, plus the whole
    user, room and message documents (§1.4)."""
    room = state.rooms[message.rid]
    body: JsonObj = {"token": integration.token, "bot": message.bot is not None}
    body.update(_common_fields(room, message))
    if message.alias is not None:
        body["alias"] = message.alias
    body.update(
        {"user": message.user.document(), "room": room.document(), "message": message.to_json()}
    )
    return body


def _common_fields(room: FakeRoom, message: StoredMessage) -> JsonObj:
    fields: JsonObj = {"channel_id": room.id}
    if room.name is not None:  # DMs have no name, and undefined vanishes in JSON (§1.3)
        fields["channel_name"] = room.name
    fields.update(
        {
            "message_id": message.id,
            "timestamp": iso(message.ts),
            "user_id": message.user.id,
            "user_name": message.user.username,
            "text": message.msg,
        }
    )
    return fields


def matching(
    state: FakeState, event: Event, message: StoredMessage
) -> list[tuple[OutgoingIntegration, str | None]]:
    """Enabled integrations for this event whose channels select the room (§1.5)."""
    keys = channel_keys(state.rooms[message.rid], message.user.username)
    found: list[tuple[OutgoingIntegration, str | None]] = []
    for integration in state.integrations:
        if not integration.enabled or integration.event != event:
            continue
        if not keys.intersection(integration.channels):
            continue
        if event == "sendMessage":
            if message.edited_at is not None and not integration.run_on_edits:
                continue
            matched, word = _trigger_word(integration, message.msg)
            if not matched:
                continue
            found.append((integration, word))
        else:  # trigger words are not used for fileUploaded (§1.4)
            found.append((integration, None))
    return found


def _reply_payload(integration: OutgoingIntegration, data: JsonObj) -> JsonObj:
    """The reply over the integration's alias/emoji/avatar defaults (§1.6)."""
    defaults = {
        "alias": integration.alias,
        "emoji": integration.emoji,
        "avatar": integration.avatar,
    }
    payload: JsonObj = {k: v for k, v in defaults.items() if v is not None}
    payload.update(data)
    return payload


class WebhookEmitter:
    """Delivers events like Rocket.Chat's triggerHandler; `sleep` is the retry wait, so tests
    can pass one that returns at once."""

    def __init__(self, state: FakeState, sleep: Sleep) -> None:
        self.state = state
        self.deliveries: list[WebhookDelivery] = []
        self.errors: list[BaseException] = []
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    def on_saved(self, message: StoredMessage, event: Event) -> None:
        """The afterSaveMessage/afterFileUpload hook: deliver in the background (§1.1)."""
        if self._session is None or not matching(self.state, event, message):
            return
        task = asyncio.get_running_loop().create_task(self._background(message, event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _background(self, message: StoredMessage, event: Event) -> None:
        depth = _chain_depth.get() + 1
        _chain_depth.set(depth)
        if depth > MAX_REPLY_CHAIN:
            self.errors.append(RuntimeError(f"webhook reply loop at message {message.id}"))
            return
        try:
            await self.deliver(message, event)
        except Exception as exc:  # surfaced by idle(); a background task must not die silently
            self.errors.append(exc)

    async def idle(self) -> None:
        """Wait until no background delivery is running; re-raise the first failure."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))
        if self.errors:
            raise self.errors[0]

    async def deliver(self, message: StoredMessage, event: Event) -> list[WebhookDelivery]:
        """Every matching integration, each URL one after another (§1.2)."""
        result: list[WebhookDelivery] = []
        for integration, word in matching(self.state, event, message):
            if event == "sendMessage":
                payload = send_message_body(self.state, integration, message, word)
            else:
                payload = file_uploaded_body(self.state, integration, message)
            for url in integration.urls:
                delivery = WebhookDelivery(integration, event, url, payload)
                self.deliveries.append(delivery)
                result.append(delivery)
                await self._deliver_url(delivery, message)
        return result

    async def _deliver_url(self, delivery: WebhookDelivery, message: StoredMessage) -> None:
        integration, tries, delay = delivery.integration, 0, 0.0
        while True:
            attempt = await self._attempt(delivery, tries + 1, delay)
            delivery.attempts.append(attempt)
            verdict = self._verdict(attempt)
            if verdict == "success":
                delivery.outcome = "success"
                self._reply(delivery, attempt, message)
                return
            if verdict != "retry":
                delivery.outcome = verdict
                if verdict == "integration-disabled":
                    integration.enabled = False
                return
            if not integration.retry_failed_calls:
                delivery.outcome = "not-configured-to-retry"
                return
            if tries >= integration.retry_count:
                delivery.outcome = "too-many-retries"
                return
            wait_ms = retry_delay_ms(integration.retry_delay, tries)
            if wait_ms is None:
                delivery.outcome = "retry-delay-invalid"
                return
            delay = wait_ms / 1000
            await self._sleep(delay)
            tries += 1

    @staticmethod
    def _verdict(attempt: WebhookAttempt) -> str:
        """The §1.7 table: empty 2xx bodies fail; 410 and 500 with a body stop for good."""
        if attempt.error is not None:
            return "http-error"  # network error, refusal or timeout: logged, no retry
        if attempt.body and attempt.status in SUCCESS_STATUSES:
            return "success"
        if attempt.body and attempt.status == 410:
            return "integration-disabled"
        if attempt.body and attempt.status == 500:
            return "not-retrying"
        return "retry"

    async def _attempt(
        self, delivery: WebhookDelivery, number: int, delay: float
    ) -> WebhookAttempt:
        assert self._session is not None, "the fake must be started"
        data = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
        timeout = aiohttp.ClientTimeout(total=delivery.integration.timeout)
        try:
            async with self._session.post(
                delivery.url,
                data=data,
                headers={"Content-Type": "application/json"},
                timeout=timeout,
                allow_redirects=False,  # §1.7 counts 3xx as a failure
            ) as response:
                body = await response.read()
                content_type = response.headers.get("Content-Type")
                return WebhookAttempt(number, delay, response.status, body, content_type)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return WebhookAttempt(number, delay, None, b"", None, repr(exc))

    def _reply(
        self, delivery: WebhookDelivery, attempt: WebhookAttempt, message: StoredMessage
    ) -> None:
        """Post `text`/`attachments` from a JSON reply as the integration's user (§1.6)."""
        media_type = (attempt.content_type or "").split(";")[0].strip().lower()
        if media_type not in REPLY_CONTENT_TYPES:
            return
        try:
            data: object = json.loads(attempt.body)
        except ValueError as exc:
            delivery.reply_error = f"unparsable reply: {exc}"
            return
        if not isinstance(data, dict) or not (data.get("text") or data.get("attachments")):
            return
        integration, room = delivery.integration, self.state.rooms[message.rid]
        poster = (
            message.user
            if integration.impersonate_user
            else self.state.user_by_username(integration.username)
        )
        if poster is None:
            delivery.reply_error = f"unknown integration user {integration.username!r}"
            return
        payload = _reply_payload(integration, {str(k): v for k, v in data.items()})
        default_channel = f"@{room.id}" if room.type == "d" else f"#{room.id}"
        try:
            posted = process_webhook_message(
                self.state,
                poster,
                payload,
                default_channel=default_channel,
                bot={"i": integration.id},
            )
        except ApiError as exc:
            delivery.reply_error = str(exc.body.get("error"))
            return
        delivery.replies = [m for _, m in posted]
