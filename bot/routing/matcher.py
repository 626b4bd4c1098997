"""Pure, synchronous matching of chat text: addressing, commands (`Route`), dialog controls.

Only the command words are folded; everything after them is handed on exactly as typed.
Arguments are not validated here (`ver` without a number is still `SHOW`): each handler
knows what it needs and says so in the user's language.
"""

import functools
import re
from dataclasses import dataclass
from typing import Final

from bot.routing.suggest import suggest
from bot.routing.text import fold
from bot.routing.vocab import CONTROL_INDEX, MAX_PHRASE_WORDS, PAGE_KEYS, PHRASES
from bot.routing.words import (
    NUMBERED_CONTROLS,
    PAGE_WORDS,
    Command,
    Control,
    Module,
    lang_of,
)

__all__ = [
    "ControlMatch",
    "Route",
    "Unknown",
    "match_command",
    "match_control",
    "strip_address",
]

_TOKEN: Final = re.compile(r"\S+")
# Capped so int() never meets Python's 4300-digit limit; no list is that long anyway.
_NUMBER: Final = re.compile(r"[0-9]{1,9}")
# Tolerated around a command word: `ayuda?`, `¿ayuda?`, `buscar: ana`.
_PUNCTUATION: Final = ".,:;!?¿¡"


@dataclass(frozen=True, slots=True)
class Route:
    """`args`: text after the command words, as typed; `module`/`page`: MODULE_LIST and PAGE;
    `number`: SELECT."""

    command: Command
    args: str = ""
    module: Module | None = None
    page: int = 1
    number: int | None = None


@dataclass(frozen=True, slots=True)
class Unknown:
    """`word` is the first word as typed; `suggestion` a canonical word (see `suggest`)."""

    word: str
    suggestion: str | None


@dataclass(frozen=True, slots=True)
class ControlMatch:
    control: Control
    number: int | None = None


@dataclass(frozen=True, slots=True)
class _Tokens:
    """The stripped text, where each word ends in it, and each word folded for matching."""

    text: str
    ends: tuple[int, ...]
    keys: tuple[str, ...]

    def rest(self, k: int) -> str:
        """The original text after the first `k` words."""
        return self.text[self.ends[k - 1] :].strip() if k else self.text


def _tokenize(text: str) -> _Tokens:
    # A message is tokenized to see whether it is a dialog control, then again to route it
    # as a command; short texts (controls, commands, most answers) are kept for the second.
    if len(text) <= _CACHED_LEN:
        return _tokenize_cached(text)
    return _tokenize_now(text)


def _tokenize_now(text: str) -> _Tokens:
    body = text.strip()
    found = list(_TOKEN.finditer(body))
    keys = tuple(fold(m.group()).strip(_PUNCTUATION) for m in found)
    return _Tokens(body, tuple(m.end() for m in found), keys)


_CACHED_LEN: Final = 256
_tokenize_cached: Final = functools.lru_cache(maxsize=2048)(_tokenize_now)


def _positive(key: str) -> int | None:
    if _NUMBER.fullmatch(key) and (n := int(key)) > 0:
        return n
    return None


def _page_clause(keys: tuple[str, ...]) -> int | None:
    """N for exactly `página N` / `page N`, else None."""
    if len(keys) == 2 and keys[0] in PAGE_KEYS:
        return _positive(keys[1])
    return None


def _match_phrase(tokens: _Tokens) -> Route | None:
    """Longest phrase first, so `agregar compra` wins over any one-word prefix."""
    for k in range(min(len(tokens.keys), MAX_PHRASE_WORDS), 0, -1):
        entry = PHRASES.get(" ".join(tokens.keys[:k]))
        if entry is None:
            continue
        if isinstance(entry.meaning, Command):
            return Route(entry.meaning, args=tokens.rest(k))
        tail = tokens.keys[k:]
        page = _page_clause(tail)
        if page is not None:
            return Route(Command.MODULE_LIST, module=entry.meaning, page=page)
        return Route(Command.MODULE_LIST, module=entry.meaning, args=tokens.rest(k))
    return None


def match_command(text: str, locale: str = "es") -> Route | Unknown:
    """What a message addressed to the bot (outside a dialog) asks for.

    Both languages are always understood; `locale` only picks the suggestion's language.
    """
    tokens = _tokenize(text)
    if not tokens.keys:
        return Unknown("", None)
    if len(tokens.keys) == 1 and (number := _positive(tokens.keys[0])) is not None:
        return Route(Command.SELECT, number=number)
    if (page := _page_clause(tokens.keys)) is not None:
        return Route(Command.PAGE, page=page)
    route = _match_phrase(tokens)
    if route is not None:
        return route
    word = tokens.text[: tokens.ends[0]]
    lang = lang_of(locale)
    if tokens.keys[0] in PAGE_KEYS:
        # `página` without a usable number: show the shape that works.
        return Unknown(word, f"{PAGE_WORDS.of(lang)[0]} 2")
    return Unknown(word, suggest(tokens.keys, lang))


def match_control(text: str) -> ControlMatch | None:
    """A dialog control when the whole text is one, else None (the text is an answer).

    `editar`/`quitar` take an optional positive number; `editar` alone gives number=None so
    the dialog can ask which step. Anything more (`ok gracias`, `editar x`) is an answer.
    """
    keys = _tokenize(text).keys
    control = CONTROL_INDEX.get(keys[0]) if len(keys) in (1, 2) else None
    if control is None:
        return None
    if len(keys) == 1:
        return ControlMatch(control)
    number = _positive(keys[1]) if control in NUMBERED_CONTROLS else None
    return None if number is None else ControlMatch(control, number)


def strip_address(text: str, bot_username: str) -> tuple[bool, str]:
    """(addressed, rest) for a leading `@<bot>`, `@<bot>:`/`@<bot>,` or `!`.

    The username compares case-insensitively and must end there: `@crmbotx` is someone else
    (Rocket.Chat usernames may contain letters, digits, `_`, `-` and `.`).
    """
    body = text.strip()
    if body.startswith("!"):
        return True, body[1:].strip()
    name = bot_username.strip().lstrip("@")
    if name:
        pattern = rf"@{re.escape(name)}(?![\w.-])\s*[:,]?"
        mention = re.match(pattern, body, re.IGNORECASE)
        if mention is not None:
            return True, body[mention.end() :].strip()
    return False, body
