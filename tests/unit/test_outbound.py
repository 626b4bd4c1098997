"""Outbound mail pieces that need no network: the relay URL, addresses, the MIME message."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest

from bot.mail.outbound import (
    Attachment,
    OutgoingMail,
    RelayConfig,
    as_bytes,
    build_message,
    parse_relay_url,
    sender_address,
    valid_address,
)
from bot.mail.sender import message_id


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1:2525", RelayConfig("127.0.0.1", 2525)),
        ("smtp://mail.example.com", RelayConfig("mail.example.com", 25)),
        ("smtps://mail.example.com", RelayConfig("mail.example.com", 465, implicit_tls=True)),
        (
            "smtp://bot%40example.com:p%3Ass@mail.example.com:587",
            RelayConfig("mail.example.com", 587, username="bot@example.com", password="p:ss"),
        ),
        ("smtp://[::1]:25/", RelayConfig("::1", 25)),
    ],
)
def test_relay_urls(url: str, expected: RelayConfig) -> None:
    assert parse_relay_url(url) == expected


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://mail.example.com", "smtp:// or smtps://"),
        ("mail.example.com:25", "smtp:// or smtps://"),
        ("smtp://", "no host"),
        ("smtp://mail.example.com:99999", "invalid port"),
        ("smtp://mail.example.com:abc", "invalid port"),
        ("smtp://mail.example.com/x?y=1", "only scheme"),
    ],
)
def test_bad_relay_urls_say_what_is_wrong(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_relay_url(url)


def test_the_password_is_not_in_the_repr() -> None:
    relay = parse_relay_url("smtp://u:secret@mail.example.com:587")
    assert "secret" not in repr(relay)


@pytest.mark.parametrize(
    ("relay", "start_tls"),
    [
        (RelayConfig("mail.example.com", 587, username="u", password="p"), True),
        (RelayConfig("mail.example.com", 25), None),  # no password: STARTTLS when offered
        (RelayConfig("127.0.0.1", 25, username="u", password="p"), None),  # loopback
        (RelayConfig("localhost", 25, username="u", password="p"), None),
        (RelayConfig("mail.example.com", 465, implicit_tls=True, username="u"), False),
    ],
)
def test_a_password_travels_only_over_tls_off_loopback(
    relay: RelayConfig, start_tls: bool | None
) -> None:
    assert relay.require_start_tls is start_tls


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("pedidos@ferreteria.example", "pedidos@ferreteria.example"),
        ("  ana.gil+crm@example.com ", "ana.gil+crm@example.com"),
        ("", None),
        (None, None),
        ("no-at-sign", None),
        ("a@b", None),
        ("a@.example.com", None),
        ("Ana <ana@example.com>", None),
        ("ana@example.com\r\nBcc: x@evil.example", None),
        ("a@example.com, b@example.com", None),
        ("ñandú@example.com", None),
    ],
)
def test_valid_address(text: str | None, valid: str | None) -> None:
    assert valid_address(text) == valid


def test_the_sender_is_the_relay_login_when_it_is_an_address() -> None:
    assert sender_address(RelayConfig("h", 25, username="bot@x.example"), "crm.test") == (
        "bot@x.example"
    )
    assert sender_address(RelayConfig("h", 25, username="apikey"), "crm.test") == "crm@crm.test"
    assert sender_address(RelayConfig("h", 25), "crm.test") == "crm@crm.test"


def mail(**changes: str) -> OutgoingMail:
    values = {
        "message_id": message_id("abc123", "crm.test"),
        "from_addr": "crm@crm.test",
        "from_name": "Compras",
        "to_addr": "pedidos@ferreteria.example",
        "to_name": "Ferretería Sur",
        "reply_to": "crm+7@crm.test",
        "subject": "Orden de compra OC-00012 · Material",
        "text": "Hola:\n\nAdjuntamos la orden, por 275,28\u00a0€.\n",
    } | changes
    return OutgoingMail(
        **values, attachments=(Attachment("OC-00012.pdf", "application/pdf", b"%PDF-1.7 x"),)
    )


def test_the_message_carries_the_pdf_and_survives_a_round_trip() -> None:
    raw = as_bytes(build_message(mail()))
    assert b"\r\n" in raw
    parsed = message_from_bytes(raw, policy=default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Message-ID"] == "<send-abc123@crm.test>"
    assert parsed["To"] == "Ferretería Sur <pedidos@ferreteria.example>"
    assert parsed["From"] == "Compras <crm@crm.test>"
    assert parsed["Reply-To"] == "crm+7@crm.test"
    assert parsed["Subject"] == "Orden de compra OC-00012 · Material"
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    assert "275,28\u00a0€" in body.get_content()
    (attachment,) = parsed.iter_attachments()
    assert attachment.get_filename() == "OC-00012.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == b"%PDF-1.7 x"


def test_a_subject_or_name_cannot_add_headers() -> None:
    message = build_message(mail(subject="Hola\r\nBcc: x@evil.example", to_name="A\nB"))
    raw = as_bytes(message)
    assert b"\r\nBcc:" not in raw
    assert message["Subject"] == "Hola Bcc: x@evil.example"


def test_the_message_id_is_short_enough_not_to_fold() -> None:
    assert len(message_id("0123456789abcdef0123", "crm.example.com")) < 78
