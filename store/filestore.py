"""Content-addressed file bytes on disk (``root/ab/cd/<sha256>``) and their ``Blob`` rows."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Blob
from store.types import utcnow

_SHA256 = re.compile(r"[0-9a-f]{64}")
# Stored bytes never change, so nobody needs to write them; "other" users need nothing.
_FILE_MODE = 0o440
_TEMP_PREFIX = ".tmp-"


class FileStoreError(Exception):
    """Bytes could not be stored (disk full, no permission, …); nothing was left half-written."""


@dataclass(frozen=True)
class StoredBlob:
    """What the store keeps about stored bytes: their SHA-256 (hex) and size."""

    sha256: str
    size: int


def check_sha256(sha256: str) -> str:
    """``sha256`` if it is 64 lowercase hex digits, else ValueError: the only way into a path."""
    if not isinstance(sha256, str) or _SHA256.fullmatch(sha256) is None:
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return sha256


class FileStore:
    """Bytes kept once per SHA-256 under ``root``; file names are display data, never paths."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        """Where the bytes with this digest live: ``root/ab/cd/<sha256>``."""
        digest = check_sha256(sha256)
        return self.root / digest[:2] / digest[2:4] / digest

    def exists(self, sha256: str) -> bool:
        """Whether bytes with this digest are stored."""
        return self.path_for(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        """The stored bytes for reading; FileNotFoundError when they are not stored."""
        return self.path_for(sha256).open("rb")

    def read_bytes(self, sha256: str) -> bytes:
        """All the stored bytes; FileNotFoundError when they are not stored."""
        return self.path_for(sha256).read_bytes()

    def put_bytes(self, data: bytes) -> StoredBlob:
        """Store ``data`` (once: the same bytes again only return their digest)."""
        blob = StoredBlob(hashlib.sha256(data).hexdigest(), len(data))
        final = self.path_for(blob.sha256)
        try:
            if not self._already_stored(final, blob.size):
                final.parent.mkdir(parents=True, exist_ok=True)
                self._write_atomically(final, data)
        except OSError as exc:
            raise FileStoreError(_describe(exc, blob)) from exc
        return blob

    async def put(self, data: bytes) -> StoredBlob:
        """``put_bytes`` in a worker thread, so hashing and fsync never block the event loop."""
        return await asyncio.to_thread(self.put_bytes, data)

    @staticmethod
    def _already_stored(final: Path, size: int) -> bool:
        # The size check catches a file truncated by something outside this class (a
        # restore, a bad disk); such a file is replaced rather than trusted.
        try:
            return final.stat().st_size == size
        except FileNotFoundError:
            return False

    def _write_atomically(self, final: Path, data: bytes) -> None:
        """Temp file beside ``final``, fsync, rename: readers see all the bytes or none."""
        fd, temp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=final.parent)
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                self._write(handle, data)
                handle.flush()
                os.fsync(handle.fileno())
            temp.chmod(_FILE_MODE)
            self._commit(temp, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise
        _fsync_directory(final.parent)

    def _write(self, handle: BinaryIO, data: bytes) -> None:
        """Write every byte to the open temp file (a seam for tests that fill the disk)."""
        handle.write(data)

    def _commit(self, temp: Path, final: Path) -> None:
        """Atomically give the finished temp file its final name."""
        os.replace(temp, final)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; some platforms cannot open a directory, and
    # the bytes are already safe in the file then, so that is not an error.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _describe(exc: OSError, blob: StoredBlob) -> str:
    reason = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
    return f"could not store a file of {blob.size} bytes: {reason}"


async def record_blob(session: AsyncSession, blob: StoredBlob) -> None:
    """Insert the ``Blob`` row for stored bytes unless it is already there."""
    await record_blobs(session, [blob])


async def record_blobs(session: AsyncSession, blobs: Iterable[StoredBlob]) -> None:
    """``record_blob`` for many blobs in one statement (duplicates are fine)."""
    now = utcnow()
    unique = {blob.sha256: blob for blob in blobs}
    if not unique:
        return
    rows = [
        {"sha256": check_sha256(blob.sha256), "size": blob.size, "created_at": now}
        for blob in unique.values()
    ]
    # ON CONFLICT DO NOTHING: two writers storing the same bytes both succeed.
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(pg_insert(Blob).values(rows).on_conflict_do_nothing())
    else:
        await session.execute(sqlite_insert(Blob).values(rows).on_conflict_do_nothing())
