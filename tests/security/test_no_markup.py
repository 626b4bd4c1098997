"""Data never turns into a mention, a link or formatting in Rocket.Chat (CONTRACT §4), fuzzed.

Hostile text (mentions, channels, URLs, host names, markdown, emoji short codes, control and
bidi characters) is put where people put text: contact names and accounts, vendor names,
titles, case descriptions, comments, chat file names, email subjects and attachment names.
It is then shown through the real commands and notifications, the reply templates and the
formatting helpers, and every reply is checked with ``tests.security.livecheck``, which
defines what "live" means for Rocket.Chat's parsers without using ``bot.chatfmt``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from email import policy
from email.message import EmailMessage
from importlib.resources import files

import jinja2
import jinja2.meta
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.chat import ChatUser, FileRef, Incoming, RoomRef
from bot.chatfmt import bold_literal, inline_code, literal
from bot.mail.ingest import MailIngest
from bot.render import Renderer, RenderError
from bot.storage import Store
from store import models as m
from store.services.catalogue import VendorData, upsert_vendor
from store.services.contacts import ContactData, upsert_contact
from store.services.documents import (
    CaseDraft,
    DocumentDraft,
    LineDraft,
    create_case,
    create_document,
)
from store.vocab import DocumentKind
from tests.chat import Chat
from tests.security.livecheck import (
    TAG_CLOSE,
    TAG_OPEN,
    WORD_JOINER,
    block_lines,
    live_in,
    normalized,
    problems,
    regions,
    tagged,
    visible,
)

# Whole constructs, so that each one is tried intact as well as cut up by the fuzzer.
PAYLOADS = [
    "@all", "@here", "@ana.garcia", " @user", "#general", " #canal-1", "http://evil.example/x",
    "https://a.b/c?d=1", "www.evil.com", "evil.com", "a@b.co", "mailto:a@b.co",
    "localhost:8080", "*bold*", "_it_", "~s~", "`code`", "```", "> ", "# ", "1. ", "- ",
    "---", "[x](http://y)", "![i](http://y/p.png)", "<http://y|x>", "<t:1630360800:R>",
    "||spoiler||", "+34600111222", "\\", "\\(x\\)", "\\[", "$$", ":x:", ":white_check_mark:",
    ":+1:", "<3", "color:#ff0000", "\x00", "\x1b[31m", "\x7f", "\x85", "\u202e", "\u2066",
    "\u2069", "\u200f", "\t", "é", "😀", " ", "#\ufe0f\u20e3",
]  # fmt: skip
SPECIALS = "@#:/.*_~`<>[]()|+\\$!-=\"' abc19"
# What the data may not hold: the tags' letters and the cut mark (so that these are always
# the chat side's), its own invisible markers, and lone surrogates (never valid text).
NOT_IN_DATA = "ZQJ…" + WORD_JOINER + "\u01c0"
piece = st.one_of(
    st.sampled_from(PAYLOADS),
    st.text(alphabet=SPECIALS, max_size=4),
    st.text(st.characters(exclude_characters=NOT_IN_DATA, exclude_categories=["Cs"]), max_size=3),
)
hostile = st.lists(piece, min_size=1, max_size=6).map("".join)
hostile_lines = st.lists(hostile, min_size=1, max_size=4).map("\n".join)
# A mail header or a file name on the wire cannot hold line breaks.
one_line = hostile.map(lambda text: " ".join(text.splitlines()) or "x")
# Attachment names lose everything up to the last "/" or "\" (they are names, never paths:
# test_names_never_paths); here they are names only.
plain_name = one_line.map(lambda text: text.replace("/", "").replace("\\", "") or "x")

CLASSIC = "@all mirad #general *x* `y` https://evil.example :x: <t:1:R> ||s|| @here"


# --- the formatting helpers ----------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(data=hostile_lines)
def test_literal_bold_and_code_leave_nothing_live(data: str) -> None:
    shown = {
        "literal": literal(tagged(data), max_len=None),
        "multiline": literal(tagged(data), multiline=True, max_len=None),
        "bold": bold_literal(tagged(data), max_len=None),
        "code": inline_code(tagged(data)),
    }
    for how, text in shown.items():
        assert regions(text), how
        assert problems(text, [data]) == [], how


def test_the_checker_sees_what_rocketchat_would_act_on() -> None:
    """The checker is not blind: raw data is live, escaped look-alikes are not."""
    for raw in ["@all", "#general", "http://x", "evil.com", "*b*", "a_b", ":x:", "<t:1>",
                "[a](b)", "||s||", "+34", "\\(", "localhost", "`c`", "x\n> quote"]:  # fmt: skip
        assert live_in(raw), raw
    assert live_in(f"{WORD_JOINER}@{WORD_JOINER}all {WORD_JOINER}\\*b{WORD_JOINER}\\*") == []
    assert problems(f"{TAG_OPEN}a@b{TAG_CLOSE}", ["a@b"]) == ["mention or channel live in 'a@b'"]
    assert problems(f"x {TAG_OPEN}ok{TAG_CLOSE}", ["other"]) == [
        "shown as 'ok', which is none of the data"
    ]
    assert problems("\u202e", []) == ["control or bidi character in '\\u202e'"]
    assert block_lines("a\n> b\n1. c\nd") == ["> b", "1. c"]


# --- every reply template -------------------------------------------------------------------


def _template_params() -> dict[tuple[str, str], set[str]]:
    """Each template's undeclared names, from its source (the parameters it reads)."""
    parser = jinja2.Environment()
    # The chat filters (bot.render) only need to exist for the source to compile.
    for name in ("money", "qty", "rate", "date", "datetime", "bold", "code", "lit"):
        parser.filters[name] = str
    found = {}
    root = files("templates")
    for folder in root.iterdir():
        if not folder.is_dir() or folder.name.startswith(("_", ".")):
            continue
        for item in folder.iterdir():
            if item.name.endswith(".j2") and not item.name.startswith("_"):
                names = jinja2.meta.find_undeclared_variables(parser.parse(item.read_text()))
                found[folder.name, item.name.removesuffix(".j2")] = names
    return found


TEMPLATES = _template_params()
# One renderer per language: Jinja keeps 400 compiled templates, fewer than both together.
RENDERERS = {locale: Renderer(default_locale=locale) for locale, _key in TEMPLATES}
LINE_BREAK = re.compile("\r\n|[\r\n\v\f\x85\u2028\u2029]")


class Text(str):
    """A text parameter; a template that loops over the parameter wants a list instead."""

    __slots__ = ()

    def __iter__(self) -> Iterator[str]:
        raise TypeError("not a list")


def _render(key: str, locale: str, names: set[str], value: str) -> str | None:
    try:
        return RENDERERS[locale].render(key, {name: Text(value) for name in names}, locale)
    except (RenderError, jinja2.TemplateError, TypeError, ValueError, AttributeError):
        return None  # a parameter that must be a number, a date, a mapping or a list


@settings(max_examples=12, deadline=None)
@given(data=hostile_lines)
@example(data=CLASSIC)
@example(data="> cita\n# título\n- punto\n1. uno\n```\n|a|b|")
def test_every_template_shows_text_parameters_inertly(data: str) -> None:
    """Every template whose parameters all take text, given hostile text for each of them;
    untagged too, against text of as many plain lines, for data at the start of a line."""
    plain = "\n".join("x" for _ in LINE_BREAK.split(data))
    rendered = 0
    for (locale, key), names in TEMPLATES.items():
        text = _render(key, locale, names, tagged(data))
        if text is None:
            continue
        rendered += 1
        assert problems(text, [data]) == [], (locale, key)
        untagged, twin = _render(key, locale, names, data), _render(key, locale, names, plain)
        if untagged is not None and twin is not None:  # (text a template may refuse: "")
            assert len(block_lines(untagged)) == len(block_lines(twin)), (locale, key, untagged)
    assert rendered >= len(TEMPLATES) // 2  # most templates were really tried


# --- through the chat: commands, listings, details and notifications -----------------------

EXAMPLES = itertools.count(1)
SHOWN: set[str] = set()  # every datum put in the database so far (a search may list them)


async def _world(store: Store, n: int, data: dict[str, str]) -> tuple[str, str]:
    """A contact with hostile data linked to two rooms, a PO and a case; their numbers."""
    async with store.sessions.begin() as s:
        contact, _ = await upsert_contact(
            s,
            ContactData(
                tagged(data["name"]), "Pérez", email=f"c{n}@example.test",
                account=tagged(data["account"]),
            ),
        )  # fmt: skip
        vendor, _ = await upsert_vendor(s, VendorData(tagged(data["vendor"])))
        for room in (f"r{n}-a", f"r{n}-b"):
            s.add(m.ChatChannel(contact_id=contact.id, room_id=room, room_name=room))
        line = [LineDraft("Tornillo", Decimal(3), Decimal("0.50"))]
        po, _ = await create_document(
            s,
            DocumentDraft(
                DocumentKind.PURCHASE_ORDER, contact.id, tagged(data["title"]),
                dt.date(2026, 11, 28), line, vendor_id=vendor.id,
            ),
        )  # fmt: skip
        case, _ = await create_case(
            s, CaseDraft(contact.id, tagged(data["case"]), description=tagged(data["description"]))
        )
        return po.number, case.number


def _mail(n: int, subject: str, attachment: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"c{n}@example.test"
    message["To"] = "crm@crm.localhost"
    message["Subject"] = tagged(subject)
    message["Message-ID"] = f"<fuzz-{n}@example.test>"
    message.set_content("Adjunto.")
    message.add_attachment(
        b"%PDF-1.4", maintype="application", subtype="pdf", filename=tagged(attachment)
    )
    return message.as_bytes(policy=policy.SMTP)


@pytest.fixture
async def chat(sqlite_store: Store) -> AsyncIterator[Chat]:
    """One chat world for all the examples of a test (each example has rooms of its own)."""
    async with Chat(sqlite_store) as opened:
        yield opened


async def _scenario(chat: Chat, n: int, data: dict[str, str]) -> list[str]:
    """Everything the two rooms hear while the data is searched, shown, listed and told."""
    store = chat.store
    po, case = await _world(store, n, data)
    room, other = f"r{n}-a", f"r{n}-b"
    before = len(chat.transport.sent)
    for i, text in enumerate([f"buscar c{n}@example.test", "contacto", "compras", f"ver {po}",
                              "casos", f"ver {case}", f"comentar {tagged(data['comment'])}",
                              "comentarios"]):  # fmt: skip
        await chat.say(text, room=room, message_id=f"m{n}-{i}")  # ids unique in the database
    blob = await store.files.put(b"hostile file")
    await chat.app.inbox.submit(
        Incoming(
            message_id=f"file-{n}",
            room=RoomRef(id=room, name=room, kind="c"),
            user=ChatUser(id="u-ana", username="ana", name="Ana"),
            text="",
            file=FileRef(id=f"f{n}", name=tagged(data["file"]), size=blob.size,
                         sha256=blob.sha256),
        )
    )  # fmt: skip
    ingest = MailIngest(
        store.sessions, store.files, max_bytes=1 << 20, mail_domain="crm.localhost",
        on_commit=chat.app.notifier.wake,
    )  # fmt: skip
    result = await ingest.ingest(_mail(n, data["subject"], data["attachment"]))
    assert result.email_id is not None
    assert result.contact_ids
    for i, text in enumerate(["archivos", "emails", f"estado {po} enviada"]):
        await chat.say(text, room=room, message_id=f"m{n}-after-{i}")
    await chat.app.notifier.drain()
    sent = chat.transport.sent[before:]
    return [message.text for message in sent if message.room_id in (room, other)]


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(
    name=hostile, account=hostile, vendor=hostile, title=hostile, case=hostile,
    description=hostile_lines, comment=hostile_lines, file=one_line, subject=one_line,
    attachment=plain_name,
)  # fmt: skip
@example(
    name="@all", account="#general", vendor="*Acme* S.A.", title="[x](http://evil.example)",
    case=":x: caída", description="> cita\n# título\n1. uno\n@here", comment=CLASSIC,
    file="../../etc/passwd", subject="Re: <http://evil.example|pulsa> ||x||",
    attachment="factura_v2.final.pdf",
)  # fmt: skip
async def test_data_shown_by_commands_and_notices_is_never_live(
    chat: Chat,
    name: str,
    account: str,
    vendor: str,
    title: str,
    case: str,
    description: str,
    comment: str,
    file: str,
    subject: str,
    attachment: str,
) -> None:
    data = {
        "name": name, "account": account, "vendor": vendor, "title": title, "case": case,
        "description": description, "comment": comment, "file": file, "subject": subject,
        "attachment": attachment,
    }  # fmt: skip
    SHOWN.update(data.values())
    texts = await _scenario(chat, next(EXAMPLES), data)
    wrong = [problem for text in texts for problem in problems(text, SHOWN)]
    assert wrong == []
    shown = {normalized(visible(region)) for text in texts for region in regions(text)}
    never_shown = {key: value for key, value in data.items() if normalized(value) not in shown}
    assert never_shown == {}, texts  # each datum was really on screen somewhere


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(comment=hostile_lines)
@example(comment="> cita\n# título\n- punto\n1. uno\n```\n---\n|a|b|\n$$x$$\n\\[x\\]")
async def test_a_comment_told_to_other_rooms_starts_no_line_with_markup(
    chat: Chat, comment: str
) -> None:
    """The notice's body is the comment alone, line for line: no tag shields its lines."""
    n = next(EXAMPLES)
    async with chat.store.sessions.begin() as s:
        contact, _ = await upsert_contact(s, ContactData("Ana", "Gil", email=f"g{n}@example.test"))
        for room in (f"c{n}-a", f"c{n}-b"):
            s.add(m.ChatChannel(contact_id=contact.id, room_id=room, room_name=room))
    await chat.say(f"comentar x\n{comment}", room=f"c{n}-a", message_id=f"c{n}")
    (notice,) = [s.text for s in chat.transport.sent if s.room_id == f"c{n}-b"]
    async with chat.store.sessions() as s:
        stored = await s.scalar(select(m.Comment.text).where(m.Comment.contact_id == contact.id))
    assert stored is not None
    body = notice.split("\n", 1)[1]  # after "*ana* comentó en *Ana Gil*:"
    assert block_lines(body) == []
    assert live_in(f"x\n{body}") == []
    assert normalized(visible(body)) == normalized(stored)
