"""Transcripts of the replies every command shares: refusals, no link, unknown words, failures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import pytest

from bot.bootstrap import Store
from bot.chat import ChatUser, Incoming, RoomRef
from bot.chatfmt import as_shown
from bot.commands.base import ChatConfig, CommandHandler, Ctx
from bot.inbox import Inbox, Outcome
from bot.notifier import Notifier
from bot.pipeline import Pipeline
from bot.render import Renderer
from bot.routing import Command, Route
from store.services.contacts import ContactData, upsert_contact
from store.services.users import set_role
from tests.chat import Chat, RecordingTransport


async def shown(chat: Chat, text: str, **kwargs: str) -> str:
    """The one reply to ``text`` as the reader sees it."""
    return as_shown(await chat.said(text, **kwargs))


async def roles(store: Store, **by_user: str) -> None:
    async with store.sessions.begin() as s:
        for user, role in by_user.items():
            await set_role(s, user, role)


# --- forbidden -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "es",
            "Con tu rol, `lectura`, no puedes hacer esto: hace falta el rol `ventas` "
            "(o `admin`).\nSi lo necesitas, pídeselo a un administrador.",
        ),
        (
            "en",
            "Your role, `lectura`, can't do this: it needs the `ventas` role (or `admin`).\n"
            "Ask an admin if you need it.",
        ),
    ],
)
async def test_forbidden_names_the_role_and_the_one_needed(
    store: Store, locale: str, expected: str
) -> None:
    await roles(store, luis="lectura")
    async with Chat(store, locale=locale, fixed_role=None) as chat:
        assert await shown(chat, "vincular ana", user="luis") == expected


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "es",
            "Aún no tienes acceso al CRM. Pide a un administrador que te asigne un rol; "
            "mientras tanto, `ayuda` te cuenta qué se puede hacer.",
        ),
        (
            "en",
            "You don't have access to the CRM yet. Ask an admin to give you a role; "
            "until then, `help` tells you what can be done.",
        ),
    ],
)
async def test_role_none_is_told_to_ask_for_access(
    store: Store, locale: str, expected: str
) -> None:
    async with Chat(store, locale=locale, fixed_role=None) as chat:
        # An unknown user gets CRMBOT_DEFAULT_ROLE, `none` by default.
        assert await shown(chat, "buscar ana", user="nadie") == expected
        assert await shown(chat, "contacto", user="nadie") == expected


async def test_forbidden_when_only_admin_may_does_not_offer_an_alternative(store: Store) -> None:
    renderer = Renderer()
    text = renderer.render("forbidden", {"role": "compras", "needed": "admin"}, "es")
    assert as_shown(text) == (
        "Con tu rol, `compras`, no puedes hacer esto: hace falta el rol `admin`.\n"
        "Si lo necesitas, pídeselo a un administrador."
    )


# --- room_not_linked ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "es",
            "Esta sala aún no está vinculada a ningún contacto.\n"
            "Vincúlala con `vincular <nombre>`, por ejemplo `vincular ana garcía`.",
        ),
        (
            "en",
            "This room isn't linked to a contact yet.\n"
            "Link it with `link <name>`, for example `link ana garcía`.",
        ),
    ],
)
async def test_room_not_linked_says_how_to_link(store: Store, locale: str, expected: str) -> None:
    async with Chat(store, locale=locale) as chat:
        assert await shown(chat, "contacto") == expected


# --- unknown_command ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "text", "expected"),
    [
        ("es", "compra", "No conozco «compra». ¿Quisiste decir `compras`?"),
        ("en", "compra", 'I don\'t know "compra". Did you mean `compras`?'),
        ("en", "serch ana", 'I don\'t know "serch". Did you mean `search`?'),
        ("es", "contactt", "No conozco «contactt». ¿Quisiste decir `contacto`?"),
        (
            "es",
            "xyzzy",
            "No conozco «xyzzy». Escribe `ayuda` para ver lo que puedo hacer.",
        ),
        ("en", "xyzzy", 'I don\'t know "xyzzy". Type `help` to see what I can do.'),
        ("es", "@crmbot", "¿En qué te ayudo? Escribe `ayuda` para ver lo que puedo hacer."),
        ("en", "@crmbot", "How can I help? Type `help` to see what I can do."),
    ],
)
async def test_unknown_command_suggests_or_points_to_help(
    store: Store, locale: str, text: str, expected: str
) -> None:
    async with Chat(store, locale=locale) as chat:
        assert await shown(chat, text) == expected


async def test_unknown_word_is_shown_literally(store: Store) -> None:
    async with Chat(store) as chat:
        reply = await chat.said("@all")
    assert "@all" not in reply
    assert as_shown(reply) == "No conozco «@all». Escribe `ayuda` para ver lo que puedo hacer."


# --- choices --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "es",
            "No tengo ninguna lista abierta a la que corresponda ese número.\n"
            "Busca primero, por ejemplo `buscar ana`, y luego escribe el número.",
        ),
        (
            "en",
            "There's no open list that number could pick from.\n"
            "Search first, for example `search ana`, then type the number.",
        ),
    ],
)
async def test_a_bare_number_with_nothing_to_choose(
    store: Store, locale: str, expected: str
) -> None:
    async with Chat(store, locale=locale) as chat:
        assert await shown(chat, "2") == expected


@pytest.mark.parametrize(
    ("locale", "two", "one"),
    [
        (
            "es",
            "No hay opción 5: elige un número del 1 al 2.",
            "No hay opción 3: solo hay una, escribe 1.",
        ),
        (
            "en",
            "There's no option 5: pick a number from 1 to 2.",
            "There's no option 3: there is only one, type 1.",
        ),
    ],
)
async def test_a_number_out_of_range_gives_the_valid_range(
    store: Store, locale: str, two: str, one: str
) -> None:
    async with store.sessions.begin() as s:
        await upsert_contact(s, ContactData("Ana", "García", email="ana@example.com"))
        await upsert_contact(s, ContactData("Ana", "Ruiz", email="ruiz@example.com"))
    async with Chat(store, locale=locale) as chat:
        await chat.say("buscar ana")
        assert await shown(chat, "5") == two
        await chat.say("buscar ruiz")
        assert await shown(chat, "3") == one


# --- command_unavailable and error_internal, through a pipeline with a tailored table ---------


async def _boom(ctx: Ctx, route: Route) -> None:
    raise RuntimeError("the handler broke")


@asynccontextmanager
async def bare_pipeline(
    store: Store, commands: Mapping[Command, CommandHandler], locale: str
) -> AsyncIterator[tuple[Inbox, Notifier, RecordingTransport]]:
    """The real inbox, pipeline and notifier over a command table the test chooses."""
    transport = RecordingTransport()
    renderer = Renderer(default_locale=locale)
    notifier = Notifier(store.sessions, transport, renderer.render)
    pipeline = Pipeline(ChatConfig(), commands, fixed_role="admin")
    inbox = Inbox(store.sessions, pipeline, locale=locale, on_commit=notifier.wake)
    inbox.start()
    try:
        yield inbox, notifier, transport
    finally:
        await inbox.stop()


def _message(text: str, message_id: str) -> Incoming:
    return Incoming(
        message_id=message_id,
        room=RoomRef("room-1", "room-1", "d"),
        user=ChatUser("u-ana", "ana"),
        text=text,
    )


@pytest.mark.parametrize(
    ("locale", "unavailable", "error"),
    [
        (
            "es",
            "«agregar compra» aún no está disponible en este bot.\n"
            "Escribe `ayuda` para ver lo que sí puedo hacer.",
            "Lo siento, algo ha fallado al procesar tu mensaje y no se ha guardado nada.\n"
            "Inténtalo de nuevo; si vuelve a pasar, avisa a un administrador.",
        ),
        (
            "en",
            '"add purchase" isn\'t available in this bot yet.\nType `help` to see what I can do.',
            "Sorry, something went wrong while handling your message, and nothing was saved.\n"
            "Please try again; if it keeps happening, tell an admin.",
        ),
    ],
)
async def test_unavailable_command_and_internal_error(
    store: Store, locale: str, unavailable: str, error: str
) -> None:
    async with bare_pipeline(store, {Command.SEARCH: _boom}, locale) as (inbox, notifier, sent):
        assert await inbox.submit(_message("agregar compra", "m1")) is Outcome.HANDLED
        assert await inbox.submit(_message("buscar ana", "m2")) is Outcome.FAILED
        await notifier.drain()
    assert [as_shown(text) for text in sent.texts("room-1")] == [unavailable, error]
