"""Owns RocketChatTransport: each outbox row posted exactly once via chat.sendMessage (§2.4)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Self

from bot.chat import Outgoing
from bot.transport.rocketchat import files
from bot.transport.rocketchat.errors import PermanentSendError, TransportError
from bot.transport.rocketchat.rest import (
    Answer,
    Clock,
    RestClient,
    RetryPolicy,
    Sleep,
    Unreachable,
)

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# ROCKETCHAT.md §2.4: a known `_id` inserts nothing and fails in normalizeMessagesForUser
# with this TypeError text (derived from the code, UNCONFIRMED on a live server) ...
DUPLICATE_ID_ERROR = "Cannot read properties of undefined (reading 'starred')"
# ... or, when two requests race past the check, Mongo's duplicate-key error (also §2.4).
DUPLICATE_KEY_MARK = "E11000"


def is_duplicate_id(answer: Answer) -> bool:
    """Whether a chat.sendMessage 400 says the message id is taken, i.e. it was delivered."""
    if answer.status != 400 or answer.error_type:
        return False
    return answer.error == DUPLICATE_ID_ERROR or DUPLICATE_KEY_MARK in answer.error


def message_body(message: Outgoing) -> dict[str, object]:
    """The chat.sendMessage body; the row's own stable `_id` makes resending safe (§2.4)."""
    inner: dict[str, object] = {"_id": message.msg_id, "rid": message.room_id, "msg": message.text}
    if message.thread_id:
        inner["tmid"] = message.thread_id
    return {"message": inner}


class RocketChatTransport:
    """The Rocket.Chat edge for outbound traffic; use as ``async with`` (one HTTP session)."""

    def __init__(
        self,
        base_url: str,
        user_id: str,
        token: str,
        *,
        timeout: float = 10,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        retry: RetryPolicy | None = None,
        max_download_bytes: int = MAX_DOWNLOAD_BYTES,
    ) -> None:
        self._rest = RestClient(
            base_url,
            user_id,
            token,
            timeout=timeout,
            clock=clock,
            sleep=sleep,
            policy=retry or RetryPolicy(),
        )
        self._max_download = max_download_bytes

    async def __aenter__(self) -> Self:
        await self._rest.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._rest.close()

    async def send(self, message: Outgoing) -> None:
        """Post ``message`` once. TransportError: still unsure or unreachable, keep it queued;
        PermanentSendError: Rocket.Chat will never take it."""
        body = message_body(message)
        unsure = False  # whether an earlier attempt may have stored the message

        async def attempt() -> None:
            nonlocal unsure
            # §2.4 recipe: after a timeout or error, ask before resending.
            if unsure and await self._exists(message.msg_id):
                return
            unsure = True
            answer = await self._rest.call("POST", "chat.sendMessage", json=body)
            if not answer.ok:
                await self._refused(message.msg_id, answer)

        await self._rest.retrying(f"sending {message.msg_id}", attempt)

    async def get_message(self, msg_id: str) -> Mapping[str, object] | None:
        """The stored message (with ``file``/``files``/``attachments``, §5), None if absent."""

        async def attempt() -> Mapping[str, object] | None:
            answer = await self._rest.call("GET", "chat.getMessage", params={"msgId": msg_id})
            if answer.status == 400:  # not found, or not visible to the bot (§2.4)
                return None
            if not answer.ok:
                raise Unreachable(f"chat.getMessage: HTTP {answer.status}", reached=True)
            message = answer.body.get("message")
            return message if isinstance(message, Mapping) else None

        return await self._rest.retrying(f"reading {msg_id}", attempt)

    async def _exists(self, msg_id: str) -> bool:
        answer = await self._rest.call("GET", "chat.getMessage", params={"msgId": msg_id})
        if answer.ok:
            return True
        if answer.status == 400:  # "not found or not allowed → 400 {success:false}" (§2.4)
            return False
        raise Unreachable(f"chat.getMessage: HTTP {answer.status}", reached=True)

    async def _refused(self, msg_id: str, answer: Answer) -> None:
        if is_duplicate_id(answer):
            return  # an earlier attempt, maybe in an earlier pass or process, delivered it
        if answer.status == 404:
            # Rocket.Chat's 404 is an unknown route (§2.2): the setup is wrong, not the row.
            raise TransportError(f"chat.sendMessage: HTTP 404 {answer.error}: check the URL")
        if answer.status in (408, 425):
            raise Unreachable(f"chat.sendMessage: HTTP {answer.status}", reached=True)
        # §2.4 says to check on any 400: the duplicate text above is unconfirmed.
        if answer.status == 400 and await self._exists(msg_id):
            return
        raise PermanentSendError(answer.status, answer.error, answer.error_type)

    async def send_file(
        self,
        room_id: str,
        name: str,
        data: bytes,
        mime: str,
        *,
        thread_id: str = "",
        caption: str = "",
    ) -> str:
        """Post a file message (rooms.media, then rooms.mediaConfirm); returns its id.

        DeliveryUnknownError when the confirm may have landed: do not blindly resend.
        """
        file_id = await files.upload(self._rest, room_id, name, data, mime)
        return await files.confirm(
            self._rest, room_id, file_id, caption=caption, thread_id=thread_id
        )

    async def download(self, url_or_path: str, *, max_bytes: int | None = None) -> bytes:
        """A `/file-upload/...` file with the auth headers (§5); FileTooLargeError above
        ``max_bytes`` (default: the transport's limit), read no further than that."""
        limit = self._max_download if max_bytes is None else max_bytes
        return await files.download(self._rest, url_or_path, limit)
