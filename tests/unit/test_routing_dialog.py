"""Table tests for bot.routing's dialog controls (match_control) and addressing (strip_address)."""

import pytest

from bot.routing import Control, ControlMatch, match_control, strip_address


@pytest.mark.parametrize(
    ("text", "control"),
    [
        ("ok", Control.OK),
        ("OK", Control.OK),
        ("si", Control.OK),
        ("sí", Control.OK),
        ("SI", Control.OK),
        ("Sí.", Control.OK),
        ("yes", Control.OK),
        ("y", Control.OK),
        ("cancelar", Control.CANCEL),
        ("cancel", Control.CANCEL),
        ("atras", Control.BACK),
        ("atrás", Control.BACK),
        ("ATRÁS", Control.BACK),
        ("back", Control.BACK),
        ("ayuda", Control.HELP),
        ("help", Control.HELP),
        ("omitir", Control.SKIP),
        ("skip", Control.SKIP),
        ("listo", Control.DONE),
        ("done", Control.DONE),
        ("guardar", Control.SAVE),
        ("save", Control.SAVE),
        ("  Guardar  ", Control.SAVE),
        ("editar", Control.EDIT),
        ("quitar", Control.REMOVE),
    ],
)
def test_controls(text: str, control: Control) -> None:
    assert match_control(text) == ControlMatch(control)


@pytest.mark.parametrize(
    ("text", "control", "number"),
    [
        ("editar 3", Control.EDIT, 3),
        ("EDITAR 3", Control.EDIT, 3),
        ("edit 1", Control.EDIT, 1),
        ("quitar 2", Control.REMOVE, 2),
        ("remove 12", Control.REMOVE, 12),
        ("Quitar  2", Control.REMOVE, 2),
    ],
)
def test_numbered_controls(text: str, control: Control, number: int) -> None:
    assert match_control(text) == ControlMatch(control, number)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "3",
        "Acme S.A.",
        "ok gracias",
        "si claro",
        "editar x",
        "editar 0",
        "editar 3 4",
        "cancelar 2",
        "no",
        "sin",
        "agregar compra",
    ],
)
def test_ordinary_answers_are_not_controls(text: str) -> None:
    assert match_control(text) is None


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("@crmbot ayuda", "ayuda"),
        ("@CrmBot: buscar ana", "buscar ana"),
        ("@CRMBOT , buscar Ana", "buscar Ana"),
        ("  @crmbot   compras página 2 ", "compras página 2"),
        ("@crmbot", ""),
        ("@crmbot:", ""),
        ("!ayuda", "ayuda"),
        ("! buscar José", "buscar José"),
        ("!", ""),
    ],
)
def test_addressed(text: str, rest: str) -> None:
    assert strip_address(text, "crmbot") == (True, rest)


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("hola", "hola"),
        ("  ayuda ", "ayuda"),
        ("@crmbotx ayuda", "@crmbotx ayuda"),
        ("@crmbot.dev ayuda", "@crmbot.dev ayuda"),
        ("@crmbot_2 ayuda", "@crmbot_2 ayuda"),
        ("hola @crmbot ayuda", "hola @crmbot ayuda"),
        ("@ana mira esto", "@ana mira esto"),
        ("", ""),
    ],
)
def test_not_addressed(text: str, rest: str) -> None:
    assert strip_address(text, "crmbot") == (False, rest)


@pytest.mark.parametrize("username", ["crmbot", "CrmBot", "@crmbot", " crmbot "])
def test_username_spelling_does_not_matter(username: str) -> None:
    assert strip_address("@crmbot ayuda", username) == (True, "ayuda")


def test_username_is_taken_literally_not_as_a_pattern() -> None:
    assert strip_address("@bot.1 ayuda", "bot.1") == (True, "ayuda")
    assert strip_address("@botx1 ayuda", "bot.1") == (False, "@botx1 ayuda")


def test_empty_username_leaves_only_the_bang_prefix() -> None:
    assert strip_address("@ ayuda", "") == (False, "@ ayuda")
    assert strip_address("!ayuda", "") == (True, "ayuda")
