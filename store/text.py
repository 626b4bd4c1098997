"""Folding text into search keys: lowercase, no accents, single spaces."""

from __future__ import annotations

import unicodedata


def _caseless(text: str) -> str:
    # Unicode's compatibility caseless match (Ch. 3, D146): NFKD and casefold each undo the
    # other's normal form (`"℠"` -> `"SM"`, `"İ"` -> `"i̇"`), so both run twice.
    once = unicodedata.normalize("NFKD", unicodedata.normalize("NFD", text).casefold())
    return unicodedata.normalize("NFKD", once.casefold())


def fold(text: str) -> str:
    """Casefold, drop accents, collapse spaces: `" Cotización  Ñandú "` -> `"cotizacion nandu"`.

    The one normal form for command words and search keys alike.
    """
    bare = "".join(ch for ch in _caseless(text) if not unicodedata.combining(ch))
    return " ".join(bare.split())


def digits(text: str) -> str:
    """Only the digits of ``text`` (how phone numbers are searched)."""
    return "".join(ch for ch in text if ch.isdigit())


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``.

    ``key >= p AND key < prefix_upper_bound(p)`` is a prefix match that a plain b-tree
    index serves (``LIKE p || '%'`` is not, on either database).
    """
    if not prefix:
        raise ValueError("empty prefix")
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
