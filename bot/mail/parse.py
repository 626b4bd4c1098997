"""Raw RFC 822 bytes to a bounded, neutral ``ParsedMail`` (pure and blocking: run it in a thread).

Limits (issue 6, EMAIL.md §3), checked in this order:

* more than ``max_bytes`` raw bytes: refused ``too_large`` before anything is read;
* a cheap pre-scan before the parse: more than ``GATE_FACTOR * max_parts`` lines starting
  with ``--`` or more than ``max_parts`` multipart/message headers is refused
  ``too_complex`` without parsing (20,000 tiny parts cost the stdlib seconds of CPU);
* after the parse, the part tree is walked without recursion: more than ``max_parts``
  parts (containers and the message itself count) or more than ``max_depth`` levels of
  nesting is refused ``too_complex``; so is a parse that hit Python's recursion limit;
* more than ``max_attachments`` attachments are *degraded*, not refused: the first ones in
  message order are kept and the rest counted in ``dropped_attachments`` (losing a whole
  mail for its 51st photo would be worse). Archives are attachments like any other:
  never unpacked.

Everything else degrades: unknown charsets, broken headers, RFC 2047 oddities and raw
8-bit bytes become readable text (replacement characters at worst), never an exception.

What becomes what: the body is the text/plain part, else the text/html one stripped to
text, then any other inline text/plain of a multipart/mixed, then the text of each
forwarded (message/rfc822) mail, cut at ``max_body_chars``. Every other leaf part is an
attachment, except unnamed inline text (body alternatives) and the inline images of a
multipart/related HTML body (signature logos).
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass, replace
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Final

from bot.mail import headers as h
from bot.mail.text import clean_line, clean_text, decode_bytes, display_name, html_to_text

log = logging.getLogger(__name__)

TOO_LARGE: Final = "too_large"
TOO_COMPLEX: Final = "too_complex"
GATE_FACTOR: Final = 5
MAX_SUBJECT: Final = 998
_CONTAINER_HEADER = re.compile(rb"^content-type:[ \t]*(?:multipart|message)/", re.I | re.M)
# Codecs whose decoding time grows with the square of the input: a hostile charset label
# on a large part would pin a CPU; their parts are read as UTF-8 instead.
_SLOW_CODECS: Final = frozenset({"punycode", "idna"})
_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}")
_FORWARD_RULE: Final = "---------- Forwarded message ----------"


@dataclass(frozen=True, slots=True)
class Limits:
    """How much mail the parser takes (issue 6: 200 parts, depth 20, 50 attachments)."""

    max_bytes: int = 25 * 1024 * 1024
    max_parts: int = 200
    max_depth: int = 20
    max_attachments: int = 50
    max_body_chars: int = 100_000


class MailRefused(Exception):
    """The mail is refused: ``reason`` is ``too_large`` or ``too_complex``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Attachment:
    """An attachment's bytes; ``name`` is display data only, already cleaned."""

    name: str
    mime_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class ParsedMail:
    """One mail as the pipeline needs it; every text is clean, bounded and storable."""

    message_id: str  # normalised (``message_id_key``); synthesised when the mail has none
    has_message_id: bool
    raw_sha256: str
    subject: str
    sender: tuple[h.Address, ...]
    to: tuple[h.Address, ...]
    cc: tuple[h.Address, ...]
    delivered_to: tuple[str, ...]  # Delivered-To / X-Original-To: routing only
    forwarded_from: tuple[h.Address, ...]  # From of message/rfc822 parts (forwarded mail)
    date: dt.datetime | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    body: str
    attachments: tuple[Attachment, ...]
    dropped_attachments: int = 0


def parse_mail(raw: bytes, limits: Limits = Limits()) -> ParsedMail:
    """Parse ``raw``; MailRefused for mail over the limits, a degraded result for odd mail."""
    _precheck(raw, limits)
    digest = hashlib.sha256(raw).hexdigest()
    try:
        message = BytesParser(policy=h.POLICY).parsebytes(raw)
        return _Reader(message, digest, limits).read()
    except MailRefused:
        raise
    except RecursionError as exc:
        raise MailRefused(TOO_COMPLEX, "nesting too deep for the parser") from exc
    except MemoryError:
        raise
    except Exception:  # a stdlib bug on hostile input: keep what a plain reading gives
        log.warning("mail %s parsed only as plain text", digest[:12], exc_info=True)
        return _plain_reading(raw, digest, limits)


def _precheck(raw: bytes, limits: Limits) -> None:
    if len(raw) > limits.max_bytes:
        raise MailRefused(TOO_LARGE, f"{len(raw)} bytes, over {limits.max_bytes}")
    delimiters = raw.count(b"\n--")
    if delimiters > GATE_FACTOR * limits.max_parts:
        raise MailRefused(TOO_COMPLEX, f"{delimiters} boundary-like lines")
    containers = sum(1 for _ in _CONTAINER_HEADER.finditer(raw))
    if containers > limits.max_parts:
        raise MailRefused(TOO_COMPLEX, f"{containers} multipart or message headers")


@dataclass(frozen=True, slots=True)
class _Node:
    """A part with what the rules ask of it, read once (each read re-parses a header)."""

    part: Message
    depth: int
    parent_kind: str  # the enclosing part's content type; "" for the message itself
    kind: str = ""
    disposition: str = ""
    filename: str | None = None

    def read(self) -> _Node:
        if self.part.is_multipart():
            return replace(self, kind=_content_type(self.part))
        kind, disposition = _content_type(self.part), _disposition(self.part)
        return replace(self, kind=kind, disposition=disposition, filename=_filename(self.part))

    @property
    def textual(self) -> bool:
        """Text that belongs to a body: text/*, unnamed, not marked ``attachment``."""
        return (
            self.kind.startswith("text/")
            and self.filename is None
            and self.disposition != "attachment"
        )


def _walk(message: Message, limits: Limits) -> list[_Node]:
    """Every part in message order, with its depth; MailRefused past the part or depth limit."""
    nodes: list[_Node] = []
    stack = [_Node(message, 0, "")]
    while stack:
        node = stack.pop()
        if node.depth > limits.max_depth:
            raise MailRefused(TOO_COMPLEX, f"nested deeper than {limits.max_depth}")
        node = node.read()
        nodes.append(node)
        if len(nodes) > limits.max_parts:
            raise MailRefused(TOO_COMPLEX, f"more than {limits.max_parts} MIME parts")
        payload = node.part.get_payload() if node.part.is_multipart() else None
        if isinstance(payload, list):
            children = [child for child in payload if isinstance(child, Message)]
            stack.extend(_Node(child, node.depth + 1, node.kind) for child in reversed(children))
    return nodes


class _Reader:
    """Reads one parsed message into a ParsedMail."""

    def __init__(self, message: Message, digest: str, limits: Limits) -> None:
        self.message = message
        self.digest = digest
        self.limits = limits
        self.headers = h.first_values(message)

    def read(self) -> ParsedMail:
        nodes = _walk(self.message, self.limits)
        body_part = _body_part(self.message)
        attachments, dropped = self._attachments(nodes, body_part)
        given_id = h.message_id_key(self.headers.get("message-id", ""))
        return ParsedMail(
            message_id=given_id or h.synthetic_message_id(self.digest),
            has_message_id=bool(given_id),
            raw_sha256=self.digest,
            subject=clean_line(h.header_text(self.headers.get("subject", "")), MAX_SUBJECT),
            sender=h.addresses(self.headers.get("from", "")),
            to=h.addresses(self.headers.get("to", "")),
            cc=h.addresses(self.headers.get("cc", "")),
            delivered_to=h.delivered_to(self.message),
            forwarded_from=self._forwarded_from(nodes),
            date=_date(self.headers.get("date", "")),
            in_reply_to=h.message_ids(self.headers.get("in-reply-to", ""), keep="first"),
            references=h.message_ids(self.headers.get("references", ""), keep="last"),
            body=self._body(nodes, body_part),
            attachments=tuple(attachments),
            dropped_attachments=dropped,
        )

    def _attachments(
        self, nodes: list[_Node], body_part: Message | None
    ) -> tuple[list[Attachment], int]:
        found = [node for node in nodes if _is_attachment(node, body_part)]
        keep = found[: self.limits.max_attachments]
        kept = [_attachment(node, index) for index, node in enumerate(keep, 1)]
        return kept, len(found) - len(keep)

    def _forwarded_from(self, nodes: list[_Node]) -> tuple[h.Address, ...]:
        found: list[h.Address] = []
        for inner in _forwarded(nodes):
            found += h.addresses(h.first_values(inner).get("from", ""))
        return tuple(dict.fromkeys(found))

    def _body(self, nodes: list[_Node], body_part: Message | None) -> str:
        """The body, then stray inline text parts, then each forwarded message's text."""
        budget = self.limits.max_body_chars
        texts = [_text(body_part, budget)] if body_part is not None else []
        texts += [_text(node.part, budget) for node in nodes if _is_extra_text(node, body_part)]
        for inner in _forwarded(nodes):
            fields = h.first_values(inner)
            heading = [_FORWARD_RULE]
            for name, label in (("from", "From"), ("date", "Date"), ("subject", "Subject")):
                if fields.get(name):
                    heading.append(f"{label}: {clean_line(h.header_text(fields[name]), 300)}")
            inner_body = _body_part(inner)
            inner_text = _text(inner_body, budget) if inner_body is not None else ""
            texts.append("\n".join(heading) + "\n\n" + inner_text)
        return clean_text("\n\n".join(text for text in texts if text), budget)


def _forwarded(nodes: list[_Node]) -> list[Message]:
    """The messages inside message/rfc822 parts (forwarded as attachments)."""
    return [node.part for node in nodes if node.parent_kind == "message/rfc822"]


def _content_type(part: Message) -> str:
    try:
        value = part.get_content_type()
    except Exception:
        return "application/octet-stream"
    value = value.lower()
    return value if _MIME_TYPE.fullmatch(value) else "application/octet-stream"


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return ""


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    return name if isinstance(name, str) else None


def _body_part(message: Message) -> Message | None:
    """The text/plain body, else the text/html one (EMAIL.md §3); None when there is none."""
    if isinstance(message, EmailMessage):
        try:
            found = message.get_body(preferencelist=("plain", "html"))
        except Exception:
            found = None
        if found is not None and not found.is_multipart():
            return found
    if message.is_multipart() or _filename(message) is not None:
        return None
    kind = _content_type(message)
    # A multipart without a usable boundary is left as one text payload by the parser.
    return message if kind in ("text/plain", "text/html") or kind.startswith("multipart/") else None


def _is_attachment(node: _Node, body_part: Message | None) -> bool:
    if node.part is body_part or node.part.is_multipart() or node.textual:
        return False
    # Images that an HTML body shows inline (signature logos, cid: pictures) are part of
    # that body, not documents of the contact.
    return not (node.parent_kind == "multipart/related" and node.disposition != "attachment")


def _is_extra_text(node: _Node, body_part: Message | None) -> bool:
    """Inline text/plain beside the body in a multipart/mixed (Apple Mail splits bodies so)."""
    return (
        node.part is not body_part
        and not node.part.is_multipart()
        and node.parent_kind == "multipart/mixed"
        and node.kind == "text/plain"
        and node.textual
    )


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""


def _charset_ok(part: Message) -> bool:
    try:
        charset = part.get_content_charset()
        return charset is None or codecs.lookup(charset).name not in _SLOW_CODECS
    except Exception:  # LookupError for unknown charsets, or a broken header
        return False


def _text(part: Message, max_chars: int) -> str:
    """A text part's content as clean text; unknown charsets read as UTF-8/CP-1252."""
    content: object = None
    if isinstance(part, EmailMessage) and _charset_ok(part):
        try:
            content = part.get_content()
        except Exception:  # e.g. LookupError on a charset the codec registry lacks
            content = None
    if not isinstance(content, str):
        content = decode_bytes(_payload_bytes(part)[: max_chars * 4])
    if _content_type(part) == "text/html":
        return html_to_text(content, max_chars)
    return clean_text(content, max_chars)


def _attachment(node: _Node, index: int) -> Attachment:
    data = _payload_bytes(node.part)
    if node.kind == "message/rfc822" and not data:
        data = _serialised(node.part)
    return Attachment(display_name(node.filename, index, node.kind), node.kind, data)


def _serialised(part: Message) -> bytes:
    try:
        return part.as_bytes()
    except Exception:
        return b""


def _date(value: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(h.unfold(value)[:200])
    except Exception:  # ValueError, TypeError, IndexError, OverflowError all happen
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        return None


def _plain_reading(raw: bytes, digest: str, limits: Limits) -> ParsedMail:
    """What is left when the parser itself failed: the header block read line by line."""
    head, _, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    fields = h.scan_header_block(decode_bytes(head[: h.ADDRESS_HEADER_CHARS * 4]))
    given_id = h.message_id_key(fields.get("message-id", ""))
    pairs = getaddresses([fields.get("from", "")])
    return ParsedMail(
        message_id=given_id or h.synthetic_message_id(digest),
        has_message_id=bool(given_id),
        raw_sha256=digest,
        subject=clean_line(fields.get("subject", ""), MAX_SUBJECT),
        sender=h.clean_addresses(pairs),
        to=h.clean_addresses(getaddresses([fields.get("to", "")])),
        cc=h.clean_addresses(getaddresses([fields.get("cc", "")])),
        delivered_to=(),
        forwarded_from=(),
        date=_date(fields.get("date", "")),
        in_reply_to=h.message_ids(fields.get("in-reply-to", ""), keep="first"),
        references=h.message_ids(fields.get("references", ""), keep="last"),
        body=clean_text(decode_bytes(body[: limits.max_body_chars * 4]), limits.max_body_chars),
        attachments=(),
    )
