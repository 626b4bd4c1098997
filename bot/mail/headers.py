"""Reading mail headers defensively: bounded, decoded, normalised addresses and Message-IDs.

Header values are taken raw from the parsed message and cut before the stdlib parses
them (``_BoundedPolicy``); any parse failure falls back to a plainer reading.

Message-IDs are compared by a key (``message_id_key``): the first ``<…>`` token (or the
first word when a broken mailer left the brackets out), whitespace and controls removed,
the domain part lower-cased (domains are case-insensitive; local parts are not), wrapped
in ``<>`` again, as the demo data and ``records emails`` show them. A key longer than
MAX_ID_CHARS becomes ``<sha256-of-it@long.crmbot.invalid>``; a mail without any becomes
``<sha256-of-raw-bytes@crmbot.invalid>`` (stored once per raw bytes).
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from email.policy import EmailPolicy
from email.utils import getaddresses
from typing import Final, Literal

from bot.mail.text import unsurrogate

HEADER_CHARS: Final = 8_000
ADDRESS_HEADER_CHARS: Final = 32_000  # about a thousand recipients
ADDRESS_HEADERS: Final = frozenset(
    {"from", "to", "cc", "bcc", "reply-to", "sender", "delivered-to", "x-original-to"}
)
MAX_ADDRESSES: Final = 500
MAX_REFERENCES: Final = 50
MAX_ID_CHARS: Final = 250
MAX_NAME_CHARS: Final = 200
SYNTHETIC_DOMAIN: Final = "crmbot.invalid"
_ANGLE_ID = re.compile(r"<([^<>]*)>")
_LINE_BREAK = re.compile(r"\r?\n|\r")


@dataclass(frozen=True, slots=True)
class Address:
    """A mailbox: lower-cased ``addr`` (what matching compares) and a clean display name."""

    addr: str
    name: str = ""

    @property
    def shown(self) -> str:
        """``Name <addr>``, or the bare address."""
        return f"{self.name} <{self.addr}>" if self.name else self.addr


class _BoundedPolicy(EmailPolicy):
    """``policy.default`` that cuts a header, and decodes its raw 8-bit bytes, before parsing.

    Header parsing is slow on long values (a 1 MB Subject took 33 s here) and the parser
    itself reads Content-Type several times per part, so every header is cut first. Raw
    8-bit bytes would be read as UTF-8 with replacement characters; ``unsurrogate`` also
    recovers the Windows-1252 that unlabelled headers mostly are.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        if not isinstance(value, str):
            parsed: str = super().header_fetch_parse(name, value)
            return parsed
        cap = ADDRESS_HEADER_CHARS if name.lower() in ADDRESS_HEADERS else HEADER_CHARS
        return _fetch(self, name, unsurrogate(value[:cap]))


# The parser reads each part's Content-Type five or six times and every read parses it
# again (half of all parse time); parsed headers are immutable, so repeats come from here.
@functools.lru_cache(maxsize=256)
def _fetch(policy: EmailPolicy, name: str, value: str) -> str:
    parsed: str = EmailPolicy.header_fetch_parse(policy, name, value)
    return parsed


POLICY: Final = _BoundedPolicy()


def unfold(value: str) -> str:
    """A header value on one line (RFC 5322 unfolding: the line breaks go, the blanks stay)."""
    return _LINE_BREAK.sub("", value)


def first_values(message: Message) -> dict[str, str]:
    """The raw value of the first occurrence of each header, by lower-case name."""
    found: dict[str, str] = {}
    for name, value in message.raw_items():
        if isinstance(value, str):
            found.setdefault(str(name).lower(), value)
    return found


def scan_header_block(text: str) -> dict[str, str]:
    """First values of a header block read line by line (when the parser itself failed)."""
    found: dict[str, str] = {}
    name = ""
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and name:
            if found.get(name) is not None and len(found[name]) < ADDRESS_HEADER_CHARS:
                found[name] += line
            continue
        key, colon, value = line.partition(":")
        name = key.strip().lower() if colon else ""
        if name and name not in found:
            found[name] = value.strip()
    return found


def header_text(value: str) -> str:
    """An unstructured header (Subject) decoded: RFC 2047 words, raw 8-bit bytes, or as is."""
    value = unsurrogate(unfold(value)[:HEADER_CHARS])
    try:
        return unsurrogate(str(POLICY.header_factory("subject", value)))
    except Exception:
        pass
    try:
        return unsurrogate(str(make_header(decode_header(value))))
    except Exception:
        return unsurrogate(value)


def addresses(value: str) -> tuple[Address, ...]:
    """The mailboxes of an address header (groups flattened), cleaned and de-duplicated."""
    value = unsurrogate(unfold(value)[:ADDRESS_HEADER_CHARS])
    if not value.strip():
        return ()
    try:
        header = POLICY.header_factory("to", value)
        pairs = [(a.display_name, a.addr_spec) for a in getattr(header, "addresses", ())]
    except Exception:
        pairs = getaddresses([value])
    return clean_addresses(pairs)


def clean_addresses(pairs: Iterable[tuple[str, str]]) -> tuple[Address, ...]:
    """Plausible ``local@domain`` mailboxes only, lower-cased, each once, at most MAX_ADDRESSES."""
    found: dict[str, Address] = {}
    for name, spec in pairs:
        addr = clean_addr(spec)
        if addr and addr not in found:
            found[addr] = Address(addr, _clean_name(name))
            if len(found) >= MAX_ADDRESSES:
                break
    return tuple(found.values())


def clean_addr(spec: str) -> str | None:
    """``spec`` lower-cased when it looks like ``local@domain``; None otherwise."""
    spec = unsurrogate(str(spec)).strip().strip("<>").lower()
    local, at, domain = spec.rpartition("@")
    if not at or not local or not domain.strip(".") or len(spec) > 254:
        return None
    if any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in spec):
        return None
    return spec


def _clean_name(name: str) -> str:
    text = unsurrogate(str(name or ""))[: MAX_NAME_CHARS * 4]
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    return " ".join(text.split())[:MAX_NAME_CHARS].strip("\"' ")


def delivered_to(message: Message) -> tuple[str, ...]:
    """Addresses of Delivered-To / X-Original-To: where an MTA says it delivered the mail."""
    found: list[str] = []
    for name, value in message.raw_items():
        if str(name).lower() in ("delivered-to", "x-original-to") and isinstance(value, str):
            found += [address.addr for address in addresses(value)]
        if len(found) >= 20:
            break
    return tuple(dict.fromkeys(found))


def _key(inner: str) -> str:
    inner = "".join(ch for ch in unsurrogate(inner) if ch.isprintable() and not ch.isspace())
    inner = inner.strip("<>")
    if not inner:
        return ""
    local, at, domain = inner.rpartition("@")
    if at:
        inner = f"{local}@{domain.lower()}"
    if len(inner) > MAX_ID_CHARS:
        inner = f"{hashlib.sha256(inner.encode()).hexdigest()}@long.{SYNTHETIC_DOMAIN}"
    return f"<{inner}>"


def message_id_key(value: str) -> str:
    """The comparable key of the first Message-ID in ``value``; ``""`` when there is none."""
    ids = message_ids(value, keep="first")
    return ids[0] if ids else ""


def message_ids(value: str, *, keep: Literal["first", "last"]) -> tuple[str, ...]:
    """Keys of the Message-IDs in ``value`` (In-Reply-To, References), each once.

    At most MAX_REFERENCES are kept: the first ones, or the last ones for References,
    whose end names the nearest ancestors.
    """
    text = unfold(value)
    text = text[:ADDRESS_HEADER_CHARS] if keep == "first" else text[-ADDRESS_HEADER_CHARS:]
    found = [match.group(1) for match in _ANGLE_ID.finditer(text)]
    if not found:  # brackets left out by a broken mailer: words that look like ids
        found = [word for word in text.split() if "@" in word]
    keys = list(dict.fromkeys(key for key in map(_key, found) if key))
    return tuple(keys[:MAX_REFERENCES] if keep == "first" else keys[-MAX_REFERENCES:])


def synthetic_message_id(raw_sha256: str) -> str:
    """The key a mail without a Message-ID is stored under: its raw bytes' SHA-256."""
    return f"<{raw_sha256}@{SYNTHETIC_DOMAIN}>"
