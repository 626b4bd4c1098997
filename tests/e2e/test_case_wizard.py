"""Transcripts of the support-case wizard (`agregar caso`): every step, the review, the save."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import cast

import pytest
from sqlalchemy import delete, select

from bot.bootstrap import Store
from bot.chat import Param, decode_params
from bot.chatfmt import as_shown, contains_trigger
from bot.render import Renderer
from dialogs.case import CASE, CaseFlow, S
from dialogs.diagram import diagram_path, edges, mermaid
from dialogs.io import DialogIO
from store.models import Case, ChatChannel, Contact, DialogSession, Outbox
from store.services.contacts import ContactData, upsert_contact
from store.services.documents import CaseDraft, create_case
from store.services.users import set_role
from tests.chat import Chat

NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
ROLES = {"marta": "admin", "vera": "ventas", "sofia": "soporte", "carlos": "compras"}
ROLES["luis"] = "lectura"
LINKED = ("room-1", "room-2")
UNLINKED = "room-5"
# Data that would mention everyone, make bold and start a list if it were not made literal.
DESCRIPTION = "Desde ayer la VPN se cae @all\n*x* no conecta\n1. Probado reiniciar\n#general"


def clock() -> dt.datetime:
    return NOW


async def seed(store: Store) -> int:
    """Roles, Ana García linked to two rooms, Ana Gómez and Bruno Díaz; Ana García's id."""
    async with store.sessions.begin() as s:
        for user, role in ROLES.items():
            await set_role(s, user, role)
        ana, _ = await upsert_contact(
            s, ContactData("Ana", "García", email="ana@example.com", account="Construcciones Norte")
        )
        await upsert_contact(s, ContactData("Ana", "Gómez", email="agomez@example.com"))
        await upsert_contact(s, ContactData("Bruno", "Díaz", email="bruno@example.com"))
        s.add_all(ChatChannel(contact_id=ana.id, room_id=room, room_name=room) for room in LINKED)
        return ana.id


# --- transcript helpers ------------------------------------------------------------------


@dataclass(frozen=True)
class Other:
    """A reply whose wording another family owns: its key and the params that matter here."""

    key: str
    params: dict[str, Param] = field(default_factory=dict)


Expected = str | Other


@dataclass(frozen=True)
class Got:
    room: str
    key: str
    params: dict[str, Param]
    raw: str  # the chat text as posted
    text: str  # as a reader sees it; no-break spaces as plain spaces

    def matches(self, expected: Expected) -> bool:
        if isinstance(expected, str):
            return self.text == expected
        wanted = expected.params.items()
        return self.key == expected.key and all(self.params.get(k) == v for k, v in wanted)


async def turn(
    chat: Chat, text: str, *, user: str, room: str = "room-1", thread: str = ""
) -> list[Got]:
    """Everything the bot posted (in any room) because ``user`` said ``text`` in ``room``."""
    before = len(chat.transport.sent)
    await chat.say(text, user=user, room=room, thread=thread)
    sent = chat.transport.sent[before:]
    async with chat.store.sessions() as s:
        ids = [m.msg_id for m in sent]
        rows = {r.msg_id: r for r in await s.scalars(select(Outbox).where(Outbox.msg_id.in_(ids)))}
    return [
        Got(
            m.room_id,
            rows[m.msg_id].key,
            decode_params(rows[m.msg_id].params),
            m.text,
            as_shown(m.text).replace("\xa0", " "),
        )
        for m in sent
    ]


async def run(
    chat: Chat,
    steps: list[tuple[str, list[Expected]]],
    *,
    user: str,
    room: str = "room-1",
    thread: str = "",
) -> list[Got]:
    """Say each message; what comes back in ``room`` must be exactly the expected replies.

    Returns the replies to the last message.
    """
    got: list[Got] = []
    for text, expected in steps:
        replies = await turn(chat, text, user=user, room=room, thread=thread)
        got = [g for g in replies if g.room == room]
        assert len(got) == len(expected), (text, got)
        for reply, want in zip(got, expected, strict=True):
            assert reply.matches(want), (text, reply, want)
    return got


def rendered(key: str, locale: str, **params: Param) -> str:
    """A reply another family owns, exactly as the bot renders it (as a reader sees it)."""
    text = Renderer(default_locale=locale).render(key, params, locale)
    return as_shown(text).replace("\xa0", " ")


# --- the expected questions, per locale ------------------------------------------------------

WORDS = {
    "es": {"start": "agregar caso", "save": "guardar", "skip": "omitir"},
    "en": {"start": "add case", "save": "save", "skip": "skip"},
}
STARTED = {
    "es": "*Nuevo caso de soporte*: te pregunto paso a paso.\n"
    "`atras` vuelve al paso anterior, `ayuda` explica el paso y `cancelar` lo descarta sin "
    "guardar.",
    "en": "*New support case*: I'll ask you step by step.\n"
    "`back` returns to the previous step, `help` explains the step and `cancel` drops it "
    "unsaved.",
}
TITLE_Q = {
    "es": "¿Título del caso? Qué pasa, en una línea (hasta 255 caracteres).",
    "en": "Case title? What is wrong, in one line (up to 255 characters).",
}
DESCRIPTION_Q = {
    "es": "Describe el problema: qué pasa, desde cuándo, a quién afecta. Varias líneas valen, "
    "hasta 4.000 caracteres.",
    "en": "Describe the problem: what happens, since when, who it affects. Several lines are "
    "fine, up to 4,000 characters.",
}
CONTACT_NONE = (
    "Esta sala no está vinculada a un contacto. ¿De quién es el caso? Escribe su nombre, "
    "email, teléfono o cuenta."
)
OPTIONS = {
    ("es", "priority"): ("¿Prioridad?", ("Baja", "Normal", "Alta", "Urgente")),
    ("en", "priority"): ("Priority?", ("Low", "Normal", "High", "Urgent")),
    ("es", "severity"): ("¿Gravedad?", ("Menor", "Mayor", "Mejora", "Crítica")),
    ("en", "severity"): ("Severity?", ("Minor", "Major", "Feature", "Critical")),
}
STARTER = {
    "es": ("Hardware", "Software", "Red", "Facturación", "Entrega", "Garantía"),
    "en": ("Hardware", "Software", "Network", "Billing", "Delivery", "Warranty"),
}


def choice_q(locale: str, step: str, current: str) -> str:
    question, labels = OPTIONS[locale, step]
    listed = "".join(f"{n}. {name}\n" for n, name in enumerate(labels, 1))
    if locale == "en":
        return f"{question} `ok` leaves *{current}*.\n{listed}Answer with the number or the name."
    return f"{question} `ok` deja *{current}*.\n{listed}Responde con el número o el nombre."


def priority_q(locale: str, current: str = "") -> str:
    return choice_q(locale, "priority", current or "Normal")


def severity_q(locale: str, current: str = "") -> str:
    return choice_q(locale, "severity", current or ("Minor" if locale == "en" else "Menor"))


def category_q(locale: str, options: tuple[str, ...] = (), current: str = "") -> str:
    listed = "".join(f"{n}. {name}\n" for n, name in enumerate(options or STARTER[locale], 1))
    if locale == "en":
        head = (
            f"Category: *{current}*. `ok` keeps it, `skip` removes it.\n"
            if current
            else "Category? Optional: `skip` if none is needed.\n"
        )
        return f"{head}{listed}Answer with the number, or type another (up to 60 characters)."
    head = (
        f"Categoría: *{current}*. `ok` la mantiene, `omitir` la quita.\n"
        if current
        else "¿Categoría? Opcional: `omitir` si no hace falta.\n"
    )
    return f"{head}{listed}Responde con el número, o escribe otra (hasta 60 caracteres)."


def review(locale: str, **fields: str) -> str:
    f = {
        "title": "La VPN se cae",
        "contact": "Ana García",
        "description": DESCRIPTION,
        "priority": "Alta" if locale == "es" else "High",
        "severity": "Crítica" if locale == "es" else "Critical",
        "category": "Red" if locale == "es" else "Network",
        **fields,
    }
    if locale == "en":
        return (
            "*Check the case* (it will open as Open)\n"
            f"1. Title: *{f['title']}*\n2. Contact: {f['contact']}\n"
            f"3. Description:\n{f['description']}\n"
            f"4. Priority: {f['priority']}\n5. Severity: {f['severity']}\n"
            f"6. Category: {f['category'] or '—'}\n\n"
            "`save` opens it · `edit n` changes step n · `cancel` drops it."
        )
    return (
        "*Revisa el caso* (se abrirá como Abierto)\n"
        f"1. Título: *{f['title']}*\n2. Contacto: {f['contact']}\n"
        f"3. Descripción:\n{f['description']}\n"
        f"4. Prioridad: {f['priority']}\n5. Gravedad: {f['severity']}\n"
        f"6. Categoría: {f['category'] or '—'}\n\n"
        "`guardar` lo abre · `editar n` cambia el paso n · `cancelar` lo descarta."
    )


def to_review(locale: str) -> list[tuple[str, list[Expected]]]:
    """The happy path in a room linked to Ana García, up to the review."""
    title = "La VPN se cae"
    priority, severity, category = ("alta", "4", "red") if locale == "es" else ("high", "4", "3")
    return [
        (WORDS[locale]["start"], [STARTED[locale], TITLE_Q[locale]]),
        (title, [DESCRIPTION_Q[locale]]),
        (DESCRIPTION, [priority_q(locale)]),
        (priority, [severity_q(locale)]),
        (severity, [category_q(locale)]),
        (category, [review(locale)]),
    ]


async def cases(store: Store) -> list[Case]:
    async with store.sessions() as s:
        return list(await s.scalars(select(Case).order_by(Case.id)))


def description_part(raw: str, lines: int) -> str:
    """The description as posted in a review: the lines after the "3." heading."""
    rows = raw.split("\n")
    start = next(i for i, row in enumerate(rows) if row.startswith("3. ")) + 1
    return "\n".join(rows[start : start + lines])


# --- the happy path ----------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["es", "en"])
async def test_full_case_is_reviewed_literally_saved_shown_and_told(
    store: Store, locale: str
) -> None:
    ana = await seed(store)
    async with Chat(store, locale=locale, fixed_role=None, clock=clock) as chat:
        [shown] = await run(chat, to_review(locale), user="sofia")
        saved = await turn(chat, WORDS[locale]["save"], user="sofia")
    # The description is shown as typed, and none of it mentions, formats or links.
    posted = description_part(shown.raw, DESCRIPTION.count("\n") + 1)
    assert as_shown(posted) == DESCRIPTION
    assert not contains_trigger(posted)
    assert [(g.room, g.key) for g in saved] == [
        ("room-1", "dialog_saved"),
        ("room-1", "detail_case"),
        ("room-2", "notify_created"),
    ]
    assert saved[0].params == {"number": "CAS-00001", "kind": "case"}
    assert saved[1].params["number"] == "CAS-00001"
    assert DESCRIPTION in saved[1].text
    assert saved[2].params == {"number": "CAS-00001", "kind": "case", "user": "sofia"}
    [case] = await cases(store)
    category = "Red" if locale == "es" else "Network"
    assert (case.number, case.contact_id, case.title, case.description) == (
        "CAS-00001",
        ana,
        "La VPN se cae",
        DESCRIPTION,
    )
    assert (case.status, case.priority, case.severity, case.category, case.created_by) == (
        "open",
        "high",
        "critical",
        category,
        "sofia",
    )
    assert case.idempotency_key is not None
    assert case.idempotency_key.startswith("dialog:")


# --- defaults, choices, editar, atras, cancelar ----------------------------------------------


# ok and omitir take the defaults; then every field is revisited from the review.
DEFAULTS = {"priority": "Normal", "severity": "Menor", "category": ""}
EDITING: list[tuple[str, list[Expected]]] = [
    ("agregar caso", [STARTED["es"], TITLE_Q["es"]]),
    ("La VPN se cae", [DESCRIPTION_Q["es"]]),
    ("ok", [Other("answer_no_default"), DESCRIPTION_Q["es"]]),
    ("Se cae", [priority_q("es")]),
    ("ok", [severity_q("es")]),
    ("omitir", [category_q("es")]),
    ("omitir", [review("es", description="Se cae", **DEFAULTS)]),
    ("hola", [Other("answer_review_hint", {"max": 6}), Other("case_review")]),
    (
        "editar 7",
        # Cases have no lines: the example is the title, not the purchase order's `editar 6`.
        ["Escribe `editar` y un número del 1 al 6 (p. ej. `editar 1` para el título).",
         Other("case_review")],
    ),
    ("editar 1", [Other("case_title", {"current": "La VPN se cae"})]),
    ("La VPN se desconecta", [Other("case_review", {"title": "La VPN se desconecta"})]),
    ("editar 3", [Other("case_description", {"current": "Se cae"})]),
    ("ok", [Other("case_review", {"description": "Se cae"})]),
    ("editar 3", [Other("case_description", {"current": "Se cae"})]),
    (DESCRIPTION, [Other("case_review", {"description": DESCRIPTION})]),
    ("editar 4", [priority_q("es", "Normal")]),
    ("urgent", [Other("case_review", {"priority": "Urgente"})]),
    ("editar 4", [priority_q("es", "Urgente")]),
    ("ok", [Other("case_review", {"priority": "Urgente"})]),
    ("editar 5", [severity_q("es", "Menor")]),
    ("major", [Other("case_review", {"severity": "Mayor"})]),
    ("editar 6", [category_q("es")]),
    ("2", [Other("case_review", {"category": "Software"})]),
    ("editar 6", [category_q("es", current="Software")]),
    ("ok", [Other("case_review", {"category": "Software"})]),
    ("editar 2", [Other("case_contact", {"current": "Ana García"})]),
    ("bruno", ["Contacto: *Bruno Díaz*", Other("case_review", {"contact": "Bruno Díaz"})]),
    ("guardar", [Other("dialog_saved", {"number": "CAS-00001"}), Other("detail_case")]),
]  # fmt: skip


async def test_defaults_by_ok_and_skip_then_every_field_edited_from_the_review(
    store: Store,
) -> None:
    await seed(store)
    async with Chat(store, fixed_role=None, clock=clock) as chat:
        await run(chat, EDITING, user="marta")
    [case] = await cases(store)
    assert (case.title, case.description, case.priority, case.severity, case.category) == (
        "La VPN se desconecta",
        DESCRIPTION,
        "urgent",
        "major",
        "Software",
    )
    async with store.sessions() as s:
        bruno = await s.scalar(select(Contact).where(Contact.first_name == "Bruno"))
    assert bruno is not None
    assert case.contact_id == bruno.id


async def test_bad_answers_are_explained_and_the_question_repeated(store: Store) -> None:
    await seed(store)
    async with Chat(store, fixed_role=None, clock=clock) as chat:
        await run(
            chat,
            [
                ("agregar caso", [STARTED["es"], TITLE_Q["es"]]),
                ("x" * 256, [Other("answer_too_long", {"max": 255, "length": 256}), TITLE_Q["es"]]),
                ("La VPN se cae", [DESCRIPTION_Q["es"]]),
                ("y" * 4001, [Other("answer_too_long", {"max": 4000}), DESCRIPTION_Q["es"]]),
                ("y" * 4000, [priority_q("es")]),
                ("9", [Other("answer_bad_choice", {"max": 4}), priority_q("es")]),
                ("crítica", [Other("answer_bad_choice", {"max": 4}), priority_q("es")]),
                # The third bad answer in a row also offers the help.
                ("listo", [Other("answer_not_here"), Other("dialog_offer_help"), priority_q("es")]),
                ("alta", [severity_q("es")]),
                ("m", [Other("answer_ambiguous", {"count": 3}), severity_q("es")]),
                ("mej", [category_q("es")]),
                ("7", [Other("answer_bad_choice", {"max": 6}), category_q("es")]),
                ("z" * 61, [Other("answer_too_long", {"max": 60}), category_q("es")]),
                ("GARANTIA",
                 [Other("case_review", {"severity": "Mejora", "category": "Garantía"})]),
            ],
            user="sofia",
        )  # fmt: skip


async def test_categories_in_use_are_offered_and_free_text_is_kept(store: Store) -> None:
    ana = await seed(store)
    async with store.sessions.begin() as s:
        for category in ("Redes", "Impresoras", "Redes"):
            await create_case(s, CaseDraft(ana, "Anterior", category=category))
    used = ("Redes", "Impresoras")
    async with Chat(store, fixed_role=None, clock=clock) as chat:
        await run(
            chat,
            [
                ("agregar caso", [STARTED["es"], TITLE_Q["es"]]),
                ("La VPN se cae", [DESCRIPTION_Q["es"]]),
                ("Se cae", [priority_q("es")]),
                ("ok", [severity_q("es")]),
                ("ok", [category_q("es", used)]),
                ("redes", [Other("case_review", {"category": "Redes"})]),
                ("editar 6", [category_q("es", used, current="Redes")]),
                ("Túneles VPN", [Other("case_review", {"category": "Túneles VPN"})]),
                ("editar 6", [category_q("es", used, current="Túneles VPN")]),
                ("omitir", [Other("case_review", {"category": ""})]),
                ("guardar", [Other("dialog_saved", {"number": "CAS-00004"}), Other("detail_case")]),
            ],
            user="sofia",
        )
    assert [c.category for c in await cases(store)] == ["Redes", "Impresoras", "Redes", ""]


async def test_back_goes_step_by_step_and_cancel_saves_nothing(store: Store) -> None:
    await seed(store)
    at_start = Other("dialog_at_start")
    async with Chat(store, fixed_role=None, clock=clock) as chat:
        await run(
            chat,
            [
                ("agregar caso", [STARTED["es"], TITLE_Q["es"]]),
                ("atras", [at_start, TITLE_Q["es"]]),
                ("La VPN se cae", [DESCRIPTION_Q["es"]]),
                ("Se cae", [priority_q("es")]),
                ("urgente", [severity_q("es")]),
                ("atras", [priority_q("es")]),
                ("atras", [DESCRIPTION_Q["es"]]),
                ("atras", [TITLE_Q["es"]]),
                ("Otra cosa", [DESCRIPTION_Q["es"]]),
                ("ayuda", [
                    "La descripción cuenta el problema con detalle: qué pasa, desde cuándo, a "
                    "quién afecta, qué se ha probado. Puedes escribir varias líneas en un mismo "
                    "mensaje (hasta 4.000 caracteres). Es obligatoria."
                ]),
                ("Sigue igual", [priority_q("es")]),
                ("cancelar", [Other("dialog_cancelled", {"wizard": "case"})]),
            ],
            user="sofia",
        )  # fmt: skip
    assert await cases(store) == []


# --- the contact ---------------------------------------------------------------------------


async def test_unlinked_room_asks_the_contact_and_tells_its_rooms(store: Store) -> None:
    await seed(store)
    pick = (
        "Hay varios contactos. ¿Cuál?\n"
        "1. *Ana García* · ana@example.com · Construcciones Norte\n"
        "2. *Ana Gómez* · agomez@example.com\n"
        "Responde con el número, o escribe otra búsqueda."
    )
    async with Chat(store, fixed_role=None, clock=clock) as chat:
        await run(
            chat,
            [
                ("agregar caso", [STARTED["es"], TITLE_Q["es"]]),
                ("La VPN se cae", [CONTACT_NONE]),
                ("nadie", [Other("answer_contact_not_found", {"typed": "nadie"}), CONTACT_NONE]),
                ("ana", [pick]),
                ("1", ["Contacto: *Ana García*", DESCRIPTION_Q["es"]]),
                ("atras", [pick]),
                ("atras", [CONTACT_NONE]),
                ("atras", [TITLE_Q["es"]]),
                ("La VPN se cae", [CONTACT_NONE]),
                ("ana garcia", ["Contacto: *Ana García*", DESCRIPTION_Q["es"]]),
                ("Se cae", [priority_q("es")]),
                ("ok", [severity_q("es")]),
                ("ok", [category_q("es")]),
                ("omitir", [Other("case_review", {"contact": "Ana García"})]),
            ],
            user="sofia",
            room=UNLINKED,
        )
        saved = await turn(chat, "guardar", user="sofia", room=UNLINKED)
    assert sorted((g.room, g.key) for g in saved) == [
        ("room-1", "notify_created"),
        ("room-2", "notify_created"),
        ("room-5", "detail_case"),
        ("room-5", "dialog_saved"),
    ]


async def test_a_save_whose_contact_was_deleted_stays_at_the_review(store: Store) -> None:
    await seed(store)
    async with Chat(store, fixed_role=None, clock=clock) as chat:
        steps: list[tuple[str, list[Expected]]] = [
            ("agregar caso", [STARTED["es"], TITLE_Q["es"]]),
            ("La VPN se cae", [CONTACT_NONE]),
            ("bruno", ["Contacto: *Bruno Díaz*", DESCRIPTION_Q["es"]]),
            ("Se cae", [priority_q("es")]),
            ("ok", [severity_q("es")]),
            ("ok", [category_q("es")]),
            ("omitir", [Other("case_review", {"contact": "Bruno Díaz"})]),
        ]
        await run(chat, steps, user="sofia", room=UNLINKED)
        async with store.sessions.begin() as s:
            await s.execute(delete(Contact).where(Contact.first_name == "Bruno"))
        gone: dict[str, Param] = {"reason": "contact_gone", "name": "Bruno Díaz", "step": 2}
        await run(
            chat,
            [
                ("guardar", [Other("dialog_save_failed", gone), Other("case_review")]),
                ("guardar", [Other("dialog_save_failed", gone), Other("case_review")]),
                ("editar 2", [Other("case_contact", {"current": "Bruno Díaz"})]),
                ("ana gomez",
                 ["Contacto: *Ana Gómez*", Other("case_review", {"contact": "Ana Gómez"})]),
                ("guardar", [Other("dialog_saved", {"number": "CAS-00001"}), Other("detail_case")]),
            ],
            user="sofia",
            room=UNLINKED,
        )  # fmt: skip
    assert [c.number for c in await cases(store)] == ["CAS-00001"]


# --- saving is idempotent, whatever the ids ----------------------------------------------------


async def test_a_save_finding_its_case_already_made_does_not_make_another(store: Store) -> None:
    ana = await seed(store)
    async with Chat(store, fixed_role=None, clock=clock) as chat:
        await run(chat, to_review("es"), user="sofia")
        # As if an earlier attempt at this very save had been committed: same dialog, same key.
        async with store.sessions.begin() as s:
            row = await s.scalar(select(DialogSession))
            assert row is not None
            key = CaseFlow(row, cast(DialogIO, None)).idempotency_key()
            await create_case(s, CaseDraft(ana, "La VPN se cae", idempotency_key=key))
        saved = await turn(chat, "guardar", user="sofia")
    assert saved[0].params == {"number": "CAS-00001", "kind": "case"}
    assert [c.number for c in await cases(store)] == ["CAS-00001"]


async def test_rocket_chat_sized_ids_save(store: Store) -> None:
    """Rocket.Chat ids (a 34-character direct room, 17-character user and thread ids) and the
    start time together are longer than the idempotency-key column."""
    ana = await seed(store)
    room, user, thread = "r" * 34, "u" * 17, "t" * 17
    async with store.sessions.begin() as s:
        s.add(ChatChannel(contact_id=ana, room_id=room, room_name="dm"))
    async with Chat(store, clock=clock) as chat:
        await run(chat, to_review("es"), user=user, room=room, thread=thread)
        saved = await turn(chat, "guardar", user=user, room=room, thread=thread)
    assert saved[0].params == {"number": "CAS-00001", "kind": "case"}
    [case] = await cases(store)
    assert case.idempotency_key is not None
    assert len(case.idempotency_key) <= 100


# --- roles -------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["es", "en"])
@pytest.mark.parametrize("user", ["vera", "carlos", "luis"])
async def test_only_support_and_admin_may_open_a_case(store: Store, locale: str, user: str) -> None:
    await seed(store)
    refused = rendered("forbidden", locale, role=ROLES[user], needed="soporte")
    async with Chat(store, locale=locale, fixed_role=None, clock=clock) as chat:
        await run(chat, [(WORDS[locale]["start"], [refused])], user=user)
        await run(
            chat, [(WORDS[locale]["start"], [STARTED[locale], TITLE_Q[locale]])], user="marta"
        )
    assert await cases(store) == []


# --- every step has its help, in both languages ------------------------------------------------


def test_every_step_has_help_and_every_question_has_a_template() -> None:
    renderer = Renderer()
    own = ["started", "title", "contact", "contact_pick", "contact_taken", "description"]
    own += ["priority", "severity", "category", "review"]
    for locale in ("es", "en"):
        missing = [s.value for s in S if not renderer.has(f"case_{s.value}_help", locale)]
        missing += [k for k in own if not renderer.has(f"case_{k}", locale)]
        assert missing == [], locale
    assert set(CaseFlow.editable) <= set(S)


def test_the_committed_diagram_is_current_and_every_step_reaches_the_review() -> None:
    path = diagram_path(CASE)
    assert path.name == "case.mmd"
    assert path.read_text(encoding="utf-8") == mermaid(CaseFlow), "run `python -m dialogs.diagram`"
    following: dict[str, set[str]] = {state.value: set() for state in S}
    for source, dest, _ in edges(CaseFlow):
        following[source].add(dest)
    for start in following:
        seen, todo = {start}, [start]
        while todo:
            for dest in following[todo.pop()] - seen:
                seen.add(dest)
                todo.append(dest)
        assert S.REVIEW in seen, start
        if start == S.TITLE:
            assert seen == set(following)
