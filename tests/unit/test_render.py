"""bot.render: strict templates, chat-literal finalize, filters, both locales."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfoNotFoundError

import pytest

from bot.chatfmt import as_shown, contains_trigger
from bot.render import (
    ChatMarkup,
    MissingParamError,
    Renderer,
    UnknownTemplateError,
    _finalize,
)

D = Decimal
NBSP = "\u00a0"
NNBSP = "\u202f"
SAMPLE = "_test_sample"


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(default_locale="es", currency="EUR", timezone="Europe/Madrid")


def params(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "Acme S.A.",
        "number": "OC-00012",
        "amount": D("1234.56"),
        "due": dt.date(2026, 11, 28),
        "created": dt.datetime(2026, 11, 28, 8, 5, tzinfo=dt.UTC),
        "lines": [
            {"item": "Tornillo M4", "qty": D("2.50"), "price": D("0.1"), "tax": D("21")},
            {"item": "Arandela", "qty": D("10"), "price": D("1234"), "tax": D("10.5")},
        ],
        "note": "Llamar el lunes",
        "comment": "Primera línea\nSegunda línea",
    }
    return base | overrides


def test_sample_card_in_spanish(renderer: Renderer) -> None:
    text = renderer.render(SAMPLE, params())
    assert as_shown(text) == "\n".join(
        [
            "*Acme S.A.* (`OC-00012`)",
            f"Importe: *1.234,56{NBSP}€*",
            "Fecha: 28 nov 2026",
            "Creada: 28 nov 2026, 9:05",
            f"- Tornillo M4: 2,5 × 0,10{NBSP}€ (IVA 21{NBSP}%)",
            f"- Arandela: 10 × 1.234,00{NBSP}€ (IVA 10,5{NBSP}%)",
            "Nota: Llamar el lunes",
            "Primera línea",
            "Segunda línea",
        ]
    )


def test_sample_card_in_english(renderer: Renderer) -> None:
    text = renderer.render(SAMPLE, params(), locale="en")
    assert as_shown(text) == "\n".join(
        [
            "*Acme S.A.* (`OC-00012`)",
            "Amount: *€1,234.56*",
            "Date: Nov 28, 2026",
            f"Created: Nov 28, 2026, 9:05{NNBSP}AM",
            "- Tornillo M4: 2.5 × €0.10 (tax 21%)",
            "- Arandela: 10 × €1,234.00 (tax 10.5%)",
            "Note: Llamar el lunes",
            "Primera línea",
            "Segunda línea",
        ]
    )


HOSTILE_NOTE = "@all mirad <http://evil.example|aquí> *ya* y escribid a a@b.co #general"


def test_finalize_makes_a_hostile_value_literal(renderer: Renderer) -> None:
    text = renderer.render(SAMPLE, params(note=HOSTILE_NOTE, comment="> @here\n# **x**"))
    lines = text.split("\n")
    note = next(line for line in lines if as_shown(line).startswith("Nota:"))
    assert as_shown(note) == f"Nota: {HOSTILE_NOTE}"
    assert not contains_trigger(note)
    assert as_shown("\n".join(lines[-2:])) == "> @here\n# **x**"
    assert not contains_trigger("\n".join(lines[-2:]))


def test_a_hostile_name_stays_inside_its_bold(renderer: Renderer) -> None:
    first = renderer.render(SAMPLE, params(name="@here visit www.evil.com")).split("\n")[0]
    bold = first.split(" (")[0]
    assert bold.startswith("*")
    assert bold.endswith("*")
    assert not contains_trigger(bold[1:-1])
    assert as_shown(bold) == "*@here visit www.evil.com*"


def test_a_name_bold_cannot_hold_is_shown_unbolded(renderer: Renderer) -> None:
    first = renderer.render(SAMPLE, params(name="*Acme*")).split("\n")[0]
    assert as_shown(first) == "*Acme* (`OC-00012`)"
    assert not contains_trigger(first.split(" (")[0])


def test_a_record_number_that_is_not_an_identifier_is_not_code(renderer: Renderer) -> None:
    first = renderer.render(SAMPLE, params(number="`x` @all")).split("\n")[0]
    assert "`x`" not in first
    assert as_shown(first) == "*Acme S.A.* (`x` @all)"


def test_missing_parameter_is_a_clear_error(renderer: Renderer) -> None:
    incomplete = params()
    del incomplete["note"]
    message = r"templates/es/_test_sample\.j2: 'note' is undefined"
    with pytest.raises(MissingParamError, match=message):
        renderer.render(SAMPLE, incomplete)


def test_missing_key_inside_a_loop_item_is_a_clear_error(renderer: Renderer) -> None:
    lines = [{"item": "x", "qty": D("1"), "price": D("1")}]
    with pytest.raises(MissingParamError, match="tax"):
        renderer.render(SAMPLE, params(lines=lines))


def test_unknown_key_and_locale(renderer: Renderer) -> None:
    with pytest.raises(UnknownTemplateError, match=r"templates/es/no_such_reply\.j2"):
        renderer.render("no_such_reply", {})
    with pytest.raises(UnknownTemplateError, match="'fr'"):
        renderer.render(SAMPLE, params(), locale="fr")
    with pytest.raises(UnknownTemplateError):
        renderer.render("../es/_test_sample", params())


def test_keys_and_has(renderer: Renderer) -> None:
    assert SAMPLE in renderer.keys("es")
    assert renderer.has(SAMPLE, "en")
    assert not renderer.has("no_such_reply", "es")
    assert renderer.keys("fr") == frozenset()


def test_every_key_exists_in_both_locales(renderer: Renderer) -> None:
    assert renderer.keys("es") == renderer.keys("en")


def test_filters_reject_floats_and_wrong_types(renderer: Renderer) -> None:
    with pytest.raises(TypeError, match="money filter needs a Decimal"):
        renderer.render(SAMPLE, params(amount=1234.56))
    with pytest.raises(TypeError, match="date filter needs a date"):
        renderer.render(SAMPLE, params(due=dt.datetime(2026, 11, 28, tzinfo=dt.UTC)))
    with pytest.raises(ValueError, match="naive"):
        renderer.render(SAMPLE, params(created=dt.datetime(2026, 11, 28)))  # noqa: DTZ001


def test_integers_are_accepted_as_amounts(renderer: Renderer) -> None:
    text = renderer.render(SAMPLE, params(amount=12), locale="en")
    assert "Amount: *€12.00*" in as_shown(text)


def test_reserved_parameter_name_is_refused(renderer: Renderer) -> None:
    with pytest.raises(ValueError, match="reserved"):
        renderer.render(SAMPLE, params(_chat="x"))


def test_output_has_no_trailing_whitespace_or_blank_edges(renderer: Renderer) -> None:
    text = renderer.render(SAMPLE, params(comment="fin   \n\n\n"))
    assert text == text.strip()
    assert all(line == line.rstrip() for line in text.split("\n"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (ChatMarkup("*ya safe*"), "*ya safe*"),
        (None, ""),
        (42, "42"),
        ("@all", "\u2060@\u2060all"),
        (True, "True"),
    ],
)
def test_finalize(value: object, expected: str) -> None:
    assert _finalize(value) == expected


@pytest.mark.parametrize("value", [D("1.5"), 1.5, dt.date(2026, 1, 1)])
def test_finalize_refuses_unformatted_numbers_and_dates(value: object) -> None:
    with pytest.raises(TypeError, match="without a filter"):
        _finalize(value)


def test_constructor_validates_settings() -> None:
    with pytest.raises(ValueError, match="locale"):
        Renderer(default_locale="fr")
    with pytest.raises(ValueError, match="currency"):
        Renderer(currency="EURO")
    with pytest.raises(ZoneInfoNotFoundError):
        Renderer(timezone="Mars/Olympus")


def test_the_shown_words_come_from_the_renderer_in_the_reply_s_language(
    renderer: Renderer,
) -> None:
    spanish = renderer.render("search_usage", {}, "es")
    english = renderer.render("search_usage", {}, "en")
    assert "`buscar ana`" in spanish
    assert "`search ana`" in english


def test_words_a_queued_reply_carries_still_win(renderer: Renderer) -> None:
    """Rows queued before the renderer supplied ``w`` carry their own copy."""
    text = renderer.render("search_usage", {"w": {"search": "encontrar"}}, "es")
    assert "`encontrar ana`" in text
