"""Creating, updating and finding contacts, with their folded search keys kept in step."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Integer, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Address, Contact, ContactKey
from store.text import digits, fold, prefix_params, starts_with_param

MIN_PHONE_DIGITS = 3
_PHONE_NOISE = re.compile(r"[\d\s+().-]")

# Built once (per whether the prefix has an upper bound), bound per call: SQLAlchemy then
# finds the compiled form in its cache.
_KEY_MATCHES: Final = {
    bounded: select(ContactKey.contact_id)
    .where(starts_with_param(ContactKey.key, bounded=bounded))
    .limit(1000)
    for bounded in (False, True)
}
_CONTACTS_BY_NAME: Final = (
    select(Contact)
    .where(Contact.id.in_(bindparam("ids", expanding=True)))
    .order_by(Contact.last_name, Contact.first_name, Contact.id)
    .limit(bindparam("limit", type_=Integer))
)


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


async def search_contacts(session: AsyncSession, text: str, limit: int = 10) -> list[Contact]:
    """Contacts whose name, email, phone or account starts with ``text``, by name.

    Every word typed must prefix some key of the contact (``ana gar`` finds Ana García).
    """
    folded = fold(text)
    if not folded:
        return []
    # A phone number may be typed with spaces, dashes or a leading +: search its digits.
    looks_like_phone = len(digits(folded)) >= MIN_PHONE_DIGITS and not _PHONE_NOISE.sub("", folded)
    words = [digits(folded)] if looks_like_phone else folded.split(" ")
    candidate_ids: set[int] | None = None
    for probe in words[:4]:
        bounded, params = prefix_params(probe)
        ids = set(await session.scalars(_KEY_MATCHES[bounded], params))
        candidate_ids = ids if candidate_ids is None else candidate_ids & ids
        if not candidate_ids:
            return []
    assert candidate_ids is not None
    rows = await session.scalars(_CONTACTS_BY_NAME, {"ids": list(candidate_ids), "limit": limit})
    return list(rows)
