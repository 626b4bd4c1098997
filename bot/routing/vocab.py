"""Folded lookup tables compiled once from `words`: phrase -> meaning, controls, canonical forms."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, TypeAlias

from bot.routing.text import fold
from bot.routing.words import (
    COMMAND_WORDS,
    CONTROL_WORDS,
    MODULE_WORDS,
    PAGE_WORDS,
    Command,
    Control,
    Lang,
    Module,
    Words,
)

__all__ = [
    "CONTROL_INDEX",
    "MAX_PHRASE_WORDS",
    "PAGE_KEYS",
    "PHRASES",
    "Entry",
    "Meaning",
    "canonical",
]

Meaning: TypeAlias = Command | Module


@dataclass(frozen=True, slots=True)
class Entry:
    """One folded phrase: what it means, which languages use it, its place in the tables."""

    phrase: str
    meaning: Meaning
    langs: frozenset[Lang]
    order: int


def _pairs() -> Iterator[tuple[Meaning, Lang, str]]:
    tables: tuple[Mapping[Command, Words] | Mapping[Module, Words], ...] = (
        COMMAND_WORDS,
        MODULE_WORDS,
    )
    for table in tables:
        for meaning, words in table.items():
            for lang in Lang:
                for word in words.of(lang):
                    yield meaning, lang, word


def _build_phrases() -> Mapping[str, Entry]:
    """Index every phrase; a phrase shared by both languages (`emails`) must mean one thing."""
    index: dict[str, Entry] = {}
    for meaning, lang, word in _pairs():
        key = fold(word)
        seen = index.get(key)
        if seen is None:
            index[key] = Entry(key, meaning, frozenset({lang}), len(index))
        elif seen.meaning != meaning:
            raise ValueError(f"{key!r} means both {seen.meaning!r} and {meaning!r}")
        else:
            index[key] = Entry(key, meaning, seen.langs | {lang}, seen.order)
    return MappingProxyType(index)


def _build_controls() -> Mapping[str, Control]:
    index: dict[str, Control] = {}
    for control, words in CONTROL_WORDS.items():
        for word in (*words.es, *words.en):
            key = fold(word)
            if index.setdefault(key, control) != control:
                raise ValueError(f"{key!r} is two controls: {index[key]!r} and {control!r}")
    return MappingProxyType(index)


PHRASES: Final = _build_phrases()
CONTROL_INDEX: Final = _build_controls()
PAGE_KEYS: Final = frozenset(fold(w) for w in (*PAGE_WORDS.es, *PAGE_WORDS.en))
MAX_PHRASE_WORDS: Final = max(len(key.split()) for key in PHRASES)


def canonical(meaning: Meaning, lang: Lang) -> str:
    """The word shown to users for `meaning` in `lang` (first in its `words` table).

    Only meanings that have words: `Command.SELECT`/`PAGE`/`MODULE_LIST` raise KeyError.
    """
    if isinstance(meaning, Module):
        return MODULE_WORDS[meaning].of(lang)[0]
    return COMMAND_WORDS[meaning].of(lang)[0]
