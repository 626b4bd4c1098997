"""Did-you-mean: the nearest command or module word to an unknown command, in a chosen language.

The rule, in order:
1. Candidates are the known phrases (commands and modules, both languages, folded) that are
   close (difflib ratio >= 0.6) to the first 1..4 typed words, plus the phrases the typed
   words are a word-prefix of (`agregar` -> `agregar compra`, scored below a near-typo).
2. The best candidate (highest score, then table order) decides the meaning.
3. The suggestion is that meaning's canonical word in the locale's language when a phrase of
   that language is itself a candidate (`contactt` in es -> `contacto`); otherwise in the
   language of the best candidate, because a typo shows which language the user was typing
   (`serch` in es -> `search`, `compra` in en -> `compras`). Both languages work anyway.
"""

from collections.abc import Sequence
from difflib import SequenceMatcher, get_close_matches
from typing import Final

from bot.routing.vocab import MAX_PHRASE_WORDS, PHRASES, Entry, canonical
from bot.routing.words import Lang

__all__ = ["suggest"]

CUTOFF: Final = 0.6
# Below a one-letter typo of a long phrase (~0.9), above a loose match (~0.6-0.75).
PREFIX_SCORE: Final = 0.8
_KEYS: Final = tuple(PHRASES)


def _scores(key: str) -> dict[str, float]:
    close = get_close_matches(key, _KEYS, n=5, cutoff=CUTOFF)
    found = {p: SequenceMatcher(None, key, p).ratio() for p in close}
    for phrase in _KEYS:
        if phrase.startswith(key + " "):
            found[phrase] = max(found.get(phrase, 0.0), PREFIX_SCORE)
    return found


def _candidates(keys: Sequence[str]) -> dict[str, float]:
    """Best score of each phrase over the first 1..MAX_PHRASE_WORDS typed words."""
    best: dict[str, float] = {}
    for k in range(1, min(len(keys), MAX_PHRASE_WORDS) + 1):
        for phrase, score in _scores(" ".join(keys[:k])).items():
            best[phrase] = max(best.get(phrase, 0.0), score)
    return best


def suggest(keys: Sequence[str], lang: Lang) -> str | None:
    """A canonical command/module word close to the folded words `keys`, or None."""
    scores = _candidates([k for k in keys if k])
    if not scores:
        return None
    entries = [PHRASES[p] for p in scores]
    best: Entry = min(entries, key=lambda e: (-scores[e.phrase], e.order))
    same_meaning = [e for e in entries if e.meaning == best.meaning]
    if any(lang in e.langs for e in same_meaning):
        return canonical(best.meaning, lang)
    other = next(iter(best.langs))
    return canonical(best.meaning, other)
