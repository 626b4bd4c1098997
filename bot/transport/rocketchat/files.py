"""Owns files over Rocket.Chat REST: rooms.media + rooms.mediaConfirm uploads, capped downloads."""

from __future__ import annotations

import re
from urllib.parse import quote

import aiohttp
from yarl import URL

from bot.transport.rocketchat.errors import (
    DeliveryUnknownError,
    FileTooLargeError,
    PermanentSendError,
    RejectedError,
)
from bot.transport.rocketchat.rest import Answer, RestClient, Unreachable, describe

MAX_REDIRECTS = 3
CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# A CR or LF in a multipart header would start a new header line: keep names on one line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_file_name(name: str) -> str:
    """The name as Rocket.Chat should show it, without control characters."""
    cleaned = _CONTROL.sub("_", name).strip()
    return cleaned or "file"


def _form(name: str, data: bytes, mime: str) -> aiohttp.FormData:
    # quote_fields=False: Rocket.Chat shows the name as sent, so "factura ñ.pdf" must not
    # arrive percent-encoded; quotes and backslashes are still escaped by aiohttp.
    form = aiohttp.FormData(quote_fields=False)
    form.add_field("file", data, filename=name, content_type=mime)
    return form


def _refused(answer: Answer, step: str) -> PermanentSendError:
    return PermanentSendError(answer.status, f"{step}: {answer.error}", answer.error_type)


async def upload(client: RestClient, room_id: str, name: str, data: bytes, mime: str) -> str:
    """rooms.media: a temporary upload (§2.4); returns its file id.

    Retried freely: an upload nobody confirms expires after 24 hours and is never shown.
    """
    route = f"rooms.media/{quote(room_id, safe='')}"
    file_name = safe_file_name(name)

    async def attempt() -> str:
        answer = await client.call("POST", route, form=lambda: _form(file_name, data, mime))
        file = answer.body.get("file")
        if not answer.ok or not isinstance(file, dict) or not file.get("_id"):
            raise _refused(answer, "rooms.media")
        return str(file["_id"])

    return await client.retrying(f"uploading {file_name!r}", attempt)


async def confirm(
    client: RestClient, room_id: str, file_id: str, *, caption: str, thread_id: str
) -> str:
    """rooms.mediaConfirm: the upload becomes a file message (§2.4, §5); returns its id.

    Only resent when the first request surely never reached Rocket.Chat: a confirm cannot
    be looked up afterwards, and a second one would post the file twice.
    """
    route = f"rooms.mediaConfirm/{quote(room_id, safe='')}/{quote(file_id, safe='')}"
    body: dict[str, object] = {"msg": caption} if caption else {}
    if thread_id:
        body["tmid"] = thread_id

    async def attempt() -> str:
        try:
            answer = await client.call("POST", route, json=body)
        except Unreachable as exc:
            if exc.reached:
                raise DeliveryUnknownError(f"rooms.mediaConfirm {file_id}: {exc}") from exc
            raise
        if not answer.ok:
            raise _refused(answer, "rooms.mediaConfirm")
        message = answer.body.get("message")
        return str(message.get("_id") or "") if isinstance(message, dict) else ""

    return await client.retrying(f"confirming upload {file_id}", attempt)


def resolve(client: RestClient, url_or_path: str) -> URL:
    """A `/file-upload/...` link (relative in messages, §5) on the Rocket.Chat server.

    An absolute URL elsewhere is refused: fetching whatever a message links to would let
    chat users point the bot at internal hosts.
    """
    url = URL(url_or_path)
    if not url.is_absolute():
        return URL(f"{client.base}/{url_or_path.lstrip('/')}")
    if url.origin() != client.base.origin():
        raise ValueError(f"not a Rocket.Chat file URL: {url.origin()}")
    return url


async def download(client: RestClient, url_or_path: str, limit: int) -> bytes:
    """The file's bytes; FileTooLargeError as soon as more than ``limit`` bytes arrive."""
    start = resolve(client, url_or_path)
    return await client.retrying(f"downloading {start.path}", lambda: _fetch(client, start, limit))


async def _fetch(client: RestClient, url: URL, limit: int) -> bytes:
    # Redirects are followed by hand: a store may send us to S3 (§5), and aiohttp would
    # carry X-Auth-Token along to the other host.
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=client.timeout, sock_read=client.timeout
    )
    for _ in range(MAX_REDIRECTS + 1):
        try:
            async with client.session.get(
                url, headers=client.auth_for(url), allow_redirects=False, timeout=timeout
            ) as response:
                location = response.headers.get("Location")
                if response.status in _REDIRECTS and location:
                    url = response.url.join(URL(location))
                    continue
                if response.status >= 500:
                    raise Unreachable(f"HTTP {response.status}", reached=True)
                if response.status != 200:
                    # §5: 403 with an empty body without valid auth, 404 for an unknown file.
                    raise RejectedError(response.status, f"download of {url.path} refused")
                return await _read_capped(response, limit)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Unreachable(describe(exc), reached=True) from exc
    raise RejectedError(310, f"more than {MAX_REDIRECTS} redirects for {url.path}")


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    if response.content_length is not None and response.content_length > limit:
        response.close()
        raise FileTooLargeError(limit, response.content_length)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(CHUNK):
        size += len(chunk)
        if size > limit:
            response.close()  # stop reading: the rest never leaves the socket buffer
            raise FileTooLargeError(limit)
        chunks.append(chunk)
    return b"".join(chunks)
