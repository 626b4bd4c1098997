"""Table tests for bot.routing.match_command: every command and module word, pages, numbers."""

import pytest

from bot.routing import Command, Module, Route, Unknown, match_command

# Written out here rather than read from bot.routing.words, so a table edit shows up as a test diff.
COMMAND_WORDS = [
    ("ayuda", "help", Command.HELP),
    ("buscar", "search", Command.SEARCH),
    ("vincular", "link", Command.LINK),
    ("desvincular", "unlink", Command.UNLINK),
    ("contacto", "contact", Command.CONTACT),
    ("ver", "show", Command.SHOW),
    ("agregar compra", "add purchase", Command.ADD_PURCHASE),
    ("agregar orden de compra", "add purchase order", Command.ADD_PURCHASE),
    ("agregar cotizacion", "add quote", Command.ADD_QUOTE),
    ("agregar caso", "add case", Command.ADD_CASE),
    ("comentar", "comment", Command.COMMENT),
    ("estado", "status", Command.STATUS),
    ("enviar", "send", Command.SEND),
]
COMMAND_CASES = [(w, c) for es, en, c in COMMAND_WORDS for w in (es, en)]

MODULE_WORDS = [
    ("activos", "assets", Module.ASSETS),
    ("proyectos", "projects", Module.PROJECTS),
    ("direcciones", "addresses", Module.ADDRESSES),
    ("servicios", "services", Module.SERVICES),
    ("polizas", "contracts", Module.CONTRACTS),
    ("ventas", "sales-orders", Module.SALES_ORDERS),
    ("cotizaciones", "quotes", Module.QUOTES),
    ("compras", "purchases", Module.PURCHASES),
    ("productos", "products", Module.PRODUCTS),
    ("calendario", "calendar", Module.CALENDAR),
    ("oportunidades", "opportunities", Module.OPPORTUNITIES),
    ("comentarios", "comments", Module.COMMENTS),
    ("casos", "cases", Module.CASES),
    ("emails", "emails", Module.EMAILS),
    ("archivos", "files", Module.FILES),
    ("campanas", "campaigns", Module.CAMPAIGNS),
    ("canales", "channels", Module.CHANNELS),
]
MODULE_CASES = [(w, m) for es, en, m in MODULE_WORDS for w in (es, en)]


def test_tables_cover_the_contract() -> None:
    assert len(MODULE_WORDS) == len(Module) == 17
    words = {c for _, _, c in COMMAND_WORDS}
    assert words == set(Command) - {Command.MODULE_LIST, Command.SELECT, Command.PAGE}


@pytest.mark.parametrize(("text", "command"), COMMAND_CASES)
@pytest.mark.parametrize("locale", ["es", "en"])
def test_every_command_word_in_both_languages(text: str, command: Command, locale: str) -> None:
    assert match_command(text, locale) == Route(command)


@pytest.mark.parametrize(("text", "command"), COMMAND_CASES)
def test_command_words_ignore_case_and_surrounding_space(text: str, command: Command) -> None:
    assert match_command(f"  {text.upper()}\t") == Route(command)
    assert match_command(text.title()) == Route(command)


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("agregar cotización", Command.ADD_QUOTE),
        ("AGREGAR COTIZACIÓN", Command.ADD_QUOTE),
        ("Agregar Cotizacion", Command.ADD_QUOTE),
        ("agregar   compra", Command.ADD_PURCHASE),
        ("agregar órden de compra", Command.ADD_PURCHASE),
        ("Add Purchase Order", Command.ADD_PURCHASE),
        ("AYUDA", Command.HELP),
        ("Búscar", Command.SEARCH),
        ("¿ayuda?", Command.HELP),
        ("ayuda?", Command.HELP),
    ],
)
def test_accent_and_punctuation_variants(text: str, command: Command) -> None:
    assert match_command(text) == Route(command)


@pytest.mark.parametrize(("text", "module"), MODULE_CASES)
def test_every_module_word_in_both_languages(text: str, module: Module) -> None:
    assert match_command(text) == Route(Command.MODULE_LIST, module=module)
    assert match_command(text.upper(), "en") == Route(Command.MODULE_LIST, module=module)


@pytest.mark.parametrize(
    ("text", "module"),
    [
        ("COTIZACIONES", Module.QUOTES),
        ("Cotizaciones", Module.QUOTES),
        ("pólizas", Module.CONTRACTS),
        ("campañas", Module.CAMPAIGNS),
        ("CAMPAÑAS", Module.CAMPAIGNS),
        ("sales orders", Module.SALES_ORDERS),
        ("salesorders", Module.SALES_ORDERS),
        ("órdenes de venta", Module.SALES_ORDERS),
        ("purchase orders", Module.PURCHASES),
        ("purchase-orders", Module.PURCHASES),
        ("órdenes de compra", Module.PURCHASES),
        ("correos", Module.EMAILS),
    ],
)
def test_module_variants_and_aliases(text: str, module: Module) -> None:
    assert match_command(text) == Route(Command.MODULE_LIST, module=module)


@pytest.mark.parametrize(
    ("text", "module", "page"),
    [
        ("compras pagina 2", Module.PURCHASES, 2),
        ("compras página 2", Module.PURCHASES, 2),
        ("Compras PÁGINA 3", Module.PURCHASES, 3),
        ("purchases page 2", Module.PURCHASES, 2),
        ("purchases página 4", Module.PURCHASES, 4),
        ("compras page 5", Module.PURCHASES, 5),
        ("sales orders page 2", Module.SALES_ORDERS, 2),
        ("órdenes de compra página 7", Module.PURCHASES, 7),
        ("cotizaciones pagina 10", Module.QUOTES, 10),
    ],
)
def test_module_with_page(text: str, module: Module, page: int) -> None:
    assert match_command(text) == Route(Command.MODULE_LIST, module=module, page=page)


@pytest.mark.parametrize(
    ("text", "args"),
    [
        ("compras abiertas", "abiertas"),
        ("compras pagina 0", "pagina 0"),
        ("compras página dos", "página dos"),
        ("compras 2", "2"),
    ],
)
def test_module_with_other_text_passes_it_on(text: str, args: str) -> None:
    # The module handler decides what extra text means; routing only knows `página N`.
    assert match_command(text) == Route(Command.MODULE_LIST, module=Module.PURCHASES, args=args)


@pytest.mark.parametrize(
    ("text", "number"), [("2", 2), ("1", 1), (" 15 ", 15), ("02", 2), ("3.", 3)]
)
def test_bare_number_selects(text: str, number: int) -> None:
    assert match_command(text) == Route(Command.SELECT, number=number)


@pytest.mark.parametrize("text", ["0", "-2", "2 3", "1" * 10, "9" * 5000, "٣", "½"])
def test_not_a_selection(text: str) -> None:
    assert isinstance(match_command(text), Unknown)


@pytest.mark.parametrize(
    ("text", "page"), [("pagina 2", 2), ("página 3", 3), ("PAGE 4", 4), ("Página 12", 12)]
)
def test_page_alone(text: str, page: int) -> None:
    assert match_command(text) == Route(Command.PAGE, page=page)


@pytest.mark.parametrize(
    ("text", "locale", "suggestion"),
    [("página", "es", "página 2"), ("pagina x", "es", "página 2"), ("page 0", "en", "page 2")],
)
def test_page_without_a_number_shows_the_shape(text: str, locale: str, suggestion: str) -> None:
    result = match_command(text, locale)
    assert isinstance(result, Unknown)
    assert result.suggestion == suggestion


@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("estado OC-00012 aprobada", Route(Command.STATUS, args="OC-00012 aprobada")),
        ("ESTADO oc-00012 Aprobada", Route(Command.STATUS, args="oc-00012 Aprobada")),
        ("status Q-7 Sent", Route(Command.STATUS, args="Q-7 Sent")),
        ("buscar José Ñúñez", Route(Command.SEARCH, args="José Ñúñez")),
        ("Buscar   ana   maría ", Route(Command.SEARCH, args="ana   maría")),
        ("buscar: Ana", Route(Command.SEARCH, args="Ana")),
        ("search ANA@Example.com", Route(Command.SEARCH, args="ANA@Example.com")),
        ("vincular Acme S.A.", Route(Command.LINK, args="Acme S.A.")),
        ("link +34 600 000 000", Route(Command.LINK, args="+34 600 000 000")),
        ("ver OC-00012", Route(Command.SHOW, args="OC-00012")),
        ("show 3", Route(Command.SHOW, args="3")),
        ("enviar COT-00003", Route(Command.SEND, args="COT-00003")),
        (
            "comentar Llamó, quiere *descuento* @all",
            Route(Command.COMMENT, args="Llamó, quiere *descuento* @all"),
        ),
        ("comment line one\nline two", Route(Command.COMMENT, args="line one\nline two")),
        ("ayuda compras", Route(Command.HELP, args="compras")),
        ("help Add Purchase", Route(Command.HELP, args="Add Purchase")),
        ("agregar compra urgente", Route(Command.ADD_PURCHASE, args="urgente")),
    ],
)
def test_args_keep_the_original_text(text: str, route: Route) -> None:
    assert match_command(text) == route


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("agregar compra", Command.ADD_PURCHASE),
        ("agregar orden de compra", Command.ADD_PURCHASE),
        ("add quote", Command.ADD_QUOTE),
        ("add case", Command.ADD_CASE),
    ],
)
def test_multi_word_commands_beat_prefixes(text: str, command: Command) -> None:
    result = match_command(text)
    assert isinstance(result, Route)
    assert (result.command, result.args) == (command, "")


def test_agregar_alone_is_unknown_with_a_full_suggestion() -> None:
    assert match_command("agregar") == Unknown("agregar", "agregar compra")
    assert match_command("add", "en") == Unknown("add", "add purchase")


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text(text: str) -> None:
    assert match_command(text) == Unknown("", None)
    assert match_command(text, "en") == Unknown("", None)


def test_unknown_word_is_the_first_word_as_typed() -> None:
    result = match_command("Hola, ¿qué tal?")
    assert isinstance(result, Unknown)
    assert result.word == "Hola,"
