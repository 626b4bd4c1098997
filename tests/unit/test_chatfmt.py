"""bot.chatfmt: data shown literally in Rocket.Chat, and Babel money/number/date formats."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.chatfmt import (
    ELLIPSIS,
    PIPE_LOOKALIKE,
    WORD_JOINER,
    as_shown,
    bold_literal,
    contains_trigger,
    format_date,
    format_datetime,
    format_decimal,
    format_money,
    format_percent_rate,
    inline_code,
    literal,
)

D = Decimal
NBSP = "\u00a0"
NNBSP = "\u202f"  # CLDR puts a narrow no-break space before AM/PM
# Characters literal() drops: C0/C1 controls (newline/tab aside) and bidi embeddings,
# overrides and isolates.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

HOSTILE = [
    "@all",
    "@here",
    "@someone",
    "hola @user qué tal",
    "@@all",
    "#general",
    "#channel-name",
    "http://evil.example",
    "https://evil.example/path?q=1#frag",
    "www.evil.example",
    "evil.com",
    "a@b.co",
    "mailto:a@b.co",
    "*bold*",
    "**bold**",
    "_it_",
    "__it__",
    "~s~",
    "~~s~~",
    "`code`",
    "```x```",
    "> quote",
    "# heading",
    "## heading",
    "- item",
    "* item",
    "1. item",
    "- [x] task",
    "---",
    "| a | b |",
    "[x](http://y)",
    "![img](http://y/p.png)",
    "<http://y|x>",
    "<evil.com|click here>",
    "<t:1630360800:R>",
    "||spoiler||",
    "+34600111222",
    "\\(x^2\\)",
    "localhost:8080",
    "http://localhost",
    "color:#ff0000",
    "file_name_v2.final.zip",
    "Acme S.A. <ventas@acme.es>",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_caught_by_the_model_and_defused_by_literal(text: str) -> None:
    assert contains_trigger(text), "the model should see the construct in the raw text"
    shown = literal(text)
    assert not contains_trigger(shown)
    assert as_shown(shown) == text
    assert literal(shown) == shown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abc\u202edcba", "abcdcba"),  # RIGHT-TO-LEFT OVERRIDE
        ("\u2066evil\u2069.exe", "evil.exe"),  # isolates
        ("a\x00b\x1bc\x7fd\x9be", "abcde"),
        ("tab\there", "tab here"),
        ("one\ntwo\r\nthree\rfour\u2028five", "one two three four five"),
        ("  spaced \n\n  lines  ", "  spaced lines  "),
        ("\n\ntrailing\n", "trailing"),
        ("lone \ud800 surrogate", "lone \ufffd surrogate"),
    ],
)
def test_controls_bidi_and_newlines_are_cleaned(text: str, expected: str) -> None:
    assert as_shown(literal(text)) == expected


def test_multiline_keeps_lines_and_defuses_each_one() -> None:
    text = "Primera línea\n> citada\n@all\n# título\n\nfin"
    shown = literal(text, multiline=True)
    assert as_shown(shown) == text
    assert shown.count("\n") == 5
    for line in shown.split("\n"):
        assert not contains_trigger(line)


def test_the_word_joiner_is_the_invisible_character_used() -> None:
    assert literal("@all") == f"{WORD_JOINER}@{WORD_JOINER}all"
    assert literal("*x*") == f"{WORD_JOINER}\\*x{WORD_JOINER}\\*"


@pytest.mark.parametrize("text", ["192.168.1.1", "3.5 kg", "v1.2", "a..b", "x.", ":/"])
def test_dots_and_colons_are_defused_even_where_the_model_is_silent(text: str) -> None:
    shown = literal(text)
    assert re.search(r"(?<!\\)\.\S", shown) is None  # no bare "label.label" left
    assert as_shown(shown) == text


def test_plain_text_is_left_alone() -> None:
    assert literal("Juan Pérez García") == "Juan Pérez García"
    assert literal("Sr. López, ¿qué tal?") == "Sr. López, ¿qué tal?"


def test_data_backslashes_stay_visible_and_escape_nothing() -> None:
    for text in ("C:\\temp\\*x*", "a\\.b", "\\#x", "\\\\", "end\\"):
        shown = literal(text)
        assert as_shown(shown) == text
        assert not contains_trigger(shown)


def test_keycap_emoji_survives() -> None:
    assert literal("#\ufe0f\u20e3 uno") == "\u2060#\ufe0f\u20e3 uno"


def test_angle_link_pipe_becomes_a_lookalike() -> None:
    shown = literal("<evil.com|click>")
    assert PIPE_LOOKALIKE in shown
    assert "|" not in shown
    assert literal("a | b") == "a | b"  # pipes outside <…> stay real


def test_truncation_adds_an_ellipsis_and_is_stable() -> None:
    shown = literal("x" * 30 + "@all", max_len=10)
    assert as_shown(shown) == "x" * 9 + ELLIPSIS
    assert literal(shown, max_len=10) == shown
    assert len(as_shown(literal("y" * 600))) == 500
    assert as_shown(literal("y" * 600, max_len=None)) == "y" * 600
    with pytest.raises(ValueError, match="max_len"):
        literal("x", max_len=0)


def test_bold_literal_wraps_safe_text_only() -> None:
    assert bold_literal("Acme") == "*Acme*"
    inner = bold_literal("@all visit www.evil.com")[1:-1]
    assert as_shown(inner) == "@all visit www.evil.com"
    assert not contains_trigger(inner)
    # Rocket.Chat's PEG grammar cannot hold these inside bold, so they come back unbolded.
    for text in ("a*b", "snake_case", "~x", "`x", "", "   "):
        assert bold_literal(text) == literal(text)


def test_inline_code_only_wraps_plain_identifiers() -> None:
    assert inline_code("OC-00012") == "`OC-00012`"
    assert inline_code("a b @all") == literal("a b @all")
    assert inline_code("x`y") == literal("x`y")
    assert inline_code("") == ""


# --- properties -------------------------------------------------------------------------

# Arbitrary text, plus text built from the characters Rocket.Chat cares about.
SPECIAL = [*"@#:/.<>|[]()!*_~`\\+-=$ \n\t\r", "localhost", "www.", "a", "1", "é", "\u200d"]
texts = st.text() | st.lists(st.sampled_from(SPECIAL)).map("".join)


@given(texts)
def test_literal_never_leaves_a_trigger(text: str) -> None:
    shown = literal(text)
    assert not contains_trigger(shown)
    assert not UNSAFE.search(shown)
    assert "\n" not in shown


@given(texts)
def test_literal_multiline_never_leaves_a_trigger(text: str) -> None:
    shown = literal(text, multiline=True)
    assert not contains_trigger(shown)
    assert not UNSAFE.search(shown)


@given(texts, st.booleans())
def test_literal_is_idempotent(text: str, multiline: bool) -> None:
    once = literal(text, multiline=multiline)
    assert literal(once, multiline=multiline) == once


# Text a human types on one line (no controls, newlines or our own invisible markers).
visible_text = st.lists(
    st.characters(
        exclude_categories=("Cc", "Cs"),
        exclude_characters="\u2028\u2029\u2060\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
        + PIPE_LOOKALIKE,
    )
    | st.sampled_from([s for s in SPECIAL if s not in ("\n", "\t", "\r")]),
    max_size=100,
).map("".join)


@given(visible_text)
def test_literal_reads_the_same(text: str) -> None:
    assert as_shown(literal(text)) == text


@given(texts)
def test_bold_literal_never_lets_data_out_of_the_bold(text: str) -> None:
    shown = bold_literal(text)
    inner = shown[1:-1] if shown.startswith("*") and shown.endswith("*") else shown
    assert not contains_trigger(inner)


# --- Babel formats ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "es", "en"),
    [
        (D("1234.56"), f"1.234,56{NBSP}€", "€1,234.56"),
        (D("275.28"), f"275,28{NBSP}€", "€275.28"),
        (D("0"), f"0,00{NBSP}€", "€0.00"),
        (D("-0.001"), f"0,00{NBSP}€", "€0.00"),  # never "-0,00 €"
        (D("-1234.5"), f"-1.234,50{NBSP}€", "-€1,234.50"),
        (D("0.125"), f"0,13{NBSP}€", "€0.13"),  # half-up, as DOMAIN §2 rounds
        (D("1234567890.12"), f"1.234.567.890,12{NBSP}€", "€1,234,567,890.12"),
        (
            D("123456789012345678901234567890.12"),
            f"123.456.789.012.345.678.901.234.567.890,12{NBSP}€",
            "€123,456,789,012,345,678,901,234,567,890.12",
        ),
    ],
)
def test_format_money(amount: Decimal, es: str, en: str) -> None:
    assert format_money(amount, "EUR", "es") == es
    assert format_money(amount, "EUR", "en") == en


def test_format_money_other_currency_and_bad_input() -> None:
    assert format_money(D("1234.5"), "USD", "en") == "$1,234.50"
    assert format_money(D("1234.5"), "JPY", "en") == "¥1,235"
    with pytest.raises(TypeError, match="Decimal"):
        format_money(1234.56, "EUR", "es")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot format"):
        format_money(D("NaN"), "EUR", "es")


@pytest.mark.parametrize(
    ("value", "es", "en"),
    [
        (D("2.50"), "2,5", "2.5"),
        (D("2.125"), "2,125", "2.125"),
        (D("1234.5"), "1.234,5", "1,234.5"),
        (D("100"), "100", "100"),
        (D("1E+2"), "100", "100"),
        (D("-0"), "0", "0"),
        (D("0.001"), "0,001", "0.001"),
    ],
)
def test_format_decimal(value: Decimal, es: str, en: str) -> None:
    assert format_decimal(value, "es") == es
    assert format_decimal(value, "en") == en


@pytest.mark.parametrize(
    ("rate", "es", "en"),
    [
        (D("21"), f"21{NBSP}%", "21%"),
        (D("21.00"), f"21{NBSP}%", "21%"),
        (D("10.5"), f"10,5{NBSP}%", "10.5%"),
        (D("0"), f"0{NBSP}%", "0%"),
    ],
)
def test_format_percent_rate(rate: Decimal, es: str, en: str) -> None:
    assert format_percent_rate(rate, "es") == es
    assert format_percent_rate(rate, "en") == en


def test_format_date_is_medium() -> None:
    day = dt.date(2026, 11, 28)
    assert format_date(day, "es") == "28 nov 2026"
    assert format_date(day, "en") == "Nov 28, 2026"
    with pytest.raises(TypeError, match="format_datetime"):
        format_date(dt.datetime(2026, 11, 28, tzinfo=dt.UTC), "es")


def test_format_datetime_converts_to_the_zone() -> None:
    winter = dt.datetime(2026, 11, 28, 8, 5, tzinfo=dt.UTC)  # Madrid is UTC+1
    assert format_datetime(winter, "es", "Europe/Madrid") == "28 nov 2026, 9:05"
    assert format_datetime(winter, "en", "Europe/Madrid") == f"Nov 28, 2026, 9:05{NNBSP}AM"
    summer = dt.datetime(2026, 7, 1, 22, 30, tzinfo=ZoneInfo("America/New_York"))
    assert format_datetime(summer, "es", "Europe/Madrid") == "2 jul 2026, 4:30"
    assert format_datetime(summer, "en", "UTC") == f"Jul 2, 2026, 2:30{NNBSP}AM"


def test_format_datetime_rejects_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_datetime(dt.datetime(2026, 11, 28, 9, 5), "es", "Europe/Madrid")  # noqa: DTZ001
