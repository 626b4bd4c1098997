"""The content-addressed file store: dedupe, safe paths, atomic writes, Blob rows."""

from __future__ import annotations

import errno
import hashlib
from pathlib import Path
from typing import BinaryIO

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.filestore import FileStore, FileStoreError, StoredBlob, record_blob, record_blobs
from store.models import Blob


def _all_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_same_bytes_are_stored_once(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    first = store.put_bytes(b"factura 2024")
    second = store.put_bytes(b"factura 2024")
    assert first == second == StoredBlob(hashlib.sha256(b"factura 2024").hexdigest(), 12)
    assert _all_files(tmp_path) == [store.path_for(first.sha256)]
    assert store.read_bytes(first.sha256) == b"factura 2024"


def test_layout_is_two_levels_of_prefix(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    blob = store.put_bytes(b"x")
    digest = blob.sha256
    assert store.path_for(digest) == tmp_path / digest[:2] / digest[2:4] / digest
    with store.open(digest) as handle:
        assert handle.read() == b"x"


def test_empty_bytes_are_a_valid_blob(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    blob = store.put_bytes(b"")
    assert blob.size == 0
    assert store.exists(blob.sha256)
    assert store.read_bytes(blob.sha256) == b""


async def test_put_runs_in_a_thread_and_returns_the_same_blob(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    blob = await store.put("año".encode())
    assert blob == store.put_bytes("año".encode())
    assert store.exists(blob.sha256)


def test_a_truncated_stored_file_is_replaced(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    blob = store.put_bytes(b"0123456789")
    path = store.path_for(blob.sha256)
    path.chmod(0o640)
    path.write_bytes(b"01234")
    store.put_bytes(b"0123456789")
    assert store.read_bytes(blob.sha256) == b"0123456789"


@pytest.mark.parametrize(
    "hostile",
    [
        "../x",
        "../" + "a" * 61,
        "A" * 64,
        "a" * 63,
        "a" * 65,
        "g" * 64,
        "a" * 64 + "\n",
        "/" + "a" * 63,
        "",
        "informe.pdf",
    ],
)
def test_hostile_digests_never_become_paths(tmp_path: Path, hostile: str) -> None:
    store = FileStore(tmp_path)
    with pytest.raises(ValueError, match="SHA-256"):
        store.path_for(hostile)
    with pytest.raises(ValueError, match="SHA-256"):
        store.exists(hostile)
    with pytest.raises(ValueError, match="SHA-256"):
        store.read_bytes(hostile)


def test_missing_bytes_are_file_not_found(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    assert not store.exists("0" * 64)
    with pytest.raises(FileNotFoundError):
        store.read_bytes("0" * 64)


class _DiskFillsMidWrite(FileStore):
    """The disk fills after half the bytes are written."""

    def _write(self, handle: BinaryIO, data: bytes) -> None:
        handle.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")


class _RenameFails(FileStore):
    """Every byte is written, then the rename fails."""

    def _commit(self, temp: Path, final: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("store_class", [_DiskFillsMidWrite, _RenameFails])
def test_a_full_disk_leaves_nothing_behind(tmp_path: Path, store_class: type[FileStore]) -> None:
    store = store_class(tmp_path)
    data = b"contrato firmado " * 100
    with pytest.raises(FileStoreError, match="disk is full"):
        store.put_bytes(data)
    assert _all_files(tmp_path) == []
    assert not store.exists(hashlib.sha256(data).hexdigest())


def test_an_unusable_root_is_a_clear_error(tmp_path: Path) -> None:
    root = tmp_path / "not-a-directory"
    root.write_bytes(b"")
    with pytest.raises(FileStoreError, match="could not store a file of 5 bytes"):
        FileStore(root).put_bytes(b"datos")


async def test_async_put_reports_a_full_disk(tmp_path: Path) -> None:
    with pytest.raises(FileStoreError, match="could not store a file of 3 bytes"):
        await _DiskFillsMidWrite(tmp_path).put(b"abc")
    assert _all_files(tmp_path) == []


async def test_record_blob_inserts_once(session: AsyncSession, tmp_path: Path) -> None:
    blob = FileStore(tmp_path).put_bytes(b"presupuesto")
    await record_blob(session, blob)
    await record_blob(session, blob)
    await record_blobs(session, [blob, blob, StoredBlob("f" * 64, 1)])
    await record_blobs(session, [])
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(Blob)) == 2
    row = await session.get(Blob, blob.sha256)
    assert row is not None
    assert row.size == len(b"presupuesto")
    assert row.created_at.tzinfo is not None


async def test_record_blob_refuses_a_hostile_digest(session: AsyncSession) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        await record_blob(session, StoredBlob("../etc/passwd", 1))
