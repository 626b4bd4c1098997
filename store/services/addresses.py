"""A contact's addresses as one-line text, and the company's own address for billing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from store import direct
from store.direct import DirectStatement
from store.models import Address, Meta

COMPANY_ADDRESS_KEY = "company_address"


@dataclass(frozen=True, slots=True)
class ContactAddress:
    """One of a contact's addresses, as the dialogs offer it (read without the ORM)."""

    id: int
    street: str
    postal_code: str
    city: str
    state: str
    country: str
    is_primary: bool
    is_fiscal: bool


class PostalAddress(Protocol):
    """What ``address_line`` reads: an ``Address`` or a ``ContactAddress``."""

    @property
    def street(self) -> str: ...
    @property
    def postal_code(self) -> str: ...
    @property
    def city(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def country(self) -> str: ...


# Read at every closing step of a wizard: straight to the driver, no entity loading.
_CONTACT_ADDRESSES: Final = DirectStatement(
    select(
        Address.id,
        Address.street,
        Address.postal_code,
        Address.city,
        Address.state,
        Address.country,
        Address.is_primary,
        Address.is_fiscal,
    )
    .where(Address.contact_id == bindparam("contact_id"))
    .order_by(Address.is_primary.desc(), Address.is_fiscal.desc(), Address.id)
)
_COMPANY_ADDRESS: Final = DirectStatement(select(Meta.value).where(Meta.key == COMPANY_ADDRESS_KEY))


def address_line(address: PostalAddress) -> str:
    """``Calle Mayor 16, 48079 Bilbao (Bizkaia), España``."""
    town = " ".join(part for part in (address.postal_code, address.city) if part)
    if address.state and address.state != address.city:
        town = f"{town} ({address.state})" if town else address.state
    parts = [address.street, town, address.country]
    return ", ".join(part for part in parts if part)


async def contact_addresses(session: AsyncSession, contact_id: int) -> list[ContactAddress]:
    """The contact's addresses, primary first, then fiscal, then oldest first."""
    rows = await direct.fetch(session, _CONTACT_ADDRESSES, {"contact_id": contact_id})
    return [ContactAddress(*row) for row in rows]


async def company_address(session: AsyncSession) -> str:
    """Our own fiscal address (billing default when a contact has no fiscal address)."""
    rows = await direct.fetch(session, _COMPANY_ADDRESS, {})
    return str(rows[0][0] or "") if rows else ""
