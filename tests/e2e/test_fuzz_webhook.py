"""Fuzzing `POST /webhooks/rocketchat` (and the signed email hook) over real HTTP on loopback,
on SQLite and PostgreSQL (CONTRACT §3, §4).

Bodies with wrong types, missing and extra fields, huge strings and Unicode edge cases. The
invariants: every answer is 200 `{}` or a 4xx whose `error` names the problem — never a 5xx
or a crash; a refused body stores nothing; an accepted one is answered, never with the
internal-error reply, and no reply carries a live mention, link or markup that came from the
input (judged by bot.chatfmt's model of what Rocket.Chat acts on, the one `contains_trigger`
uses).

The example counts come from the Hypothesis profiles registered here: `fuzz-ci` (bounded,
derandomised, the default) and `fuzz-deep` (`CRMBOT_FUZZ_PROFILE=fuzz-deep` for a long local
run). The dialog and import fuzzers share them.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import os
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.chat import Param, decode_params
from bot.chatfmt import _TRIGGERS
from bot.render import Renderer
from bot.server import build_app
from store.db import session_factory
from store.models import Comment, DialogSession, Email, Outbox, ProcessedMessage
from tests.databases import TestDatabase
from tests.e2e.test_webhook import BOT_ID, TOKEN, QueueTransport, make_settings, serving
from webhooks.email import SIGNATURE_HEADER, sign
from webhooks.rocketchat import MAX_BODY

# --- Hypothesis profiles ----------------------------------------------------------------

# Examples share one server and database per test: every invariant below is checked as a
# difference before/after one request, and message ids are made unique, so examples cannot
# see each other's effects. That is why the function-scoped fixture check is suppressed.
_SUPPRESSED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
settings.register_profile(
    "fuzz-ci", max_examples=25, derandomize=True, deadline=None, suppress_health_check=_SUPPRESSED
)
settings.register_profile(
    "fuzz-deep", max_examples=400, deadline=None, suppress_health_check=_SUPPRESSED
)
FUZZ = settings.get_profile(os.environ.get("CRMBOT_FUZZ_PROFILE", "fuzz-ci"))


def scaled(fraction: float) -> settings:
    """The profile with a share of its examples, for the costlier properties."""
    return settings(FUZZ, max_examples=max(5, int(FUZZ.max_examples * fraction)))


# --- text strategies shared with the dialog fuzzer --------------------------------------

# Characters that render differently from what they are, or break naive code: bidi
# overrides and marks, zero-width characters, BOM, controls (ESC, DEL, NEL, CSI), odd line
# breaks, emoji sequences, combining marks (alone too), a noncharacter, the last code point
# and letters whose case folding changes their length.
# Strings no database here can store: NUL (PostgreSQL text) and lone surrogates (not UTF-8;
# a client that cut an emoji in half, carried in JSON as `\ud83d`); the edge cleans them.
UNSTORABLE = ["\x00", "\ud800", "\udfff", "\ud83d"]
# A search ending in the last code point, or in the one before the surrogates: the prefix
# range's upper bound must skip the surrogates, or be left out.
SEARCH_BREAKERS = ["\U0010ffff", "\ud7ff"]
UNICODE_EDGES = [
    "\u202e", "\u202a", "\u2066", "\u2069", "\u200f", "\u061c",
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",
    "\x1b", "\x7f", "\x85", "\x9b",
    "\r\n", "\r", "\u2028", "\u2029", "\t", "\v",
    "😀", "👩\u200d👩\u200d👧", "#\ufe0f\u20e3", "🇪🇸",
    "e\u0301", "\u0301", "Z\u0338\u0322\u034e\u0344",
    "\ufffe", "\ufffd", "ß", "ﬁ", "İ", *SEARCH_BREAKERS,
]  # fmt: skip
# What a webhook body may carry besides: the edge cleans it before anything is stored, so
# only the webhook fuzzers use it (the dialog and import fuzzers start past the edge).
WIRE_EDGES = UNICODE_EDGES + UNSTORABLE
# Any character but NUL (Hypothesis' text leaves out surrogates already).
storable_chars = st.characters(exclude_categories=["Cs"], exclude_characters=["\x00"])
# What Rocket.Chat would turn into a mention, link, timestamp or markup if shown raw.
TRIGGERS = [
    "@all", "@here", "@ana", "#general", "https://evil.test/x", "http://localhost:8080",
    "evil.test", "www.evil.test", "a@b.test", "[x](https://e.test)", "![i](https://e.test/i.png)",
    "*bold*", "_it_", "~st~", "`code`", "```\nfence\n```", "> quote", "# head", "- item",
    "1. item", "<https://e.test|click>", "<t:1700000000:R>", "||spoiler||", "+34600000000",
    "\\(x^2\\)", "$$x$$", ":smile:", "<!channel>", "---", "| a | b |",
]  # fmt: skip
# Formula-injection strings: data to a spreadsheet, never to the bot.
FORMULAS = ["=1+1", '=HYPERLINK("https://e.test")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"]

edge_chars = st.sampled_from(UNICODE_EDGES)
wire_edge_chars = st.sampled_from(WIRE_EDGES)
triggers = st.sampled_from(TRIGGERS + FORMULAS)
plain = st.text(storable_chars, max_size=12)
fragments = st.one_of(plain, edge_chars, triggers)
wire_fragments = st.one_of(plain, wire_edge_chars, triggers)


def fuzz_text(max_parts: int = 10, *, wire: bool = False) -> st.SearchStrategy[str]:
    """Text made of plain words, Unicode edge cases and would-be triggers; ``wire`` adds
    what only a webhook body can carry (NUL, lone surrogates)."""
    return st.lists(wire_fragments if wire else fragments, max_size=max_parts).map("".join)


def utf8(text: str) -> bytes:
    """``text`` as bytes; a lone surrogate is written as the bytes a careless encoder emits."""
    return text.encode("utf-8", "surrogatepass")


def big_text(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    """A long run of one fragment (cheap to generate at hundreds of kilobytes)."""
    unit = st.one_of(edge_chars, triggers, st.text(storable_chars, min_size=1, max_size=3))
    return st.tuples(unit, st.integers(min_size, max_size)).map(
        lambda pair: (pair[0] * (pair[1] // len(pair[0]) + 1))[: pair[1]]
    )


# --- bodies with a known expected answer -------------------------------------------------

REQUIRED = ("message_id", "user_id", "user_name", "channel_id")
OPTIONAL_TEXT = ("channel_name", "text", "tmid")
OBJECTS = ("room", "user", "message")
KNOWN = {"token", "bot", "isEdited", *REQUIRED, *OPTIONAL_TEXT, *OBJECTS}
# Commands that put what was typed into the reply, so the escaping is actually exercised.
ECHOING = [
    "",
    "buscar ",
    "vincular ",
    "ver ",
    "comentar ",
    "estado OC-1 ",
    "ayuda ",
    "!",
    "@crmbot ",
]

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
not_a_string = st.one_of(
    st.booleans(), st.integers(), st.floats(allow_nan=False), st.lists(json_scalars, max_size=2),
    st.dictionaries(st.text(max_size=3), json_scalars, max_size=2),
)  # fmt: skip
not_an_object = st.one_of(st.booleans(), st.integers(), st.text(max_size=5),
                          st.lists(json_scalars, max_size=2))  # fmt: skip
ids = itertools.count()


@dataclass(frozen=True)
class Case:
    """A body and what the contract says must come back: status, and the field an error names."""

    body: dict[str, Any]
    status: int
    names: str = ""  # a 400 names this field
    skipped: bool = False  # 200 and nothing stored: the bot's own, another bot's, an edit

    @property
    def addressed(self) -> bool:
        """For the bot by CONTRACT §4: a direct room, or text starting with `!`."""
        room = self.body.get("room")
        kind = room.get("t") if isinstance(room, dict) else None
        if kind not in ("c", "p", "d", "l"):
            kind = "c" if self.body.get("channel_name") else "d"  # only DMs have no name
        text = self.body.get("text")
        return kind == "d" or (isinstance(text, str) and text.strip().startswith("!"))


def _unique(value: str) -> str:
    # Examples share a database: a repeated message id would be a (correct) duplicate.
    return f"{value}-{next(ids)}"


@st.composite
def deliveries(draw: st.DrawFn) -> Case:
    """A `sendMessage`-like body, then at most one mutation, with the answer it must get."""
    body: dict[str, Any] = {
        "token": TOKEN,
        "bot": False,
        "channel_id": draw(st.sampled_from(["dm-fuzz", "ch-fuzz"])) + draw(fuzz_text(3, wire=True)),
        "message_id": _unique(draw(fuzz_text(3, wire=True))),
        "timestamp": "2025-05-01T10:00:00.000Z",
        "user_id": "u-" + draw(fuzz_text(3, wire=True)),
        "user_name": "ana" + draw(fuzz_text(2, wire=True)),
        "text": draw(st.sampled_from(ECHOING)) + draw(fuzz_text(wire=True)),
        "siteUrl": "https://chat.example.com",
    }
    if body["channel_id"].startswith("ch"):
        body["channel_name"] = "ventas" + draw(fuzz_text(2, wire=True))
    if draw(st.booleans()):
        body["tmid"] = draw(fuzz_text(3, wire=True))
    if draw(st.integers(0, 9)) == 0:  # a fileUploaded-like body: documents, no file
        body["user"] = {"name": draw(fuzz_text(4, wire=True)), "_id": body["user_id"]}
        body["room"] = {"t": draw(st.sampled_from(["c", "p", "d", "l", "x", ""]))}
        body["message"] = {"tmid": draw(fuzz_text(2, wire=True)), "attachments": []}
    mutation = draw(
        st.sampled_from(["none", "wrong-type", "null", "missing", "extra", "token", "skip"])
    )
    return _mutated(draw, body, mutation)


def _mutated(draw: st.DrawFn, body: dict[str, Any], mutation: str) -> Case:
    match mutation:
        case "wrong-type":
            field = draw(st.sampled_from([*REQUIRED, *OPTIONAL_TEXT, *OBJECTS]))
            bad: object = draw(not_an_object if field in OBJECTS else not_a_string)
            if field in OBJECTS and isinstance(bad, dict):
                bad = [bad]
            return Case(body | {field: bad}, 400, names=field)
        case "null":
            field = draw(st.sampled_from([*REQUIRED, *OPTIONAL_TEXT, *OBJECTS]))
            status = 400 if field in REQUIRED else 200  # null means absent for optional ones
            return Case(body | {field: None}, status, names=field if status == 400 else "")
        case "missing":
            field = draw(st.sampled_from(REQUIRED))
            if draw(st.booleans()):
                return Case(body | {field: ""}, 400, names=field)  # empty counts as missing
            return Case({k: v for k, v in body.items() if k != field}, 400, names=field)
        case "extra":
            extra = draw(
                st.dictionaries(fuzz_text(3, wire=True), json_values, min_size=1, max_size=5)
            )
            return Case({k: v for k, v in extra.items() if k not in KNOWN} | body, 200)
        case "token":
            token = draw(
                st.one_of(st.none(), not_a_string, fuzz_text(3, wire=True), st.just(TOKEN + " "))
            )
            if token == TOKEN:
                return Case(body, 200)
            if draw(st.booleans()):
                body = {k: v for k, v in body.items() if k != "token"}
            else:
                body = body | {"token": token}
            return Case(body, 401)
        case "skip":
            how = draw(st.sampled_from(["own-id", "own-name", "bot", "edit"]))
            options: dict[str, dict[str, Any]] = {
                "own-id": {"user_id": BOT_ID},
                "own-name": {"user_name": draw(st.sampled_from(["crmbot", "CRMBOT", "CrmBot"]))},
                "bot": {"bot": draw(st.sampled_from([True, 1, "yes", [0], {"i": "x"}]))},
                "edit": {"isEdited": True},
            }
            return Case(body | options[how], 200, skipped=True)
    return Case(body, 200)


# --- the server under test ---------------------------------------------------------------


@dataclass
class Counts:
    processed: int
    outbox: int
    dialogs: int
    comments: int
    emails: int


@dataclass
class Server:
    url: str
    http: aiohttp.ClientSession
    transport: QueueTransport
    database: TestDatabase

    async def post(
        self, raw: bytes, path: str = "/webhooks/rocketchat", **headers: str
    ) -> tuple[int, str, object]:
        async with self.http.post(
            self.url + path,
            data=io.BytesIO(raw),  # sized: Content-Length is sent
            headers={"Content-Type": "application/json", **headers},
        ) as response:
            text = await response.text()
            return response.status, response.content_type, json.loads(text)

    async def counts(self) -> Counts:
        async with session_factory(self.database.engine)() as session:
            values = [
                int(await session.scalar(select(func.count()).select_from(model)) or 0)
                for model in (ProcessedMessage, Outbox, DialogSession, Comment, Email)
            ]
        return Counts(*values)

    async def replies_since(self, seq: int) -> list[tuple[str, Outbox]]:
        """Every reply queued after outbox row ``seq``, as sent, with its row."""
        async with session_factory(self.database.engine)() as session:
            rows = list(await session.scalars(select(Outbox).where(Outbox.seq > seq)))
        wanted = {row.msg_id: row for row in rows}
        sent: dict[str, str] = {}
        async with asyncio.timeout(10):  # a guard against hanging, not a timing assumption
            while len(sent) < len(wanted):
                message = await self.transport.queue.get()
                if message.msg_id in wanted:
                    sent[message.msg_id] = message.text
        return [(sent[msg_id], row) for msg_id, row in wanted.items()]

    async def last_seq(self) -> int:
        async with session_factory(self.database.engine)() as session:
            return int(await session.scalar(select(func.max(Outbox.seq))) or 0)


EMAIL_SECRET = "fuzz-email-secret"


@pytest.fixture
async def server(database: TestDatabase, tmp_path: Path) -> AsyncIterator[Server]:
    transport = QueueTransport()
    settings_ = make_settings(
        database.url,
        tmp_path / "files",
        email_webhook_secret=EMAIL_SECRET,
        max_file_mb=1,
        default_role="admin",  # every command runs, so what was typed reaches the replies
    )
    app = build_app(settings_, transport_factory=transport.factory)
    async with serving(app) as (_runner, url), aiohttp.ClientSession() as http:
        yield Server(url, http, transport, database)


# --- what "no live trigger from the input" means for a reply ----------------------------

RENDERER = Renderer()
_CODE_LIKE = re.compile(r"[a-z][a-z0-9_]*")
_NOT_PLAIN = re.compile(r"[^A-Za-z0-9 ]")


def neutral(value: Param) -> Param:
    """``value`` with every character that could form markup replaced by ``x``.

    Code-like strings (`purchase`, `sales_order`) are kept: templates branch on them.
    """
    if isinstance(value, str):
        return value if _CODE_LIKE.fullmatch(value) else _NOT_PLAIN.sub("x", value)
    if isinstance(value, list):
        return [neutral(item) for item in value]
    if isinstance(value, dict):
        return {key: neutral(item) for key, item in value.items()}
    return value


def markup_signature(text: str) -> tuple[int, ...]:
    """How many live constructs ``text`` holds, by kind (chatfmt's model of Rocket.Chat)."""
    counts = [len(pattern.findall(text)) for pattern in _TRIGGERS]
    counts += [
        sum(1 for i, c in enumerate(text) if c == marker and text[i - 1 : i] != "\\")
        for marker in "`*_~"
    ]
    return tuple(counts)


def assert_no_markup_from_input(text: str, row: Outbox) -> None:
    """The reply has exactly the constructs its template has with harmless parameters."""
    params = decode_params(row.params)
    assert text == RENDERER.render(row.key, params, row.locale)  # what was sent is the render
    harmless = RENDERER.render(row.key, {k: neutral(v) for k, v in params.items()}, row.locale)
    assert markup_signature(text) == markup_signature(harmless), (row.key, params, text)


# --- the properties ----------------------------------------------------------------------


def _error_of(answer: object) -> str:
    assert isinstance(answer, dict), answer
    assert set(answer) == {"error"}, answer
    error = answer["error"]
    assert isinstance(error, str), answer
    assert error.strip(), answer
    return error


@given(case=deliveries())
@FUZZ
async def test_any_delivery_gets_its_documented_answer(server: Server, case: Case) -> None:
    before, seq = await server.counts(), await server.last_seq()
    raw = json.dumps(case.body).encode()  # lone surrogates travel as \ud800 escapes
    status, content_type, answer = await server.post(raw)
    assert (status, content_type) == (case.status, "application/json"), (case, answer)
    after = await server.counts()
    if status != 200:
        error = _error_of(answer)
        if case.names:
            assert f"`{case.names}`" in error, (case, error)
        assert after == before  # nothing stored for a refused body
        return
    assert answer == {}
    if case.skipped:
        assert after == before  # not even recorded as processed
        return
    assert after.processed == before.processed + 1
    replies = await server.replies_since(seq)
    if case.addressed:
        assert replies, case  # the bot answers every message meant for it
    for text, row in replies:
        assert row.key != "error_internal", (case, text)
        assert_no_markup_from_input(text, row)


nesting = st.integers(1, 200) | st.integers(5_000, 50_000)
raw_bodies = st.one_of(
    st.binary(max_size=200),
    fuzz_text(6, wire=True).map(utf8),
    json_values.map(lambda value: json.dumps(value).encode()),
    # Nesting either well within or far beyond what the JSON parser recurses into: near
    # the recursion limit the answer depends on the stack depth, 401 or 400 both clear.
    nesting.map(lambda depth: b"[" * depth + b"]" * depth),
    nesting.map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
)


@given(raw=raw_bodies)
@FUZZ
async def test_raw_bodies_are_refused_clearly(server: Server, raw: bytes) -> None:
    before = await server.counts()
    status, _, answer = await server.post(raw)
    error = _error_of(answer)
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        parsed = None
    if isinstance(parsed, dict):
        assert status == 401  # an object without the token never gets further
    else:
        assert (status, "JSON" in error) == (400, True), (raw[:80], answer)
    assert await server.counts() == before


@given(size=st.integers(MAX_BODY - 256, MAX_BODY + 256), valid=st.booleans(), fill=wire_edge_chars)
@scaled(0.4)
async def test_the_size_limit_is_exact(server: Server, size: int, valid: bool, fill: str) -> None:
    """Up to 1 MiB is read and judged; one byte more is 413, and nothing is stored."""
    before, seq = await server.counts(), await server.last_seq()
    body = {"token": TOKEN, "channel_id": "dm-big", "message_id": _unique("big"),
            "user_id": "u-big", "user_name": "ana", "text": "buscar "}  # fmt: skip
    if not valid:
        body.pop("user_id")
    raw = json.dumps(body).encode()
    # The text grows to the size wanted: whole escaped edge characters, then spaces.
    filler = json.dumps(fill)[1:-1].encode()
    room = size - len(raw)
    grown = filler * (room // len(filler)) + b" " * (room % len(filler))
    raw = raw[:-2] + grown + raw[-2:]  # inside the closing `"}` of `text`
    assert len(raw) == size
    status, _, answer = await server.post(raw)
    if size > MAX_BODY:
        assert (status, answer) == (413, {"error": f"body larger than {MAX_BODY} bytes"})
        assert await server.counts() == before
        return
    if not valid:
        assert status == 400
        assert "`user_id`" in _error_of(answer)
        assert await server.counts() == before
        return
    assert (status, answer) == (200, {})
    (text, row), *_ = await server.replies_since(seq)
    assert row.key != "error_internal"
    assert len(text) < 10_000  # echoed text is cut short, not posted whole


# --- the email hook -----------------------------------------------------------------------


@given(
    raw=st.one_of(st.binary(max_size=300), fuzz_text(8, wire=True).map(utf8)),
    signed=st.sampled_from(["right", "wrong", "none", "stale"]),
    content_type=st.sampled_from(["message/rfc822", "text/plain", "application/json"]),
)
@scaled(0.6)
async def test_email_bodies_get_a_clear_answer(
    server: Server, raw: bytes, signed: str, content_type: str
) -> None:
    before = await server.counts()
    now = int(time.time())
    headers = {"Content-Type": content_type}
    if signed != "none":
        secret = EMAIL_SECRET if signed != "wrong" else "not-the-secret"
        headers[SIGNATURE_HEADER] = sign(
            secret.encode(), now - (900 if signed == "stale" else 0), raw
        )
    status, _, answer = await server.post(raw, "/webhooks/email", **headers)
    after = await server.counts()
    assert status in (200, 400, 401, 413, 415), answer
    if content_type != "message/rfc822":
        assert status == 415
    elif signed != "right":
        assert status == 401
    if status != 200:
        _error_of(answer)
        assert after == before
        return
    assert isinstance(answer, Mapping)
    assert set(answer) == {"email_id", "duplicate"}
    assert after.emails == before.emails + (0 if answer["duplicate"] else 1)


# --- found by fuzzing ---------------------------------------------------------------------


async def test_text_the_database_cannot_store_is_cleaned_at_the_edge(server: Server) -> None:
    answers = []
    for char in UNSTORABLE:
        seq = await server.last_seq()
        body = {"token": TOKEN, "channel_id": "dm-odd", "message_id": _unique("odd"),
                "user_id": "u-odd", "user_name": f"ana{char}", "text": f"buscar ana{char}",
                "tmid": f"t{char}"}  # fmt: skip
        status, _, _answer = await server.post(json.dumps(body).encode())
        keys = [row.key for _, row in await server.replies_since(seq)] if status == 200 else []
        answers.append((status, keys))
    assert all(status == 200 and "error_internal" not in keys for status, keys in answers), answers


async def test_a_search_ending_in_the_last_code_points_is_answered(server: Server) -> None:
    answers = []
    for typed in ("buscar ana\U0010ffff", "vincular \U0010ffff", "buscar \ud7ff"):
        seq = await server.last_seq()
        body = {"token": TOKEN, "channel_id": "dm-search", "message_id": _unique("search"),
                "user_id": "u-search", "user_name": "ana", "text": typed}  # fmt: skip
        status, _, _answer = await server.post(json.dumps(body).encode())
        keys = [row.key for _, row in await server.replies_since(seq)] if status == 200 else []
        answers.append((status, keys))
    assert all(status == 200 and "error_internal" not in keys for status, keys in answers), answers
