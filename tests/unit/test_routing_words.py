"""bot.routing text folding, vocabulary invariants, "did you mean" suggestions, and properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.routing import Lang, Module, Route, Unknown, fold, match_command, match_control
from bot.routing.vocab import PHRASES, canonical
from bot.routing.words import COMMAND_WORDS, MODULE_BY_ES_WORD, MODULE_WORDS, lang_of


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Cotización", "cotizacion"),
        ("COTIZACIÓN", "cotizacion"),
        ("  Ana   María\tPÉREZ\n", "ana maria perez"),
        ("Campañas", "campanas"),
        ("Straße", "strasse"),
        ("İstanbul", "istanbul"),
        ("ﬁle", "file"),
        ("１２", "12"),
        ("℠", "sm"),
        ("", ""),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


def test_module_tables() -> None:
    assert set(MODULE_WORDS) == set(Module)
    assert MODULE_BY_ES_WORD["compras"] is Module.PURCHASES
    assert MODULE_BY_ES_WORD["polizas"] is Module.CONTRACTS
    assert len(MODULE_BY_ES_WORD) == 17


def test_every_phrase_is_folded_and_means_one_thing() -> None:
    for key, entry in PHRASES.items():
        assert key == fold(key) == entry.phrase
        assert entry.langs


def test_canonical_words_are_the_first_of_each_language() -> None:
    assert canonical(Module.PURCHASES, Lang.ES) == "compras"
    assert canonical(Module.PURCHASES, Lang.EN) == "purchases"
    for command, words in COMMAND_WORDS.items():
        assert canonical(command, Lang.ES) == words.es[0]


@pytest.mark.parametrize(
    ("locale", "lang"),
    [("es", Lang.ES), ("en", Lang.EN), ("en-US", Lang.EN), ("EN_gb", Lang.EN), ("fr", Lang.ES)],
)
def test_lang_of(locale: str, lang: Lang) -> None:
    assert lang_of(locale) is lang


# The rule (bot/routing/suggest.py): the closest known word decides the meaning; the answer
# is that meaning's word in the locale's language if that word is itself close, otherwise in
# the language the user was typing.
@pytest.mark.parametrize(
    ("text", "locale", "suggestion"),
    [
        ("compra", "es", "compras"),
        ("compra", "en", "compras"),
        ("ayda", "es", "ayuda"),
        ("ayda", "en", "ayuda"),
        ("serch", "en", "search"),
        ("serch", "es", "search"),
        ("contactt", "es", "contacto"),
        ("contactt", "en", "contact"),
        ("cotizacion", "es", "cotizaciones"),
        ("COTIZACIÓN", "es", "cotizaciones"),
        ("purchase", "es", "purchases"),
        ("purchase", "en", "purchases"),
        ("salesorder", "en", "sales-orders"),
        ("emial", "es", "emails"),
        ("buscra ana", "es", "buscar"),
        ("agregar", "es", "agregar compra"),
        ("agregar", "en", "agregar compra"),
        ("add", "en", "add purchase"),
        ("agregar cotizacio", "es", "agregar cotizacion"),
        ("agregar factura", "es", "agregar compra"),
        ("agregar orden", "es", "agregar compra"),
        # Equal prefix scores fall back to table order: `ordenes de venta` is listed first.
        ("ordenes", "es", "ventas"),
        ("hola", "es", None),
        ("xyzzy", "en", None),
    ],
)
def test_suggestions(text: str, locale: str, suggestion: str | None) -> None:
    result = match_command(text, locale)
    assert isinstance(result, Unknown)
    assert result.suggestion == suggestion


@given(st.text(), st.sampled_from(["es", "en"]))
def test_match_command_is_total(text: str, locale: str) -> None:
    result = match_command(text, locale)
    if isinstance(result, Route):
        assert result.args == "" or result.args in text
        assert result.page >= 1
    else:
        assert result.word in text
        if result.suggestion is not None:
            assert result.suggestion.strip()


@given(st.text())
def test_match_control_is_total(text: str) -> None:
    match = match_control(text)
    assert match is None or match.number is None or match.number > 0
