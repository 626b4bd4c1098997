"""Fetches a chat file into the file store before its message enters the inbox.

The download happens before the message is queued, so the inbox's single transaction
never waits on the network; the bytes are content-addressed, so a redelivered event that
downloads again stores nothing new. A file message is deduplicated under its own key
(``<message id>:file``): Rocket.Chat announces one upload through ``sendMessage`` (empty
text, no file data) and ``fileUploaded`` (with the file) under the same message id, and a
caption would otherwise use that id up as plain text (ROCKETCHAT.md §1.3, §1.4, §5).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Protocol, runtime_checkable
from urllib.parse import quote

from bot.chat import FileRef, Incoming
from store.filestore import FileStore
from webhooks.translate import file_of

log = logging.getLogger(__name__)
FILE_SUFFIX = ":file"
TOO_LARGE = "too_large"


@runtime_checkable
class FileSource(Protocol):
    """What the intake needs of the chat transport."""

    async def get_message(self, msg_id: str) -> Mapping[str, object] | None:
        """The stored message document, or None."""

    async def download(self, url_or_path: str, *, max_bytes: int | None = None) -> bytes:
        """The file's bytes; raises when they pass ``max_bytes``."""


class FileIntake:
    """Turns a file event into an ``Incoming`` whose file is already stored (or refused)."""

    def __init__(
        self,
        source: FileSource,
        files: FileStore,
        max_bytes: int,
        too_large: tuple[type[Exception], ...],
    ) -> None:
        self._source = source
        self._files = files
        self._max = max_bytes
        self._too_large = too_large

    async def prepare(self, incoming: Incoming) -> Incoming:
        """The message as the inbox should see it; network failures propagate (retry later)."""
        file = incoming.file
        if file is None and not incoming.text.strip():
            message = await self._source.get_message(incoming.message_id)
            file = file_of(message) if message else None
        if file is None:
            return incoming
        stored = await self._store(file)
        return replace(incoming, message_id=incoming.message_id + FILE_SUFFIX, file=stored)

    async def _store(self, file: FileRef) -> FileRef:
        if file.size is not None and file.size > self._max:
            return replace(file, refused=TOO_LARGE)
        # Built from the id, the name fully escaped: a name like "../../x" must not become
        # path segments that an HTTP client normalises into another URL. The name is only
        # cosmetic there (Rocket.Chat finds the file by id), so controls are left out and a
        # name that is a dot segment itself ("." or "..", resolved away by any client) is
        # replaced: the request always reaches this file's own route.
        segment = quote("".join(ch for ch in file.name if ch.isprintable()), safe="")
        if not segment.strip("."):
            segment = "file"
        path = f"/file-upload/{quote(file.id, safe='')}/{segment}"
        try:
            data = await self._source.download(path, max_bytes=self._max)
        except self._too_large:
            return replace(file, refused=TOO_LARGE)
        blob = await self._files.put(data)
        return replace(file, sha256=blob.sha256, size=blob.size)


def with_intake(
    intake: FileIntake, accept: Callable[[Incoming], Awaitable[object]]
) -> Callable[[Incoming], Awaitable[object]]:
    """``accept`` preceded by the file intake."""

    async def accept_with_files(incoming: Incoming) -> object:
        return await accept(await intake.prepare(incoming))

    return accept_with_files
