"""Folding text into search keys: lowercase, no accents, single spaces."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """``"  José  ÁLVAREZ"`` → ``"jose alvarez"``: how names are compared and searched."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()


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
