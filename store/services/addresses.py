"""A contact's addresses as one-line text, and the company's own address for billing."""

from __future__ import annotations

from typing import Final

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Address, Meta

COMPANY_ADDRESS_KEY = "company_address"

# Built once, bound per call: SQLAlchemy then finds the compiled form in its cache.
_CONTACT_ADDRESSES: Final = (
    select(Address)
    .where(Address.contact_id == bindparam("contact_id"))
    .order_by(Address.is_primary.desc(), Address.is_fiscal.desc(), Address.id)
)
_COMPANY_ADDRESS: Final = select(Meta.value).where(Meta.key == COMPANY_ADDRESS_KEY)


def address_line(address: Address) -> str:
    """``Calle Mayor 16, 48079 Bilbao (Bizkaia), España``."""
    town = " ".join(part for part in (address.postal_code, address.city) if part)
    if address.state and address.state != address.city:
        town = f"{town} ({address.state})" if town else address.state
    parts = [address.street, town, address.country]
    return ", ".join(part for part in parts if part)


async def contact_addresses(session: AsyncSession, contact_id: int) -> list[Address]:
    """The contact's addresses, primary first, then fiscal, then oldest first."""
    rows = await session.scalars(_CONTACT_ADDRESSES, {"contact_id": contact_id})
    return list(rows)


async def company_address(session: AsyncSession) -> str:
    """Our own fiscal address (billing default when a contact has no fiscal address)."""
    value = await session.scalar(_COMPANY_ADDRESS)
    return value or ""
