"""Outbox message ids: 17 characters of [A-Za-z0-9], uniform, from one random read per batch."""

from __future__ import annotations

import re
import secrets
import string
from collections import Counter
from collections.abc import Callable

import pytest

from store.outbox import new_message_id, new_message_ids

ALPHABET = string.ascii_letters + string.digits
ID = re.compile(r"[A-Za-z0-9]{17}")


def test_an_id_is_17_characters_of_the_alphabet() -> None:
    for _ in range(1000):
        assert ID.fullmatch(new_message_id())


def test_a_batch_has_the_ids_asked_for_each_well_formed_and_all_distinct() -> None:
    ids = new_message_ids(20_000)
    assert len(ids) == 20_000
    assert all(ID.fullmatch(mid) for mid in ids)
    assert len(set(ids)) == len(ids)
    assert new_message_ids(0) == []


def test_every_character_of_the_alphabet_turns_up() -> None:
    seen = Counter("".join(new_message_ids(2000)))
    assert set(seen) == set(ALPHABET)


def scripted(stream: bytes, reads: list[int]) -> Callable[[int], bytes]:
    """token_bytes that hands out ``stream`` in order, recording how much each read asked."""
    rest = stream

    def token_bytes(n: int) -> bytes:
        nonlocal rest
        reads.append(n)
        chunk, rest = rest[:n], rest[n:]
        assert len(chunk) == n, "the test stream ran out"
        return chunk

    return token_bytes


def test_bytes_map_uniformly_and_the_top_eight_are_rejected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Byte b < 248 is character b % 62 (each character from exactly 4 bytes: no bias);
    248..255 are dropped and more bytes are read to make up for them."""
    stream = bytes(range(256)) * 4
    reads: list[int] = []
    monkeypatch.setattr(secrets, "token_bytes", scripted(stream, reads))
    ids = new_message_ids(40)
    expected = "".join(ALPHABET[b % 62] for b in stream if b < 248)[: 40 * 17]
    assert "".join(ids) == expected
    assert [len(mid) for mid in ids] == [17] * 40
    mapped = Counter(ALPHABET[b % 62] for b in range(248))
    assert set(mapped.values()) == {4}
    assert len(reads) == 1  # one read for the whole batch when few bytes are rejected


def test_a_read_of_mostly_rejected_bytes_is_topped_up(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = b"\xff" * 30 + bytes(range(62)) * 4
    reads: list[int] = []
    monkeypatch.setattr(secrets, "token_bytes", scripted(stream, reads))
    assert new_message_id() == ALPHABET[:17]
    assert len(reads) == 2
