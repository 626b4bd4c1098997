"""Folding text into search keys: lowercase, no accents, single spaces."""

from __future__ import annotations

import functools
import unicodedata
from typing import Final

from sqlalchemy import ColumnElement, and_, bindparam
from sqlalchemy.orm import QueryableAttribute


def _caseless(text: str) -> str:
    # Unicode's compatibility caseless match (Ch. 3, D146): NFKD and casefold each undo the
    # other's normal form (`"℠"` -> `"SM"`, `"İ"` -> `"i̇"`), so both run twice.
    once = unicodedata.normalize("NFKD", unicodedata.normalize("NFD", text).casefold())
    return unicodedata.normalize("NFKD", once.casefold())


def fold(text: str) -> str:
    """Casefold, drop accents, collapse spaces: `" Cotización  Ñandú "` -> `"cotizacion nandu"`.

    The one normal form for command words and search keys alike.
    """
    if len(text) <= _CACHED_LEN:
        return _fold_cached(text)
    return _fold(text)


def _fold(text: str) -> str:
    bare = "".join(ch for ch in _caseless(text) if not unicodedata.combining(ch))
    return " ".join(bare.split())


# Pure, and run several times on every message (each word of it, then the search): recent
# short texts are kept, a few MiB at most.
_CACHED_LEN: Final = 128
_fold_cached: Final = functools.lru_cache(maxsize=8192)(_fold)


def digits(text: str) -> str:
    """Only the digits of ``text`` (how phone numbers are searched)."""
    return "".join(ch for ch in text if ch.isdigit())


_LAST_CODE_POINT = "\U0010ffff"
PREFIX_FROM: Final = "prefix_from"
PREFIX_BELOW: Final = "prefix_below"


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix``, or None when
    there is none (``prefix`` is only U+10FFFF, the last code point).

    ``key >= p AND key < prefix_upper_bound(p)`` is a prefix match that a plain b-tree
    index serves (``LIKE p || '%'`` is not, on either database). Both databases compare
    keys in code point order; surrogates cannot be stored, so U+D7FF is followed by U+E000.
    """
    if not prefix:
        raise ValueError("empty prefix")
    stem = prefix.rstrip(_LAST_CODE_POINT)
    if not stem:
        return None
    following = ord(stem[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:
        following = 0xE000
    return stem[:-1] + chr(following)


def starts_with_param(
    column: ColumnElement[str] | QueryableAttribute[str], *, bounded: bool, suffix: str = ""
) -> ColumnElement[bool]:
    """``column`` starts with the prefix that ``prefix_params`` binds, as an index range (see
    prefix_upper_bound), for statements built once: ``bounded`` is the variant whose
    prefix has an upper bound; ``suffix`` tells apart several prefixes in one statement."""
    at_least = column >= bindparam(PREFIX_FROM + suffix)
    return and_(at_least, column < bindparam(PREFIX_BELOW + suffix)) if bounded else at_least


def prefix_params(prefix: str, suffix: str = "") -> tuple[bool, dict[str, str]]:
    """``(bounded, parameters)`` matching ``prefix`` with ``starts_with_param(…, bounded=…)``."""
    upper = prefix_upper_bound(prefix)
    if upper is None:
        return False, {PREFIX_FROM + suffix: prefix}
    return True, {PREFIX_FROM + suffix: prefix, PREFIX_BELOW + suffix: upper}
