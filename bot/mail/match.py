"""What a mail is matched by (pure): thread ids, plus-addresses, record numbers, participants.

The rules (issue 6 item 2), all of which contribute, in this order:

1. In-Reply-To, then References from the nearest ancestor back, looked up among stored
   Message-ID keys: the first stored one is the parent; the new email inherits its
   contacts and record links, and its thread root.
2. A plus-address ``crm+<contact-id>@<mail domain>`` in To, Cc, the envelope recipients
   or Delivered-To/X-Original-To links that contact; a record number in the subject
   (``[CAS-00007]``, ``OC-00012``, ``COT-…``, ``OV-…``, brackets optional, any case) links
   that record and its contact.
3. From, To, Cc (and the From of a forwarded message/rfc822 part) against every
   contact's email and secondary email, case-insensitively; our own addresses (below)
   never match.

``contact_ids`` keep that order, each contact once. "Our own" addresses are those of the
mail domain or of a parent domain of it (``crm.example.com`` → ``example.com`` too, the
staff's usual domain); mail *from* such an address is ``outbound``, all else ``inbound``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from bot.mail.headers import clean_addr
from bot.mail.parse import ParsedMail

INBOUND: Final = "inbound"
OUTBOUND: Final = "outbound"
DROPBOX_USER: Final = "crm"
CASE_PREFIX: Final = "CAS-"
MAX_RECORD_NUMBERS: Final = 10
_RECORD = re.compile(r"(?<![A-Za-z0-9])(CAS|OC|COT|OV)-(\d{5,9})(?![0-9])", re.IGNORECASE)
_PLUS = re.compile(rf"{DROPBOX_USER}\+(\d{{1,10}})")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class MatchKeys:
    """What to look up for one mail, each list in its order of preference."""

    thread_ids: tuple[str, ...]
    plus_contact_ids: tuple[int, ...]
    record_numbers: tuple[str, ...]
    addresses: tuple[str, ...]
    direction: str


def is_own(addr: str, mail_domain: str) -> bool:
    """Whether ``addr`` is at the mail domain or a parent domain of it (``x.tld`` at least)."""
    domain = addr.rpartition("@")[2].lower()
    mail_domain = mail_domain.lower().strip(".")
    return domain == mail_domain or ("." in domain and mail_domain.endswith("." + domain))


def plus_contact_id(addr: str, mail_domain: str) -> int | None:
    """The contact id of ``crm+<id>@<mail_domain>``; None for any other address."""
    local, _, domain = addr.lower().rpartition("@")
    found = _PLUS.fullmatch(local)
    if found is None or domain != mail_domain.lower().strip("."):
        return None
    return int(found.group(1))


def record_numbers(subject: str) -> tuple[str, ...]:
    """Record numbers in a subject, upper-cased, each once, at most MAX_RECORD_NUMBERS."""
    found = (f"{m.group(1).upper()}-{m.group(2)}" for m in _RECORD.finditer(subject))
    return tuple(dict.fromkeys(found))[:MAX_RECORD_NUMBERS]


def direction(mail: ParsedMail, mail_domain: str) -> str:
    """``outbound`` when the mail is from one of our own addresses, else ``inbound``."""
    own = any(is_own(address.addr, mail_domain) for address in mail.sender)
    return OUTBOUND if own else INBOUND


def match_keys(mail: ParsedMail, envelope_to: Sequence[str], mail_domain: str) -> MatchKeys:
    """Everything ``mail`` may be matched by, before any lookup."""
    recipients = [a.addr for a in (*mail.to, *mail.cc)]
    recipients += [addr for addr in map(clean_addr, envelope_to) if addr]
    recipients += mail.delivered_to
    plus = (plus_contact_id(addr, mail_domain) for addr in recipients)
    people = (*mail.sender, *mail.to, *mail.cc, *mail.forwarded_from)
    return MatchKeys(
        thread_ids=_unique((*mail.in_reply_to, *reversed(mail.references))),
        plus_contact_ids=_unique(cid for cid in plus if cid is not None),
        record_numbers=record_numbers(mail.subject),
        addresses=_unique(a.addr for a in people if not is_own(a.addr, mail_domain)),
        direction=direction(mail, mail_domain),
    )


def _unique(items: Iterable[T]) -> tuple[T, ...]:
    return tuple(dict.fromkeys(items))


def first_case(numbers: Iterable[str]) -> str | None:
    """The first case number among record numbers (what a case notification names)."""
    return next((number for number in numbers if number.startswith(CASE_PREFIX)), None)
