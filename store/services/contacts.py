"""Creating, updating and finding contacts, with their folded search keys kept in step."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Integer, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from store import direct
from store.direct import DirectStatement
from store.models import Address, Contact, ContactKey
from store.text import digits, fold, prefix_params, starts_with_param

MIN_PHONE_DIGITS = 3
_PHONE_NOISE = re.compile(r"[\d\s+().-]")

KEYS_PER_WORD = 1000  # contacts matched per typed word before the words are intersected
MAX_WORDS = 4


@dataclass(frozen=True, slots=True)
class ContactMatch:
    """A contact as a search lists it."""

    id: int
    first_name: str
    last_name: str
    email: str | None
    account: str | None


# One statement per shape (how many words, and which prefixes have an upper bound), built
# on first use and then only bound: a search is a single round trip whatever was typed.
_SEARCHES: dict[tuple[bool, ...], DirectStatement] = {}


def _search_statement(shape: tuple[bool, ...]) -> DirectStatement:
    statement = _SEARCHES.get(shape)
    if statement is None:
        query = select(
            Contact.id, Contact.first_name, Contact.last_name, Contact.email, Contact.account
        )
        for n, bounded in enumerate(shape):
            matches = starts_with_param(ContactKey.key, bounded=bounded, suffix=f"_{n}")
            keys = select(ContactKey.contact_id).where(matches).limit(KEYS_PER_WORD)
            query = query.where(Contact.id.in_(keys))
        query = query.order_by(Contact.last_name, Contact.first_name, Contact.id).limit(
            bindparam("limit", type_=Integer)
        )
        statement = _SEARCHES[shape] = DirectStatement(query)
    return statement


@dataclass(frozen=True, slots=True)
class ContactData:
    """The fields of a contact as they arrive from an import or a form."""

    first_name: str
    last_name: str = ""
    email: str | None = None
    phone: str | None = None
    account: str | None = None
    mobile: str | None = None
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class AddressData:
    """A postal address as it arrives from an import or a form."""

    street: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""
    label: str = ""

    def is_empty(self) -> bool:
        """True when no part of the address was given."""
        return not any((self.street, self.city, self.state, self.postal_code, self.country))


def search_keys(contact: Contact) -> set[str]:
    """Every key a search for this contact may start with."""
    keys: set[str] = set()
    full = fold(f"{contact.first_name} {contact.last_name}")
    if full:
        keys.add(full)
        keys.update(full.split(" "))
        keys.add(fold(f"{contact.last_name} {contact.first_name}"))
    for email in (contact.email, contact.secondary_email):
        if email:
            keys.add(fold(email))
    for phone in (contact.phone, contact.mobile):
        keys.update(_phone_keys(phone or ""))
    if contact.account:
        account = fold(contact.account)
        keys.add(account)
        keys.update(account.split(" "))
    return {key[:254] for key in keys if key}


def _phone_keys(phone: str) -> set[str]:
    """The phone's digits, and without the country code (``+34 600…`` is found by ``600``)."""
    keys = {digits(phone)}
    head, _, rest = phone.strip().partition(" ")
    if head.startswith("+") and rest:
        keys.add(digits(rest))
    return {key for key in keys if len(key) >= MIN_PHONE_DIGITS}


async def refresh_keys(session: AsyncSession, contact: Contact) -> None:
    """Rewrite the contact's search keys after any change to the searchable fields."""
    await session.flush()
    await session.execute(delete(ContactKey).where(ContactKey.contact_id == contact.id))
    session.add_all(ContactKey(key=key, contact_id=contact.id) for key in search_keys(contact))


async def upsert_contact(session: AsyncSession, data: ContactData) -> tuple[Contact, bool]:
    """Create the contact, or update the one with the same email; returns (contact, created)."""
    email = data.email.strip().lower() if data.email else None
    existing = None
    if email:
        existing = await session.scalar(select(Contact).where(Contact.email == email))
    contact = existing or Contact(first_name=data.first_name)
    contact.first_name = data.first_name.strip()
    contact.last_name = data.last_name.strip()
    contact.email = email
    contact.phone = (data.phone or "").strip() or None
    contact.mobile = (data.mobile or "").strip() or None
    contact.account = (data.account or "").strip() or None
    contact.owner = data.owner
    if existing is None:
        session.add(contact)
    await refresh_keys(session, contact)
    return contact, existing is None


async def set_main_address(session: AsyncSession, contact: Contact, data: AddressData) -> Address:
    """Make ``data`` the contact's primary and fiscal address (what an import row carries)."""
    await session.flush()
    current = await session.scalar(
        select(Address).where(Address.contact_id == contact.id, Address.is_primary.is_(True))
    )
    address = current or Address(contact_id=contact.id, is_primary=True)
    for field in ("street", "city", "state", "postal_code", "country"):
        setattr(address, field, getattr(data, field).strip())
    address.label = data.label or address.label or "Principal"
    address.is_fiscal = True
    if current is None:
        session.add(address)
    return address


async def search_contacts(session: AsyncSession, text: str, limit: int = 10) -> list[ContactMatch]:
    """Contacts whose name, email, phone or account starts with ``text``, by name.

    Every word typed must prefix some key of the contact (``ana gar`` finds Ana García).
    """
    folded = fold(text)
    if not folded:
        return []
    # A phone number may be typed with spaces, dashes or a leading +: search its digits.
    looks_like_phone = len(digits(folded)) >= MIN_PHONE_DIGITS and not _PHONE_NOISE.sub("", folded)
    words = [digits(folded)] if looks_like_phone else folded.split(" ")
    shape: list[bool] = []
    params: dict[str, object] = {"limit": limit}
    for n, word in enumerate(words[:MAX_WORDS]):
        bounded, bound = prefix_params(word, suffix=f"_{n}")
        shape.append(bounded)
        params |= bound
    rows = await direct.fetch(session, _search_statement(tuple(shape)), params)
    return [ContactMatch(*row) for row in rows]
