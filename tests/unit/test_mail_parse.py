"""bot.mail.parse, headers, text and match: limits, degradation, names, ids, matching keys."""

from __future__ import annotations

import datetime as dt
import unicodedata
from email.message import EmailMessage

import pytest

from bot.mail import parse as parse_module
from bot.mail.headers import message_id_key, message_ids, synthetic_message_id
from bot.mail.match import (
    INBOUND,
    OUTBOUND,
    first_case,
    is_own,
    match_keys,
    plus_contact_id,
    record_numbers,
)
from bot.mail.parse import (
    TOO_COMPLEX,
    TOO_LARGE,
    Limits,
    MailRefused,
    ParsedMail,
    parse_mail,
)
from bot.mail.text import display_name, html_to_text
from tests.data.mail import corpus

DOMAIN = "crm.localhost"


def storable(text: str) -> bool:
    """What PostgreSQL and the chat accept: valid UTF-8, no NUL."""
    text.encode("utf-8")  # raises on a lone surrogate
    return "\x00" not in text


def mail(**headers: str) -> EmailMessage:
    message = EmailMessage()
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("cuerpo")
    return message


@pytest.mark.parametrize("case", corpus.corpus(), ids=lambda case: case.name)
def test_hostile_corpus_is_refused_or_readable(case: corpus.Case) -> None:
    if case.refused:
        with pytest.raises(MailRefused) as refused:
            parse_mail(case.raw)
        assert refused.value.reason == case.refused
        return
    parsed = parse_mail(case.raw)
    texts = [parsed.subject, parsed.body, parsed.message_id, *(a.name for a in parsed.attachments)]
    texts += [address.shown for address in (*parsed.sender, *parsed.to, *parsed.cc)]
    assert all(storable(text) for text in texts)
    assert case.expect_in_body in parsed.body
    assert case.expect_subject in parsed.subject
    assert len(parsed.body) <= Limits().max_body_chars
    for attachment in parsed.attachments:
        assert attachment.name
        assert len(attachment.name) <= 120
        assert "/" not in attachment.name
        assert "\\" not in attachment.name
        assert attachment.name.strip(" .") == attachment.name
        assert all(unicodedata.category(ch)[0] != "C" for ch in attachment.name)
    if case.attachments is not None:
        assert len(parsed.attachments) == case.attachments
    if case.names:
        assert tuple(a.name for a in parsed.attachments) == case.names


def test_size_limit_refuses_before_parsing() -> None:
    raw = mail(From="a@example.org").as_bytes()
    with pytest.raises(MailRefused) as refused:
        parse_mail(raw, Limits(max_bytes=len(raw) - 1))
    assert refused.value.reason == TOO_LARGE
    assert parse_mail(raw, Limits(max_bytes=len(raw))).body == "cuerpo"


@pytest.mark.parametrize(("depth", "refused"), [(20, False), (21, True)])
def test_depth_limit_is_twenty_levels(depth: int, refused: bool) -> None:
    # nested_multipart(n) puts the text part n levels below the message (depth n).
    raw = corpus.nested_multipart(depth)
    if refused:
        with pytest.raises(MailRefused, match="nested deeper than 20"):
            parse_mail(raw)
    else:
        assert parse_mail(raw).body == "bottom"


@pytest.mark.parametrize(("parts", "refused"), [(199, False), (200, True)])
def test_part_limit_counts_every_part(parts: int, refused: bool) -> None:
    # The message itself is a part: 199 children make 200 parts, 200 children 201.
    raw = corpus.many_parts(parts)
    if refused:
        with pytest.raises(MailRefused) as error:
            parse_mail(raw)
        assert error.value.reason == TOO_COMPLEX
    else:
        assert len(parse_mail(raw).attachments) == 50


def test_attachments_over_the_limit_are_dropped_in_order() -> None:
    parsed = parse_mail(corpus.many_parts(60, filename=True))
    assert [a.name for a in parsed.attachments] == [f"f{n}.bin" for n in range(50)]
    assert parsed.dropped_attachments == 10
    assert parsed.attachments[0].data == b"p0"


def test_pre_scan_refuses_twenty_thousand_parts_without_parsing() -> None:
    with pytest.raises(MailRefused, match="boundary-like lines"):
        parse_mail(corpus.many_parts(20_000))


def test_body_prefers_plain_then_stripped_html() -> None:
    message = mail(From="a@example.org")
    message.add_alternative("<p>html <b>version</b></p>", subtype="html")
    assert parse_mail(message.as_bytes()).body == "cuerpo"
    html = EmailMessage()
    html.set_content("<p>Hola</p><script>x()</script><p>dos &amp; tres</p>", subtype="html")
    assert parse_mail(html.as_bytes()).body == "Hola\n\ndos & tres"


def test_body_is_bounded() -> None:
    message = EmailMessage()
    message.set_content("x" * 5000)
    assert len(parse_mail(message.as_bytes(), Limits(max_body_chars=100)).body) == 100


def test_inline_images_of_an_html_body_are_not_attachments() -> None:
    message = EmailMessage()
    message.set_content("texto")
    message.add_alternative("<p><img src='cid:logo'></p>", subtype="html")
    html = message.get_body(preferencelist=("html",))
    assert isinstance(html, EmailMessage)
    html.add_related(b"\x89PNG", maintype="image", subtype="png", cid="<logo>")
    message.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="doc.pdf")
    parsed = parse_mail(message.as_bytes())
    assert [a.name for a in parsed.attachments] == ["doc.pdf"]


def test_headers_are_decoded_and_addresses_normalised() -> None:
    message = mail(
        From="=?utf-8?q?Ana_L=C3=B3pez?= <ANA@Example.ORG>",
        To="crm@crm.localhost, Bob <bob@x.org>, not-an-address, Bob <BOB@x.org>",
        Cc="Grupo: carla@x.org, dani@x.org;",
        Subject="=?utf-8?b?wqFIb2xhIQ==?=",
        Date="Tue, 01 Dec 2026 10:00:00 +0100",
    )
    parsed = parse_mail(message.as_bytes())
    assert [a.shown for a in parsed.sender] == ["Ana López <ana@example.org>"]
    assert [a.addr for a in parsed.to] == ["crm@crm.localhost", "bob@x.org"]
    assert [a.addr for a in parsed.cc] == ["carla@x.org", "dani@x.org"]
    assert parsed.subject == "¡Hola!"
    assert parsed.date == dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("value", "date"),
    [
        ("Tue, 01 Dec 2026 10:00:00", dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)),
        ("not a date", None),
        ("Tue, 01 Dec 99999 10:00:00 +0000", None),
    ],
)
def test_dates(value: str, date: dt.datetime | None) -> None:
    assert parse_mail(mail(Date=value).as_bytes()).date == date


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (" <Abc.Def@EXAMPLE.Com> ", "<Abc.Def@example.com>"),
        ("\r\n <folded@x.org>", "<folded@x.org>"),
        ("abc@X.ORG", "<abc@x.org>"),
        ("<first@x.org> <second@x.org>", "<first@x.org>"),
        ("<a b@x.org>", "<ab@x.org>"),
        ("<>", ""),
        ("", ""),
        ("no id here", ""),
    ],
)
def test_message_id_keys(value: str, key: str) -> None:
    assert message_id_key(value) == key


def test_long_message_ids_are_hashed_and_stay_comparable() -> None:
    long_id = f"<{'a' * 300}@X.org>"
    key = message_id_key(long_id)
    assert key.endswith("@long.crmbot.invalid>")
    assert len(key) < 100
    assert message_id_key(long_id.replace("X.org", "x.org")) == key


def test_references_keep_the_nearest_fifty() -> None:
    value = " ".join(f"<r{n}@x.org>" for n in range(80))
    kept = message_ids(value, keep="last")
    assert kept[0] == "<r30@x.org>"
    assert kept[-1] == "<r79@x.org>"
    assert len(kept) == 50


def test_missing_message_id_is_synthesised_from_the_raw_bytes() -> None:
    parsed = parse_mail(b"From: a@example.org\r\n\r\nhola")
    assert not parsed.has_message_id
    assert parsed.message_id == synthetic_message_id(parsed.raw_sha256)


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../x", "x"),
        ("C:\\x", "x"),
        ("a/b\\c.pdf", "c.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("nul\x00name.txt", "nulname.txt"),
        (" .hidden. ", "hidden"),
        ("..", "part-3.pdf"),
        (None, "part-3.pdf"),
        ("e\u0301.txt", "é.txt"),
        ("x" * 200 + ".docx", "x" * 115 + ".docx"),
    ],
)
def test_display_names(name: str | None, shown: str) -> None:
    assert display_name(name, 3, "application/pdf") == shown


def test_html_to_text_drops_scripts_and_keeps_blocks() -> None:
    html = "<style>p{}</style><h1>T</h1><ul><li>uno</li><li>dos</li></ul>x&nbsp;y<br>z"
    assert html_to_text(html, 1000) == "T\n\nuno\n\ndos\n\nx y\nz"


@pytest.mark.parametrize(
    ("addr", "contact_id"),
    [
        ("crm+7@crm.localhost", 7),
        ("CRM+0042@CRM.LOCALHOST", 42),
        ("crm+7@other.example", None),
        ("crm@crm.localhost", None),
        ("crm+x7@crm.localhost", None),
        ("sales+7@crm.localhost", None),
    ],
)
def test_plus_addresses(addr: str, contact_id: int | None) -> None:
    assert plus_contact_id(addr, DOMAIN) == contact_id


@pytest.mark.parametrize(
    ("subject", "numbers"),
    [
        ("[CAS-00007] Pantalla rota", ("CAS-00007",)),
        ("Re: OC-00012 y cot-00003", ("OC-00012", "COT-00003")),
        ("OV-00001, OV-00001", ("OV-00001",)),
        ("XCAS-00007 CAS-0007 CAS-000070000000", ()),
        ("pedido OC-123456", ("OC-123456",)),
    ],
)
def test_record_numbers(subject: str, numbers: tuple[str, ...]) -> None:
    assert record_numbers(subject) == numbers


@pytest.mark.parametrize(
    ("addr", "own"),
    [
        ("crm@crm.localhost", True),
        ("ventas@CRM.localhost", True),
        ("ana@localhost", False),
        ("ana@example.org", False),
    ],
)
def test_own_addresses(addr: str, own: bool) -> None:
    assert is_own(addr, DOMAIN) is own


def test_parent_domain_is_own() -> None:
    assert is_own("ana@example.com", "crm.example.com")
    assert not is_own("ana@com", "crm.example.com")


def parsed(**headers: str) -> ParsedMail:
    return parse_mail(mail(**headers).as_bytes())


def test_match_keys_in_rule_order() -> None:
    keys = match_keys(
        parsed(
            From="Ana <ana@example.org>",
            To="crm+5@crm.localhost, Bob <bob@x.org>",
            Cc="ventas@crm.localhost",
            Subject="Re: [CAS-00007]",
            In_Reply_To="<parent@x.org>",
            References="<root@x.org> <parent@x.org> <mid@x.org>",
            Delivered_To="crm+6@crm.localhost",
        ),
        ["crm+9@crm.localhost", "crm@crm.localhost"],
        DOMAIN,
    )
    assert keys.thread_ids == ("<parent@x.org>", "<mid@x.org>", "<root@x.org>")
    assert keys.plus_contact_ids == (5, 9, 6)
    assert keys.record_numbers == ("CAS-00007",)
    assert keys.addresses == ("ana@example.org", "bob@x.org")
    assert keys.direction == INBOUND


def test_mail_from_our_domain_is_outbound() -> None:
    keys = match_keys(parsed(From="ventas@crm.localhost", To="ana@example.org"), [], DOMAIN)
    assert keys.direction == OUTBOUND
    assert keys.addresses == ("ana@example.org",)


def test_forwarded_sender_is_a_participant() -> None:
    keys = match_keys(parse_mail(corpus.forwarded()), [], DOMAIN)
    assert keys.addresses == ("ventas@proveedor.example",)


def test_first_case() -> None:
    assert first_case(["OC-00001", "CAS-00002", "CAS-00003"]) == "CAS-00002"
    assert first_case(["OC-00001"]) is None


def test_a_parser_failure_falls_back_to_a_plain_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object) -> ParsedMail:
        raise IndexError("a stdlib header parser bug")

    monkeypatch.setattr(parse_module._Reader, "read", broken)
    raw = b"Subject: hola\r\nFrom: Ana <ana@example.org>\r\nMessage-ID: <P@X.org>\r\n\r\ncuerpo"
    parsed = parse_mail(raw)
    assert (parsed.subject, parsed.body, parsed.message_id) == ("hola", "cuerpo", "<P@x.org>")
    assert [a.addr for a in parsed.sender] == ["ana@example.org"]


def test_two_message_id_headers_use_the_first() -> None:
    raw = (corpus.HERE / "duplicate-message-id.eml").read_bytes()
    assert parse_mail(raw).message_id == "<first@example.org>"
